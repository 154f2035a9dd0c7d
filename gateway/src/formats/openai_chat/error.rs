//! OpenAI's error shape, `{"error": {"message", "type", "param", "code"}}`, as a
//! response body and as the `data:` event that ends a failed stream. Status,
//! type and code come from [`GatewayError`]; only the spelling is here.

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
    let body = ErrorBody {
        error: ErrorDetail {
            message: error.to_string(),
            kind,
            param: error.param(),
            code,
        },
    };
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
