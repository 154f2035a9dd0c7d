//! `/dashboard`: the savings dashboard and its keys page (`#keys`), served from
//! assets embedded in the binary (`dashboards/` at the workspace root), so it
//! works offline and needs no CDN.
//!
//! The page itself holds no data and no secret: it signs in with a key the user
//! types and reads the analytics API with it, so it shows exactly what that key
//! may see. Asset URLs carry a content hash (`?v=`), so assets are cached for a
//! year and the page (never cached) picks up a new binary's assets at once.

use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use sha2::{Digest, Sha256};

use crate::state::AppState;

/// One embedded file.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

const ASSETS: &[Asset] = &[
    Asset {
        name: "app.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../../../dashboards/app.js"),
    },
    Asset {
        name: "keys.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../../../dashboards/keys.js"),
    },
    Asset {
        name: "roi.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../../../dashboards/roi.js"),
    },
    Asset {
        name: "operator.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../../../dashboards/operator.js"),
    },
    Asset {
        name: "operator.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("../../../dashboards/operator.css"),
    },
    Asset {
        name: "reports.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../../../dashboards/reports.js"),
    },
    Asset {
        name: "format.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../../../dashboards/format.js"),
    },
    Asset {
        name: "app.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("../../../dashboards/app.css"),
    },
    Asset {
        name: "chart.umd.min.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../../../dashboards/vendor/chart.umd.min.js"),
    },
    Asset {
        name: "favicon.svg",
        content_type: "image/svg+xml",
        body: include_bytes!("../../../dashboards/favicon.svg"),
    },
];

const PAGE: &str = include_str!("../../../dashboards/index.html");

/// Scripts and styles only from this origin, API calls only to it, no framing.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; \
                   frame-ancestors 'none'";

/// Routes at the root: `/dashboard` and its assets.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/dashboard", get(page))
        .route("/dashboard/", get(page))
        .route("/dashboard/assets/{name}", get(asset))
}

/// The first 12 hex digits of the SHA-256 of every asset.
fn version() -> &'static str {
    static VERSION: OnceLock<String> = OnceLock::new();
    VERSION.get_or_init(|| {
        let mut hash = Sha256::new();
        for asset in ASSETS {
            hash.update(asset.name.as_bytes());
            hash.update(asset.body);
        }
        hash.finalize()
            .iter()
            .take(6)
            .map(|b| format!("{b:02x}"))
            .collect()
    })
}

/// The page with its asset URLs versioned.
fn page_text() -> &'static str {
    static PAGE_TEXT: OnceLock<String> = OnceLock::new();
    PAGE_TEXT.get_or_init(|| PAGE.replace("{{version}}", version()))
}

fn common_headers(response: &mut Response, content_type: &'static str, cache: &'static str) {
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
}

async fn page() -> Response {
    let mut response = page_text().into_response();
    common_headers(&mut response, "text/html; charset=utf-8", "no-cache");
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static("same-origin"),
    );
    response
}

async fn asset(Path(name): Path<String>) -> Response {
    let Some(asset) = ASSETS.iter().find(|a| a.name == name) else {
        let mut response = (StatusCode::NOT_FOUND, "no such dashboard asset\n").into_response();
        common_headers(&mut response, "text/plain; charset=utf-8", "no-store");
        return response;
    };
    let mut response = asset.body.into_response();
    common_headers(
        &mut response,
        asset.content_type,
        "public, max-age=31536000, immutable",
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_names_only_embedded_assets_with_the_version() {
        let text = page_text();
        assert!(!text.contains("{{version}}"));
        for part in text.split("/dashboard/assets/").skip(1) {
            let name = part.split(['?', '"']).next().unwrap();
            assert!(
                ASSETS.iter().any(|a| a.name == name),
                "the page links {name}, which is not embedded"
            );
            assert!(
                part[name.len()..].starts_with(&format!("?v={}", version())),
                "{name} is not versioned"
            );
        }
        // No CDN: every script and stylesheet comes from this origin.
        assert!(!text.contains("http://") && !text.contains("https://"));
    }

    /// Every metric the Grafana dashboard queries is one the gateway exports.
    #[test]
    fn the_grafana_dashboard_queries_exported_metrics() {
        let dashboard: serde_json::Value =
            serde_json::from_str(include_str!("../../../dashboards/grafana/gateway.json")).unwrap();
        let metrics = crate::metrics::Metrics::new();
        metrics.register_pipeline(std::sync::Arc::default());
        let exported = metrics.render();
        let mut checked = 0;
        for panel in dashboard["panels"].as_array().unwrap() {
            for target in panel["targets"].as_array().into_iter().flatten() {
                let expr = target["expr"].as_str().unwrap();
                for (start, _) in expr.match_indices("gateway_") {
                    let name: String = expr[start..]
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    let family = ["_bucket", "_sum", "_count", "_total"]
                        .iter()
                        .find_map(|suffix| name.strip_suffix(suffix))
                        .unwrap_or(&name);
                    assert!(
                        exported.contains(&format!("# TYPE {family} ")),
                        "panel {} queries {name}, which the gateway does not export",
                        panel["title"]
                    );
                    checked += 1;
                }
            }
        }
        assert!(checked > 20, "only {checked} metric references found");
    }

    #[tokio::test]
    async fn assets_have_their_types_and_unknown_names_are_404() {
        let response = asset(Path("app.css".to_owned())).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "text/css; charset=utf-8"
        );
        assert!(response.headers()[header::CACHE_CONTROL]
            .to_str()
            .unwrap()
            .contains("immutable"));
        let missing = asset(Path("../Cargo.toml".to_owned())).await;
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);
        let page = page().await;
        assert_eq!(page.headers()[header::CACHE_CONTROL], "no-cache");
        assert!(page.headers().contains_key(header::CONTENT_SECURITY_POLICY));
    }
}
