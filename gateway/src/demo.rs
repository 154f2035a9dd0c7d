//! `gateway demo`: the gateway on the embedded store with built-in simulated
//! providers and synthetic traffic, so the dashboard fills without any key.
//!
//! 1. One mock provider per simulated vendor on a loopback port, named like the
//!    real one so the real catalog prices apply (`workload`, `setup`).
//! 2. A config generated in code (tenants, teams, keys with their policies, a
//!    SQLite store in the data directory) and the real server.
//! 3. History: `--days` days of synthetic requests routed and priced by the real
//!    code, written to the store and rolled up (`backfill`), and the ROI promise
//!    the tenant signed for (`promise`).
//! 4. Live traffic through the real HTTP path at `--rate` requests per second,
//!    with wandering latencies and outages of the flaky provider (`traffic`).
//!
//! Nothing here talks to the network beyond loopback.

mod backfill;
mod promise;
mod random;
mod setup;
mod synth;
mod traffic;
mod workload;

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::mock_provider::{self, RunningMock};
use crate::server::{self, RunningGateway};
use random::Rng;
use setup::{MintedKeys, Settings};
use workload::{DASHBOARD_KEY, MAIN_KEY, OTHER_TENANT_KEY, PROVIDERS};

/// Where the history backfill stopped, so a restart on the same data directory
/// does not fill the same time twice.
const MARKER_FILE: &str = "demo-history-until";
/// Longest wait for today's backfilled events to reach the store.
const PIPELINE_WAIT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone)]
pub struct Options {
    pub listen: SocketAddr,
    /// Default: a new directory under the system's temporary directory.
    pub data_dir: Option<PathBuf>,
    pub days: u32,
    /// Live requests per second (0: none).
    pub rate: f64,
}

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("cannot start a simulated provider: {0}")]
    Mock(std::io::Error),
    #[error("no OS randomness for the demo keys: {0}")]
    Keys(getrandom::Error),
    #[error("data directory {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
    #[error("demo config: {0}")]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Start(#[from] server::StartError),
    #[error("backfill: {0}")]
    Store(#[from] analytics::store::StoreError),
}

/// Runs the demo until `shutdown` completes.
pub async fn run(options: Options, shutdown: impl Future<Output = ()>) -> Result<(), DemoError> {
    let data_dir = match options.data_dir.clone() {
        Some(dir) => dir,
        None => default_data_dir().map_err(DemoError::Keys)?,
    };
    std::fs::create_dir_all(&data_dir).map_err(|source| DemoError::DataDir {
        path: data_dir.display().to_string(),
        source,
    })?;
    let mut rng = Rng::from_entropy();
    let mut mocks: Vec<RunningMock> = Vec::with_capacity(PROVIDERS.len());
    for provider in PROVIDERS {
        let mock = mock_provider::start_with(SocketAddr::from(([127, 0, 0, 1], 0)), false)
            .await
            .map_err(DemoError::Mock)?;
        mock.state
            .set_behaviour(&traffic::behaviour(provider, &mut rng, false));
        mocks.push(mock);
    }
    let keys = MintedKeys::mint().map_err(DemoError::Keys)?;
    let addrs: Vec<SocketAddr> = mocks.iter().map(|m| m.addr).collect();
    let config = setup::config(
        &Settings {
            listen: options.listen,
            data_dir: &data_dir,
            days: options.days,
            mocks: &addrs,
        },
        &keys,
    )?;
    let gateway = server::start(&config).await?;
    print_banner(&gateway, &keys, &data_dir);

    let now = Utc::now();
    let (from, resumed) = history_start(&data_dir, now, options.days);
    if resumed.is_some() {
        println!("resuming the history of {}...", data_dir.display());
    } else {
        println!("backfilling {} days of history...", options.days);
    }
    let started = std::time::Instant::now();
    let filled = backfill::run(&gateway, &keys, from, now, &mut rng).await?;
    wait_for_pipeline(&gateway).await;
    gateway
        .store
        .rollup(now.date_naive(), now.date_naive())
        .await?;
    write_marker(&data_dir, now);
    let yesterday = now.date_naive().pred_opt().unwrap_or(now.date_naive());
    if let Err(error) = promise::ensure(&gateway.store, from.date_naive(), yesterday).await {
        tracing::warn!(%error, "demo: could not save the ROI promise");
    }
    let history = if resumed.is_some() {
        format!(
            "history resumed from {} ({} requests added)",
            from.format("%Y-%m-%d %H:%M UTC"),
            filled
        )
    } else {
        format!(
            "{} requests of history ({} days and today so far)",
            filled, options.days
        )
    };
    println!(
        "ready: {history} in {:.1} s; live traffic at {} requests/s (Ctrl-C to stop)",
        started.elapsed().as_secs_f64(),
        options.rate
    );

    let states = mocks.iter().map(|m| m.state.clone()).collect();
    let traffic =
        traffic::Traffic::start(gateway.addr, &keys, options.rate, states, rng.next_u64());
    shutdown.await;
    println!("stopping: finishing open requests and writing their events");
    traffic.stop().await;
    gateway.shutdown().await;
    write_marker(&data_dir, Utc::now());
    drop(mocks);
    Ok(())
}

fn print_banner(gateway: &RunningGateway, keys: &MintedKeys, data_dir: &Path) {
    let addr = gateway.addr;
    println!("Gateway demo: simulated providers and synthetic traffic; no provider key or network needed.");
    println!();
    println!("  dashboard:        http://{addr}/dashboard");
    println!("  OpenAI base URL:  http://{addr}/v1");
    println!(
        "  tenant key:       {}   (tenant acme, team platform: the OpenAI API, and the dashboard of the whole tenant)",
        keys.get(MAIN_KEY)
    );
    println!(
        "  dashboard token:  {}   (tenant acme: read-only dashboard)",
        keys.get(DASHBOARD_KEY)
    );
    println!(
        "  other tenant key: {}   (tenant globex, team support: sees only its own team's data)",
        keys.get(OTHER_TENANT_KEY)
    );
    println!("  data directory:   {}", data_dir.display());
    let names: Vec<&str> = PROVIDERS.iter().map(|p| p.name).collect();
    println!(
        "  providers:        {} (simulated; groq is flaky)",
        names.join(", ")
    );
    println!();
}

fn default_data_dir() -> Result<PathBuf, getrandom::Error> {
    let mut suffix = [0u8; 4];
    getrandom::fill(&mut suffix)?;
    let suffix: String = suffix.iter().map(|b| format!("{b:02x}")).collect();
    Ok(std::env::temp_dir().join(format!("gateway-demo-{suffix}")))
}

/// The start of the history to fill: `days` days before today's midnight, or,
/// when it is later, where a previous run on this data directory stopped
/// (`Some` then).
fn history_start(
    data_dir: &Path,
    now: DateTime<Utc>,
    days: u32,
) -> (DateTime<Utc>, Option<DateTime<Utc>>) {
    let first_day = now.date_naive() - chrono::Days::new(u64::from(days));
    let start = first_day.and_time(chrono::NaiveTime::MIN).and_utc();
    let previous = std::fs::read_to_string(data_dir.join(MARKER_FILE))
        .ok()
        .and_then(|text| DateTime::parse_from_rfc3339(text.trim()).ok())
        .map(|t| t.with_timezone(&Utc).min(now))
        .filter(|previous| *previous > start);
    (previous.unwrap_or(start), previous)
}

fn write_marker(data_dir: &Path, at: DateTime<Utc>) {
    if let Err(error) = std::fs::write(data_dir.join(MARKER_FILE), at.to_rfc3339()) {
        tracing::warn!(%error, "cannot record how far the demo history goes");
    }
}

/// Waits until every event handed to the pipeline has been written (or counted
/// as dropped), so the rollup that follows sees them.
async fn wait_for_pipeline(gateway: &RunningGateway) {
    let stats = gateway.state.events.stats().clone();
    let deadline = tokio::time::Instant::now() + PIPELINE_WAIT;
    while tokio::time::Instant::now() < deadline {
        let queued = stats.queued.load(Ordering::Relaxed);
        let done = stats.written.load(Ordering::Relaxed)
            + stats.duplicates.load(Ordering::Relaxed)
            + stats.dropped.load(Ordering::Relaxed);
        if done >= queued {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_resumes_where_the_last_run_stopped() {
        let dir = default_data_dir().unwrap();
        std::fs::create_dir_all(&dir).unwrap();
        let now = DateTime::parse_from_rfc3339("2026-11-25T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let (start, resumed) = history_start(&dir, now, 30);
        assert_eq!(start.to_rfc3339(), "2026-10-26T00:00:00+00:00");
        assert_eq!(resumed, None);
        let earlier = DateTime::parse_from_rfc3339("2026-11-25T08:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        write_marker(&dir, earlier);
        assert_eq!(history_start(&dir, now, 30), (earlier, Some(earlier)));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
