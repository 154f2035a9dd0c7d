//! The `[shares]` section: read-only share links (`crate::shares`). How many
//! requests one client address and one link may make per minute on the public
//! `/share/...` routes, who may frame the embeddable page, and the public base
//! URL a new link is written with. The raw shape sits here too, so the rest of
//! `config` only gains one field.

use serde::Deserialize;

use super::ConfigError;

const DEFAULT_REQUESTS_PER_MINUTE: u32 = 120;
const DEFAULT_LINK_REQUESTS_PER_MINUTE: u32 = 600;
const DEFAULT_FRAME_ANCESTORS: &str = "*";

/// `[shares]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawShares {
    /// Requests per minute one client address may make to `/share/...`.
    pub requests_per_minute: Option<u32>,
    /// Requests per minute one link may receive, from every address.
    pub link_requests_per_minute: Option<u32>,
    /// The embed page's `Content-Security-Policy: frame-ancestors` sources
    /// (default `*`: any wiki may frame it).
    pub frame_ancestors: Option<String>,
    /// `https://gateway.example.com`: the base of the URLs new links are
    /// shown with (default: the `Host` the owner's request came to).
    pub public_url: Option<String>,
}

/// `[shares]`, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharesConfig {
    pub requests_per_minute: u32,
    pub link_requests_per_minute: u32,
    pub frame_ancestors: String,
    /// Without a trailing `/`.
    pub public_url: Option<String>,
}

impl Default for SharesConfig {
    fn default() -> Self {
        SharesConfig {
            requests_per_minute: DEFAULT_REQUESTS_PER_MINUTE,
            link_requests_per_minute: DEFAULT_LINK_REQUESTS_PER_MINUTE,
            frame_ancestors: DEFAULT_FRAME_ANCESTORS.to_owned(),
            public_url: None,
        }
    }
}

fn invalid(path: &str, message: &str) -> ConfigError {
    ConfigError::Invalid {
        path: path.to_owned(),
        message: message.to_owned(),
    }
}

pub(super) fn validate_shares(raw: RawShares) -> Result<SharesConfig, ConfigError> {
    let defaults = SharesConfig::default();
    let rate = |path: &str, value: Option<u32>, default: u32| match value {
        None => Ok(default),
        Some(0) => Err(invalid(path, "must be at least 1")),
        Some(n) => Ok(n),
    };
    let frame_ancestors = match raw.frame_ancestors {
        None => defaults.frame_ancestors,
        Some(text) => {
            // One CSP directive's sources: no `;` or `,` (a second directive
            // or policy), no control characters (a header split).
            let plain = text
                .chars()
                .all(|c| (c.is_ascii_graphic() && c != ';' && c != ',') || c == ' ');
            if text.trim().is_empty() || !plain {
                return Err(invalid(
                    "shares.frame_ancestors",
                    "must be CSP sources such as `*`, `'self'` or `https://wiki.example.com`",
                ));
            }
            text.trim().to_owned()
        }
    };
    let public_url = match raw.public_url {
        None => None,
        Some(url) => {
            let url = url.trim().trim_end_matches('/').to_owned();
            let scheme = url.starts_with("https://") || url.starts_with("http://");
            if !scheme || url.chars().any(|c| !c.is_ascii_graphic()) {
                return Err(invalid(
                    "shares.public_url",
                    "must be an http:// or https:// URL",
                ));
            }
            Some(url)
        }
    };
    Ok(SharesConfig {
        requests_per_minute: rate(
            "shares.requests_per_minute",
            raw.requests_per_minute,
            defaults.requests_per_minute,
        )?,
        link_requests_per_minute: rate(
            "shares.link_requests_per_minute",
            raw.link_requests_per_minute,
            defaults.link_requests_per_minute,
        )?,
        frame_ancestors,
        public_url,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(frame: Option<&str>, url: Option<&str>, rpm: Option<u32>) -> RawShares {
        RawShares {
            requests_per_minute: rpm,
            link_requests_per_minute: None,
            frame_ancestors: frame.map(str::to_owned),
            public_url: url.map(str::to_owned),
        }
    }

    #[test]
    fn shares_settings_are_checked() {
        assert_eq!(
            validate_shares(RawShares::default()).unwrap(),
            SharesConfig::default()
        );
        let ok = validate_shares(raw(
            Some("'self' https://wiki.example.com"),
            Some("https://gw.example.com/"),
            Some(5),
        ))
        .unwrap();
        assert_eq!(ok.public_url.as_deref(), Some("https://gw.example.com"));
        assert_eq!(ok.requests_per_minute, 5);
        for (bad, path) in [
            (raw(Some("*; script-src *"), None, None), "frame_ancestors"),
            (raw(Some("a\r\nb"), None, None), "frame_ancestors"),
            (raw(Some(" "), None, None), "frame_ancestors"),
            (raw(None, Some("ftp://x"), None), "public_url"),
            (raw(None, None, Some(0)), "requests_per_minute"),
        ] {
            let error = validate_shares(bad).unwrap_err().to_string();
            assert!(error.contains(path), "{error}");
        }
    }
}
