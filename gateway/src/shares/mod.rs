//! Read-only share links of a tenant's savings view (issue 11): what a link
//! is made of and what guards it. A tenant owner saves a view (a date range,
//! filters, panels) behind a random token; anyone holding the link reads that
//! view, and nothing else of the tenant, until it expires or is revoked.
//!
//! - `token`: minting (256 random bits, URL-safe) and the hash the store keeps.
//! - `view`: the saved view, checked (400s name the field), and the days a
//!   preset means today.
//! - `password`: salted PBKDF2-HMAC-SHA256, compared in constant time.
//! - `limiter`: per client address and per link request rates (429s).
//! - `counts`: views counted in memory and added to the store in batches.
//! - `links`: a new link's token, id and hashes; its expiry, bounded.
//!
//! HTTP lives in `handlers::admin::shares` (making, listing, revoking) and
//! `handlers::share` (the public pages); the store's side in
//! `analytics::control` (`ShareRecord`).

pub mod counts;
pub mod limiter;
pub mod links;
pub mod password;
pub mod token;
pub mod view;

use crate::config::shares::SharesConfig;

/// The share links' shared state: settings, rate limiters and view counts.
pub struct Shares {
    pub settings: SharesConfig,
    pub limiter: limiter::ShareLimiter,
    pub counts: counts::ViewCounts,
}

impl Shares {
    pub fn new(settings: &SharesConfig) -> Shares {
        Shares {
            limiter: limiter::ShareLimiter::new(
                settings.requests_per_minute,
                settings.link_requests_per_minute,
            ),
            counts: counts::ViewCounts::default(),
            settings: settings.clone(),
        }
    }
}
