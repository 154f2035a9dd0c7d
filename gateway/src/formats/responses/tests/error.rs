//! Error shapes: request refusals, gateway errors and stream failures as the
//! Responses API words them.

use serde_json::{json, Value};

use super::fixtures;
use crate::error::GatewayError;
use crate::formats::responses::error::{failure_code, ErrorObject, RequestError};
use crate::formats::responses::request::parse;
use crate::formats::responses::stream::frames;

fn body(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap_or_default()
}

#[test]
fn an_unknown_parameter_is_refused_as_openai_refuses_it() {
    let refused = parse(
        br#"{"model": "gpt-5.4", "input": "hi", "messages": [{"role": "user", "content": "hi"}]}"#,
    );
    let error = refused
        .err()
        .unwrap_or(RequestError::InvalidJson(String::new()));
    assert_eq!(error.status(), 400);
    assert_eq!(
        body(&error.body()),
        fixtures::json("error_unknown_parameter.json")
    );
}

#[test]
fn every_request_error_has_openais_shape() {
    let errors = [
        RequestError::InvalidJson("EOF".into()),
        RequestError::invalid("bad", "input"),
        RequestError::missing("model"),
        RequestError::unsupported("no files", "input[0].content[0].type"),
        RequestError::NeedsState {
            message: "stored".into(),
            param: "previous_response_id".into(),
        },
    ];
    for error in errors {
        let value = body(&error.body());
        assert_eq!(value["error"]["type"], "invalid_request_error", "{value}");
        assert_eq!(value["error"]["message"], error.to_string());
        assert_eq!(value["error"]["param"], json!(error.param()));
        assert_eq!(value["error"]["code"], json!(error.code()));
    }
}

#[test]
fn gateway_errors_keep_their_type_code_and_param() {
    let table = [
        (
            GatewayError::RateLimited {
                retry_after: std::time::Duration::from_secs(2),
            },
            "rate_limit_exceeded",
        ),
        (GatewayError::ModelNotFound("gpt-9".into()), "server_error"),
        (
            GatewayError::NoProviderAvailable { model: "m".into() },
            "server_error",
        ),
        (
            GatewayError::invalid("bad input", Some("input")),
            "server_error",
        ),
    ];
    for (error, failure) in table {
        let object = ErrorObject::from_gateway(&error);
        let (kind, code) = error.type_and_code();
        assert_eq!(object.kind, kind);
        assert_eq!(object.code.as_deref(), code);
        assert_eq!(object.param.as_deref(), error.param());
        assert_eq!(object.message, error.to_string());
        assert_eq!(body(&object.body()), body(&error.body()), "{error:?}");
        assert_eq!(failure_code(&object), failure, "{error:?}");
    }
}

#[test]
fn a_providers_openai_error_passes_as_it_came() {
    let upstream = |text: &'static str| GatewayError::Upstream {
        provider: "p".into(),
        status: axum::http::StatusCode::BAD_REQUEST,
        headers: Box::default(),
        body: bytes::Bytes::from_static(text.as_bytes()),
    };
    let openai = ErrorObject::from_gateway(&upstream(
        r#"{"error":{"message":"Context too long","type":"invalid_request_error","param":"input","code":"context_length_exceeded"}}"#,
    ));
    assert_eq!(
        (openai.message.as_str(), openai.code.as_deref()),
        ("Context too long", Some("context_length_exceeded"))
    );
    let anthropic = ErrorObject::from_gateway(&upstream(
        r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
    ));
    assert_eq!(anthropic.kind, upstream("").type_and_code().0);
}

#[test]
fn rendered_errors_match_the_committed_fixtures() {
    let refusal =
        parse(br#"{"model": "gpt-5.4", "input": "hi", "previous_response_id": "resp_123"}"#)
            .ok()
            .and_then(|parsed| parsed.require_stateless().err())
            .unwrap_or(RequestError::InvalidJson(String::new()));
    fixtures::golden(
        "error_gateway_needs_state.json",
        &fixtures::pretty(&body(&refusal.body())),
    );
    let event = ErrorObject::from_gateway(&GatewayError::NoProviderAvailable {
        model: "gpt-5.4".into(),
    })
    .event(0);
    fixtures::golden(
        "gateway_stream_error.sse",
        &String::from_utf8_lossy(&frames(&[event])),
    );
}

#[test]
fn the_route_helpers_spell_gateway_errors() {
    let error = GatewayError::UpstreamTimeout {
        provider: "openai".into(),
        phase: "between chunks",
    };
    assert_eq!(
        body(&crate::formats::responses::error::body(&error)),
        body(&error.body())
    );
    let frame = crate::formats::responses::error::event(&error, 41);
    let text = String::from_utf8_lossy(&frame);
    assert!(text.starts_with("event: error\ndata: {"), "{text}");
    assert!(text.ends_with("}\n\n"), "{text}");
    let data: Value = text
        .lines()
        .find_map(|l| l.strip_prefix("data: "))
        .and_then(|d| serde_json::from_str(d).ok())
        .unwrap_or_default();
    assert_eq!(data["type"], "error");
    assert_eq!(data["sequence_number"], 41);
    assert_eq!(data["code"], json!(error.type_and_code().1));
    assert_eq!(data["message"], error.to_string());
}

#[test]
fn a_refused_request_keeps_its_param_and_code_as_a_gateway_error() {
    let errors = [
        RequestError::invalid("bad", "input[2].call_id"),
        RequestError::missing("model"),
        RequestError::unsupported("no files", "input[0].content[0].type"),
        RequestError::NeedsState {
            message: "stored".into(),
            param: "previous_response_id".into(),
        },
    ];
    for error in errors {
        let gateway = GatewayError::from(error.clone());
        assert_eq!(gateway.status().as_u16(), error.status(), "{error:?}");
        assert_eq!(
            body(&crate::formats::responses::error::body(&gateway)),
            body(&error.body()),
            "{error:?}"
        );
        // Chat-shaped clients of the same error read the same fields.
        assert_eq!(body(&gateway.body()), body(&error.body()), "{error:?}");
    }
    let json = GatewayError::from(RequestError::InvalidJson("EOF".into()));
    assert_eq!(json.status().as_u16(), 400);
    assert!(json.to_string().contains("EOF"));
}
