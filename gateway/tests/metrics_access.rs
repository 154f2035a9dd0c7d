//! `/metrics` behind a bearer token and on its own listener, over real HTTP.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test setup: a failure must stop the test"
)]

mod common;

use common::{assert_openai_error, start_with_env};
use serde_json::Value;

const TOKEN: &str = "scrape-token-5b1f0c";

async fn get(url: &str, token: Option<&str>) -> reqwest::Response {
    let mut request = reqwest::Client::new().get(url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

async fn assert_unauthorized(response: reqwest::Response) {
    assert_eq!(response.status(), 401);
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    let body: Value = response.json().await.unwrap();
    assert_openai_error(&body);
}

#[tokio::test]
async fn metrics_need_the_configured_bearer_token() {
    let gw = start_with_env(
        "",
        &[
            ("GATEWAY__SERVER__METRICS_TOKEN_ENV", "TEST_METRICS_TOKEN"),
            ("TEST_METRICS_TOKEN", TOKEN),
        ],
    )
    .await;
    let url = gw.url("/metrics");
    assert_unauthorized(get(&url, None).await).await;
    assert_unauthorized(get(&url, Some("wrong-token")).await).await;
    assert_unauthorized(get(&url, Some(&TOKEN[..TOKEN.len() - 1])).await).await;
    // Basic auth with the token as password is not the bearer scheme.
    let basic = reqwest::Client::new()
        .get(&url)
        .basic_auth("prometheus", Some(TOKEN))
        .send()
        .await
        .unwrap();
    assert_unauthorized(basic).await;

    let response = get(&url, Some(TOKEN)).await;
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    assert!(text.contains("gateway_requests_total"), "{text}");
    assert!(!text.contains(TOKEN));
    // Health checks stay open.
    assert_eq!(get(&gw.url("/healthz"), None).await.status(), 200);
    gw.gateway.shutdown().await;
}

#[tokio::test]
async fn metrics_can_live_on_their_own_listener_only() {
    let gw = start_with_env(
        "",
        &[
            ("GATEWAY__SERVER__METRICS_LISTEN", "127.0.0.1:0"),
            ("GATEWAY__SERVER__METRICS_TOKEN_ENV", "TEST_METRICS_TOKEN"),
            ("TEST_METRICS_TOKEN", TOKEN),
        ],
    )
    .await;
    let metrics_addr = gw.gateway.metrics_addr.expect("a metrics listener");
    assert_ne!(metrics_addr, gw.gateway.addr);
    // Not on the API listener any more, token or not.
    let response = get(&gw.url("/metrics"), Some(TOKEN)).await;
    assert_eq!(response.status(), 404);
    let body: Value = response.json().await.unwrap();
    assert_openai_error(&body);

    let metrics_url = format!("http://{metrics_addr}/metrics");
    assert_unauthorized(get(&metrics_url, None).await).await;
    let response = get(&metrics_url, Some(TOKEN)).await;
    assert_eq!(response.status(), 200);
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("gateway_in_flight_requests"));
    // The metrics listener serves nothing else.
    let other = get(&format!("http://{metrics_addr}/v1/models"), Some(&gw.key)).await;
    assert_eq!(other.status(), 404);
    gw.gateway.shutdown().await;
}
