//! Keeps this replica's key table in step with the store's control data, so a
//! key created, changed or revoked on any replica (or by the CLI) holds here
//! within a second, while auth never queries the store.
//!
//! Three ways a change arrives, cheapest first: this replica made it (the
//! admin handler refreshes before it answers); a Postgres notification sent at
//! the change's commit; and, should a notification be lost (a dropped
//! connection, SQLite), a check of the one-row version every [`POLL`]. Each
//! leads to the same full reload: a few thousand keys load in milliseconds,
//! and a whole table swapped at once can never be half-updated.
//!
//! The same task writes keys' last uses and share links' views to the store
//! in batches (every [`LAST_USED_FLUSH`]), so the request path only stores an
//! atomic (a count in memory).

use std::time::Duration;

use analytics::control::ControlStore;
use analytics::store::StoreError;
use tokio::task::JoinHandle;

use crate::keys::KeySource;
use crate::state::{now_ms, AppState};

/// How often the version is checked when no notification came.
pub const POLL: Duration = Duration::from_millis(500);
/// How often keys' last uses are written to the store.
pub const LAST_USED_FLUSH: Duration = Duration::from_secs(10);
/// Wait before trying the store's notifications again after they failed.
const LISTEN_RETRY: Duration = Duration::from_secs(5);

/// Loads the store's control data and swaps it in if it is newer; returns
/// whether the key table changed.
pub async fn refresh(state: &AppState) -> Result<bool, StoreError> {
    let data = state.control_store.load().await?;
    Ok(state.apply_control(data))
}

/// Starts the task; it runs until aborted (at shutdown).
pub fn spawn(state: AppState) -> JoinHandle<()> {
    tokio::spawn(run(state))
}

async fn run(state: AppState) {
    let store = state.control_store.clone();
    let mut listener = None;
    let mut listen_retry_at = tokio::time::Instant::now();
    let mut poll = tokio::time::interval(POLL);
    poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut flush = tokio::time::interval(LAST_USED_FLUSH);
    flush.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut flushed_to = now_ms();
    let mut store_down = false;
    loop {
        if listener.is_none() && tokio::time::Instant::now() >= listen_retry_at {
            match store.listener().await {
                Ok(Some(l)) => listener = Some(l),
                Ok(None) => listen_retry_at = far_future(),
                Err(error) => {
                    tracing::debug!(%error, "control notifications unavailable; polling");
                    listen_retry_at = tokio::time::Instant::now() + LISTEN_RETRY;
                }
            }
        }
        let notified = async {
            match listener.as_mut() {
                Some(l) => l.recv().await.map(drop),
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            received = notified => {
                if let Err(error) = received {
                    tracing::debug!(%error, "control notifications lost; polling until they return");
                    listener = None;
                    listen_retry_at = tokio::time::Instant::now() + LISTEN_RETRY;
                }
                store_down = reload(&state, store_down).await;
            }
            _ = poll.tick() => {
                let newer = match store.version().await {
                    Ok(version) => version != state.control().version,
                    Err(_) => true,
                };
                if newer {
                    store_down = reload(&state, store_down).await;
                }
            }
            _ = flush.tick() => {
                flushed_to = flush_last_used(&state, &store, flushed_to).await;
                if let Err(error) = state.shares.counts.flush(&store).await {
                    tracing::debug!(%error, "cannot record share links' views yet");
                }
            }
        }
    }
}

/// Reloads; logs the store going away and coming back once each. Returns
/// whether the store is down. While it is, the key table stays as it was.
async fn reload(state: &AppState, was_down: bool) -> bool {
    match refresh(state).await {
        Ok(_) => {
            if was_down {
                tracing::info!("control data readable again; key table refreshed");
            }
            false
        }
        Err(error) => {
            if !was_down {
                tracing::warn!(%error, "cannot read the control data; keeping the key table as it is");
            }
            true
        }
    }
}

/// Writes the last uses noted after `after_ms` for the store's keys; returns
/// the new watermark (unchanged when the write failed, so it is retried).
async fn flush_last_used(state: &AppState, store: &ControlStore, after_ms: i64) -> i64 {
    let until = now_ms();
    let used: Vec<(String, i64)> = state
        .keys()
        .all()
        .filter(|key| key.life.source == KeySource::Store)
        .filter_map(|key| Some((key.id.clone(), key.life.used_since(after_ms)?)))
        .collect();
    if used.is_empty() {
        return until;
    }
    match store.touch_keys(&used).await {
        Ok(()) => until,
        Err(error) => {
            tracing::debug!(%error, "cannot record keys' last use yet");
            after_ms
        }
    }
}

fn far_future() -> tokio::time::Instant {
    tokio::time::Instant::now() + Duration::from_secs(86_400 * 365)
}
