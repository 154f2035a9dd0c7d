//! OpenAI's error shape, `{"error": {"message", "type", "param", "code"}}`, as a
//! response body and as the `data:` event that ends a failed stream: the one
//! renderer of OpenAI chat clients' errors, the gateway's own and a provider's
//! relayed in their words. Status, type and code of the gateway's errors come
//! from [`GatewayError`]; a relayed provider error's type from its status
//! ([`type_for_status`]); only the spelling is here.

use bytes::Bytes;
use serde::Serialize;

use crate::error::GatewayError;

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: ErrorDetail<'a>,
}

#[derive(Serialize)]
struct ErrorDetail<'a> {
    message: String,
    #[serde(rename = "type")]
    kind: &'a str,
    param: Option<&'a str>,
    code: Option<&'a str>,
}

fn json(error: &GatewayError) -> Vec<u8> {
    let (kind, code) = error.type_and_code();
    render(ErrorDetail {
        message: error.to_string(),
        kind,
        param: error.param(),
        code,
    })
}

fn render(error: ErrorDetail<'_>) -> Vec<u8> {
    let body = ErrorBody { error };
    // Serializing a struct of strings cannot fail; fall back to a fixed body anyway.
    serde_json::to_vec(&body).unwrap_or_else(|_| {
        br#"{"error":{"message":"internal error","type":"server_error","param":null,"code":null}}"#
            .to_vec()
    })
}

/// The JSON body of an error answer.
pub fn body(error: &GatewayError) -> Bytes {
    Bytes::from(json(error))
}

/// OpenAI's error `type` for a provider's HTTP status, when a provider of
/// another format failed and only its status and message carry over.
pub fn type_for_status(status: u16) -> &'static str {
    match status {
        401 => "authentication_error",
        403 => "permission_error",
        404 => "not_found_error",
        429 => "rate_limit_error",
        500..=599 => "server_error",
        _ => "invalid_request_error",
    }
}

/// The body of a provider's error answer, relayed to an OpenAI client as the
/// provider's `message`, typed by its `status`.
pub fn upstream_body(status: u16, message: &str) -> Bytes {
    Bytes::from(render(ErrorDetail {
        message: message.to_owned(),
        kind: type_for_status(status),
        param: None,
        code: None,
    }))
}

/// The SSE event that ends a stream with `error`.
pub fn event(error: &GatewayError) -> Bytes {
    let json = json(error);
    let mut out = Vec::with_capacity(json.len() + 8);
    out.extend_from_slice(b"data: ");
    out.extend_from_slice(&json);
    out.extend_from_slice(b"\n\n");
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Interruption;

    #[test]
    fn a_stream_error_is_one_data_event_in_openai_shape() {
        let event = event(&GatewayError::StreamInterrupted(Interruption::Cut));
        assert_eq!(
            &event[..],
            &b"data: {\"error\":{\"message\":\"The provider ended the stream before it was complete.\",\"type\":\"upstream_error\",\"param\":null,\"code\":\"stream_interrupted\"}}\n\n"[..]
        );
    }

    #[test]
    fn a_relayed_provider_error_is_typed_by_its_status() {
        let cases = [
            (400, "invalid_request_error"),
            (401, "authentication_error"),
            (403, "permission_error"),
            (404, "not_found_error"),
            (422, "invalid_request_error"),
            (429, "rate_limit_error"),
            (500, "server_error"),
            (503, "server_error"),
        ];
        for (status, kind) in cases {
            let value: serde_json::Value =
                serde_json::from_slice(&upstream_body(status, "said \"no\"")).unwrap();
            assert_eq!(
                value,
                serde_json::json!({"error": {
                    "message": "said \"no\"", "type": kind, "param": null, "code": null
                }}),
                "{status}"
            );
        }
    }

    #[test]
    fn fields_follow_the_error() {
        let cases = [
            (
                GatewayError::invalid("bad", Some("messages")),
                "invalid_request_error",
                Some("messages"),
                None,
            ),
            (
                GatewayError::ModelNotFound("m".into()),
                "invalid_request_error",
                Some("model"),
                Some("model_not_found"),
            ),
            (
                GatewayError::StreamInterrupted(Interruption::EventTooLarge),
                "upstream_error",
                None,
                Some("upstream_too_large"),
            ),
            (
                GatewayError::RequestTimeout,
                "timeout",
                None,
                Some("gateway_timeout"),
            ),
        ];
        for (error, kind, param, code) in cases {
            let value: serde_json::Value = serde_json::from_slice(&body(&error)).unwrap();
            let detail = &value["error"];
            assert_eq!(detail["message"], error.to_string());
            assert_eq!(detail["type"], kind);
            assert_eq!(detail["param"].as_str(), param);
            assert_eq!(detail["code"].as_str(), code);
        }
    }
}
