//! Opening a link: rate limits first (before any store read), then the
//! token's shape, the stored link by the token's hash, its state, and its
//! password. What comes out is the link and its view, nothing else.

use std::net::IpAddr;

use analytics::control::{ShareRecord, ShareState};

use crate::error::GatewayError;
use crate::shares::view::ShareView;
use crate::shares::{password, token};
use crate::state::{now_ms, AppState};

/// What a route does about a link's password.
pub enum Password {
    /// The page shell: it holds no figures; the data it loads asks.
    NotAsked,
    /// `/data`: the password sent, if any.
    Given(Option<String>),
    /// Embeds and images cannot send one: a password link is refused.
    Refused,
}

/// An opened link.
pub struct Link {
    pub record: ShareRecord,
    pub view: ShareView,
}

fn unknown() -> GatewayError {
    GatewayError::NotFound("No share link with this address exists.".to_owned())
}

pub async fn open(
    state: &AppState,
    address: Option<IpAddr>,
    presented: &str,
    asked: Password,
) -> Result<Link, GatewayError> {
    let shaped = token::well_formed(presented);
    // Every malformed token shares one rate: a cheap refusal stays cheap.
    let hash = if shaped {
        token::hash(presented)
    } else {
        "malformed".to_owned()
    };
    state
        .shares
        .limiter
        .admit(address, &hash)
        .map_err(|retry_after| GatewayError::LinkRateLimited { retry_after })?;
    if !shaped {
        return Err(unknown());
    }
    let record = state
        .control_store
        .share_by_hash(&hash)
        .await
        .map_err(|error| {
            tracing::warn!(%error, "share link lookup failed");
            GatewayError::AnalyticsStore {
                transient: error.is_transient(),
            }
        })?
        .ok_or_else(unknown)?;
    match record.state(now_ms()) {
        ShareState::Live => {}
        ShareState::Expired => return Err(GatewayError::LinkGone("has expired")),
        ShareState::Revoked => return Err(GatewayError::LinkGone("was revoked")),
    }
    if let Some(stored) = &record.password_hash {
        match asked {
            Password::NotAsked => {}
            Password::Refused | Password::Given(None) => {
                return Err(GatewayError::LinkPassword { wrong: false })
            }
            Password::Given(Some(given)) => {
                let stored = stored.clone();
                let checked =
                    tokio::task::spawn_blocking(move || password::verify(&given, &stored)).await;
                if !checked.unwrap_or(false) {
                    return Err(GatewayError::LinkPassword { wrong: true });
                }
            }
        }
    }
    let view: ShareView = serde_json::from_str(&record.view_json).map_err(|error| {
        tracing::warn!(%error, share = %record.share_id, "a stored share view cannot be read");
        GatewayError::AnalyticsStore { transient: false }
    })?;
    Ok(Link { record, view })
}

/// Counts a view of `link` (added to the store in the next batch).
pub fn viewed(state: &AppState, link: &Link) {
    state.shares.counts.note(&link.record.share_id, now_ms());
}
