//! Error rendering for Anthropic clients and classification of Anthropic's
//! errors for the proxy.

use serde_json::{json, Value};

use crate::formats::anthropic::error::parse_error;
use crate::formats::anthropic::{classify, error_body, error_event, ErrorKind, UpstreamFailure};

const KINDS: [ErrorKind; 10] = [
    ErrorKind::InvalidRequest,
    ErrorKind::Authentication,
    ErrorKind::Billing,
    ErrorKind::Permission,
    ErrorKind::NotFound,
    ErrorKind::RequestTooLarge,
    ErrorKind::RateLimit,
    ErrorKind::Api,
    ErrorKind::Timeout,
    ErrorKind::Overloaded,
];

#[test]
fn kinds_statuses_and_names_agree() {
    for kind in KINDS {
        assert_eq!(ErrorKind::from_status(kind.status()), kind, "{kind:?}");
        assert_eq!(ErrorKind::parse(kind.as_str()), Some(kind));
    }
    assert_eq!(ErrorKind::from_status(503), ErrorKind::Api);
    assert_eq!(ErrorKind::from_status(422), ErrorKind::InvalidRequest);
    assert_eq!(ErrorKind::parse("teapot_error"), None);
}

#[test]
fn the_error_envelope_as_body_and_event() {
    let body: Value = serde_json::from_slice(&error_body(
        ErrorKind::Overloaded,
        "Overloaded",
        Some("req_1"),
    ))
    .unwrap();
    assert_eq!(
        body,
        json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}, "request_id": "req_1"})
    );
    let body: Value = serde_json::from_slice(&error_body(
        ErrorKind::InvalidRequest,
        "bad \"quote\"\n",
        None,
    ))
    .unwrap();
    assert_eq!(
        body,
        json!({"type": "error", "error": {"type": "invalid_request_error", "message": "bad \"quote\"\n"}})
    );
    let event = error_event(ErrorKind::Api, "line1\nline2", None);
    let text = std::str::from_utf8(&event).unwrap();
    let mut lines = text.split('\n');
    assert_eq!(lines.next(), Some("event: error"));
    let data: Value =
        serde_json::from_str(lines.next().unwrap().strip_prefix("data: ").unwrap()).unwrap();
    assert_eq!(
        data["error"],
        json!({"type": "api_error", "message": "line1\nline2"})
    );
    assert_eq!(lines.collect::<Vec<_>>(), ["", ""]);
    assert_eq!(
        parse_error(&error_body(ErrorKind::RateLimit, "m", None)),
        Some((Some(ErrorKind::RateLimit), "m".into()))
    );
    assert_eq!(parse_error(b"{\"error\": 1}"), None);
}

#[test]
fn upstream_failures_are_classified() {
    let table = [
        (429, None, UpstreamFailure::RateLimited, true),
        (529, None, UpstreamFailure::Overloaded, true),
        (
            529,
            Some("overloaded_error"),
            UpstreamFailure::Overloaded,
            true,
        ),
        (500, Some("api_error"), UpstreamFailure::Server, true),
        (502, None, UpstreamFailure::Server, true),
        (503, Some("something_new"), UpstreamFailure::Server, true),
        (504, Some("timeout_error"), UpstreamFailure::Server, true),
        (
            400,
            Some("invalid_request_error"),
            UpstreamFailure::Invalid,
            false,
        ),
        (400, None, UpstreamFailure::Invalid, false),
        (
            404,
            Some("not_found_error"),
            UpstreamFailure::Invalid,
            false,
        ),
        (
            413,
            Some("request_too_large"),
            UpstreamFailure::Invalid,
            false,
        ),
        (
            401,
            Some("authentication_error"),
            UpstreamFailure::Auth,
            false,
        ),
        (403, None, UpstreamFailure::Auth, false),
        (402, Some("billing_error"), UpstreamFailure::Billing, false),
        (418, None, UpstreamFailure::Other, false),
        // A 200 stream that ends in an error event names its type.
        (
            200,
            Some("overloaded_error"),
            UpstreamFailure::Overloaded,
            true,
        ),
        (
            200,
            Some("invalid_request_error"),
            UpstreamFailure::Invalid,
            false,
        ),
    ];
    for (status, kind, wanted, retryable) in table {
        let got = classify(status, kind);
        assert_eq!(got, wanted, "{status} {kind:?}");
        assert_eq!(got.retryable(), retryable, "{status} {kind:?}");
    }
}

#[test]
fn an_ingress_error_renders_as_a_400_envelope() {
    use crate::formats::anthropic::ingress::parse_request;
    let (status, body) = parse_request(b"{}").unwrap_err().response();
    assert_eq!(status, 400);
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["type"], "error");
    assert_eq!(body["error"]["type"], "invalid_request_error");
    assert!(
        body["error"]["message"].as_str().unwrap().contains("model"),
        "{body}"
    );
}
