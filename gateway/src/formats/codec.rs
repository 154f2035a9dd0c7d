//! Where each wire format plugs its translators into the request path: which
//! format a provider speaks, and for each direction the one function or
//! stateful coder the proxy calls. The proxy never names a format itself; a new
//! format adds a variant and one match arm per function here.
//!
//! When the client and the provider speak the same format no translator runs:
//! the body and the stream pass through untouched (`crate::proxy`), and only
//! their token counts are read here ([`EgressFormat::passed_usage`],
//! [`PassWatch`]).

use axum::http::{header, HeaderValue};
use bytes::{Bytes, BytesMut};
use pricing::TokenUsage;

use super::anthropic;
use super::gemini;
use super::openai_chat;
use super::responses;
use super::IngressFormat;
use crate::error::GatewayError;
use crate::llm::{ChatRequest, ChatResponse, StreamEvent};
use crate::sse::{single_data, UsageFilter};

/// The format a provider is spoken to in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EgressFormat {
    /// OpenAI chat completions: OpenAI, Azure and every compatible vendor.
    OpenAiChat,
    /// Anthropic's Messages API.
    Anthropic,
    /// OpenAI's Responses API, spoken by providers configured with
    /// `responses_api` to clients that speak it too.
    Responses,
    /// Gemini's `generateContent` API.
    Gemini,
}

impl EgressFormat {
    /// Whether a request in `ingress` reaches this provider untranslated.
    pub fn passes(self, ingress: IngressFormat) -> bool {
        matches!(
            (self, ingress),
            (EgressFormat::OpenAiChat, IngressFormat::OpenAiChat)
                | (EgressFormat::Responses, IngressFormat::Responses)
                | (EgressFormat::Anthropic, IngressFormat::Anthropic)
        )
    }

    /// The usage of a whole answer relayed untouched.
    pub fn passed_usage(self, body: &[u8]) -> Option<TokenUsage> {
        match self {
            EgressFormat::OpenAiChat => crate::openai::usage::from_response(body),
            EgressFormat::Anthropic => anthropic::passthrough::body_usage(body),
            EgressFormat::Gemini => gemini::parse(body).ok().and_then(|answer| answer.usage),
            EgressFormat::Responses => responses::response::usage_of(body),
        }
    }

    /// The reader of a stream relayed untouched; `client_wants_usage` is an
    /// OpenAI client's `stream_options.include_usage` (the usage chunk the
    /// gateway asked for is hidden from a client that did not).
    pub fn pass_watch(self, client_wants_usage: bool) -> PassWatch {
        match self {
            EgressFormat::OpenAiChat => PassWatch::OpenAiChat(UsageFilter::new(client_wants_usage)),
            EgressFormat::Anthropic => PassWatch::Anthropic(Default::default()),
            // No Gemini-speaking client yet: its own reader watches, unhurried.
            EgressFormat::Gemini => PassWatch::Decoded {
                decoder: StreamDecoder::Gemini(Box::default()),
                usage: None,
            },
            EgressFormat::Responses => PassWatch::Responses(Default::default()),
        }
    }

    /// The label of the usage event's upstream format.
    pub fn label(self) -> &'static str {
        match self {
            EgressFormat::OpenAiChat => "openai_chat",
            EgressFormat::Anthropic => "anthropic",
            EgressFormat::Responses => "responses",
            EgressFormat::Gemini => "gemini",
        }
    }

    /// The body that asks the provider for `request`, as `upstream_model`;
    /// `max_output` (the model's largest output) stands in for a `max_tokens`
    /// the client did not give where the format requires one. An error is a
    /// request the format cannot carry: the client's to fix.
    pub fn encode_request(
        self,
        request: &ChatRequest,
        upstream_model: &str,
        max_output: u64,
    ) -> Result<Vec<u8>, GatewayError> {
        match self {
            EgressFormat::OpenAiChat => Ok(openai_chat::request::encode(request, upstream_model)),
            EgressFormat::Anthropic => {
                let (mut body, _) = anthropic::egress::to_request(request, max_output)
                    .map_err(|e| GatewayError::invalid(e.to_string(), None))?;
                upstream_model.clone_into(&mut body.model);
                serde_json::to_vec(&body).map_err(|e| GatewayError::invalid(e.to_string(), None))
            }
            EgressFormat::Responses => {
                let mut body = responses::egress::request(request);
                upstream_model.clone_into(&mut body.model);
                serde_json::to_vec(&body).map_err(|e| GatewayError::invalid(e.to_string(), None))
            }
            EgressFormat::Gemini => {
                gemini::render_body(request, &gemini::RenderOptions::for_model(upstream_model))
                    .map_err(|e| GatewayError::invalid(e.to_string(), e.param()))
            }
        }
    }

    /// The provider's whole answer to `request` in the gateway's terms.
    pub fn decode_response(
        self,
        body: &[u8],
        request: &ChatRequest,
    ) -> Result<ChatResponse, Undecodable> {
        match self {
            EgressFormat::OpenAiChat => {
                openai_chat::response::decode(body).map_err(|_| Undecodable::Malformed)
            }
            EgressFormat::Responses => {
                responses::response::decode_bytes(body).ok_or(Undecodable::Malformed)
            }
            EgressFormat::Anthropic => {
                anthropic::egress::parse_response(body, &anthropic_plan(request))
                    .map_err(|_| Undecodable::Malformed)
            }
            EgressFormat::Gemini => gemini::parse(body).map_err(Undecodable::from),
        }
    }

    /// The reader of the provider's stream answering `request`.
    pub fn stream_decoder(self, request: &ChatRequest) -> StreamDecoder {
        match self {
            EgressFormat::OpenAiChat => StreamDecoder::OpenAiChat(Default::default()),
            EgressFormat::Anthropic => StreamDecoder::Anthropic(Box::new(
                anthropic::egress::StreamDecoder::new(anthropic_plan(request)),
            )),
            EgressFormat::Responses => StreamDecoder::Responses {
                decoder: Box::default(),
                done: false,
            },
            EgressFormat::Gemini => StreamDecoder::Gemini(Box::default()),
        }
    }

    /// A provider's error answer (`GatewayError::Upstream`) rewritten for a
    /// client of another format: the provider's message in the client's error
    /// shape, with a status the client's SDK knows (Anthropic's 529 is a 503
    /// elsewhere; both are retried and failed over alike). Other errors are
    /// the gateway's own and already render in any format.
    pub fn relay_error(self, ingress: IngressFormat, error: GatewayError) -> GatewayError {
        let GatewayError::Upstream {
            provider,
            status,
            mut headers,
            body,
        } = error
        else {
            return error;
        };
        // Gemini says how long to wait in its body (`RetryInfo`), not in a
        // header: the client's SDK honours `Retry-After`.
        let mut retry_after = None;
        let message = match self {
            EgressFormat::OpenAiChat | EgressFormat::Responses => openai_error_message(&body),
            EgressFormat::Anthropic => anthropic::error::parse_error(&body).map(|(_, m)| m),
            EgressFormat::Gemini => {
                let error = gemini::classify(status.as_u16(), &body);
                retry_after = error.retry_after;
                error.message
            }
        }
        // The gateway's own words about the provider's answer (a body too
        // large to relay) are in OpenAI's shape.
        .or_else(|| openai_error_message(&body))
        .unwrap_or_else(|| format!("Provider `{provider}` answered {}.", status.as_u16()));
        let (status, body) = ingress.upstream_error(status, &message);
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Some(delay) = retry_after {
            let seconds = delay.as_secs() + u64::from(delay.subsec_nanos() > 0);
            headers
                .entry(header::RETRY_AFTER)
                .or_insert(HeaderValue::from(seconds));
        }
        GatewayError::Upstream {
            provider,
            status,
            headers,
            body,
        }
    }
}

/// Why a provider's answer (whole, or one stream event) did not become one in
/// the gateway's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Undecodable {
    /// Not an answer of the format, or an error object where one was due: the
    /// provider's fault, worth another candidate.
    Malformed,
    /// The provider's safety filters refused the prompt itself (Gemini's
    /// `promptFeedback.blockReason`); `reason` is the block reason's name. The
    /// client's to change: answered as a 400 `content_filter`, not retried.
    Blocked { reason: String },
}

impl From<gemini::ResponseError> for Undecodable {
    fn from(error: gemini::ResponseError) -> Self {
        match error {
            gemini::ResponseError::Blocked { reason } => Undecodable::Blocked { reason },
            _ => Undecodable::Malformed,
        }
    }
}

impl From<gemini::StreamError> for Undecodable {
    fn from(error: gemini::StreamError) -> Self {
        match error {
            gemini::StreamError::Chunk(error) => error.into(),
            gemini::StreamError::Truncated => Undecodable::Malformed,
        }
    }
}

impl Undecodable {
    /// The error the client gets for an answer from `provider` that could not
    /// be used.
    pub fn into_error(self, provider: &str) -> GatewayError {
        match self {
            Undecodable::Malformed => GatewayError::UpstreamProtocol {
                provider: provider.to_owned(),
            },
            Undecodable::Blocked { reason } => GatewayError::ContentBlocked {
                provider: provider.to_owned(),
                reason,
            },
        }
    }
}

/// What the Anthropic answer's reader must know of how its request was
/// written (the tool standing for a response format); only a request with a
/// response format has anything to know, so only it is written again.
fn anthropic_plan(request: &ChatRequest) -> anthropic::egress::EgressPlan {
    if request.response_format.is_none() {
        return anthropic::egress::EgressPlan::default();
    }
    anthropic::egress::to_request(request, request.max_tokens.unwrap_or(1))
        .map(|(_, plan)| plan)
        .unwrap_or_default()
}

/// The `error.message` of an OpenAI-shaped error body.
fn openai_error_message(body: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    value
        .get("error")?
        .get("message")?
        .as_str()
        .map(str::to_owned)
}

impl IngressFormat {
    /// The label of the usage event's ingress format.
    pub fn label(self) -> &'static str {
        match self {
            IngressFormat::OpenAiChat => "openai_chat",
            IngressFormat::Anthropic => "anthropic",
            IngressFormat::Responses => "responses",
        }
    }

    /// The client's request in the gateway's terms, to be translated: a
    /// request only a provider of the client's own format can serve (a
    /// Responses request that needs stored state) is refused here.
    pub fn decode_request(self, body: &[u8]) -> Result<ChatRequest, GatewayError> {
        match self {
            IngressFormat::OpenAiChat => openai_chat::request::decode(body),
            IngressFormat::Anthropic => anthropic::ingress::parse_request(body)
                .map_err(|e| GatewayError::invalid(e.to_string(), None)),
            IngressFormat::Responses => {
                let parsed = responses::request::parse(body)?;
                parsed.require_stateless()?;
                Ok(parsed.chat)
            }
        }
    }

    /// [`Self::decode_request`] with what a translated answer must repeat of
    /// the request (a Response echoes its settings), read in the same pass.
    pub fn decode(self, body: &[u8]) -> Result<Decoded, GatewayError> {
        match self {
            IngressFormat::OpenAiChat | IngressFormat::Anthropic => Ok(Decoded {
                request: self.decode_request(body)?,
                echo: Echo::None,
            }),
            IngressFormat::Responses => {
                let parsed = responses::request::parse(body)?;
                parsed.require_stateless()?;
                Ok(Decoded {
                    request: parsed.chat,
                    echo: Echo::Responses(Box::new(parsed.settings)),
                })
            }
        }
    }

    /// A request [`Self::decode_request`] refused as it stands but a provider
    /// of this same format could take untouched (an Anthropic document or
    /// server tool), read as far as routing needs; `None` when there is no
    /// such reading. Only a passthrough may serve it.
    pub fn decode_for_passthrough(self, body: &[u8]) -> Option<ChatRequest> {
        match self {
            IngressFormat::Anthropic => anthropic::ingress::parse_for_passthrough(body),
            // Stored state, hosted tools, files: only a Responses provider reads them.
            IngressFormat::Responses => responses::lenient::parse_for_passthrough(body),
            IngressFormat::OpenAiChat => None,
        }
    }

    /// A whole answer as the client expects it; `created` stands in when the
    /// provider gave no time.
    pub fn encode_response(self, response: &ChatResponse, created: i64, echo: &Echo) -> Vec<u8> {
        match self {
            IngressFormat::OpenAiChat => openai_chat::response::encode(response, created),
            IngressFormat::Responses => {
                let object = responses::response::render(response, &echo.settings(), created);
                serde_json::to_vec(&object).unwrap_or_default()
            }
            IngressFormat::Anthropic => anthropic::ingress::response_body(response).to_vec(),
        }
    }

    /// The client-side coder of a translated stream.
    pub fn stream_encoder(self, created: i64, include_usage: bool, echo: &Echo) -> StreamEncoder {
        match self {
            IngressFormat::OpenAiChat => {
                StreamEncoder::OpenAiChat(openai_chat::stream::Encoder::new(created, include_usage))
            }
            // The provider's answer id and model replace these once they come.
            IngressFormat::Responses => {
                let settings = echo.settings().into_owned();
                let model = settings.model.clone();
                StreamEncoder::Responses(Box::new(responses::stream::Encoder::new(
                    settings,
                    created,
                    &format!("resp_gw{created:x}"),
                    &model,
                )))
            }
            // The `message_start` of a provider that names no message uses this id.
            IngressFormat::Anthropic => StreamEncoder::Anthropic(Box::new(
                anthropic::ingress::StreamEncoder::new(format!("msg_gw{created:x}"), ""),
            )),
        }
    }
}

/// A client's request as the translated path reads it, to be served by any
/// provider ([`IngressFormat::decode`]).
#[derive(Debug)]
pub struct Decoded {
    pub request: ChatRequest,
    pub echo: Echo,
}

/// What a translated answer repeats of the client's request, by format.
#[derive(Debug, Clone, Default)]
pub enum Echo {
    /// Nothing (chat completions, Anthropic Messages).
    #[default]
    None,
    /// A Response echoes its request's settings (instructions, tools,
    /// temperature, ...).
    Responses(Box<responses::wire::request::CreateResponse>),
}

impl Echo {
    /// The Responses settings to echo; OpenAI's defaults when there are none.
    fn settings(&self) -> std::borrow::Cow<'_, responses::wire::request::CreateResponse> {
        match self {
            Echo::Responses(settings) => std::borrow::Cow::Borrowed(settings),
            Echo::None => std::borrow::Cow::Owned(Default::default()),
        }
    }
}

/// Reads a provider's stream events (the `data:` payload of each SSE event).
#[derive(Debug)]
pub enum StreamDecoder {
    OpenAiChat(openai_chat::stream::Decoder),
    Anthropic(Box<anthropic::egress::StreamDecoder>),
    /// The Responses decoder, and whether its final event came.
    Responses {
        decoder: Box<responses::stream::Decoder>,
        done: bool,
    },
    Gemini(Box<gemini::StreamDecoder>),
}

impl StreamDecoder {
    /// The gateway events in one upstream event; an error when the provider
    /// sent an error, a refusal or something unreadable.
    pub fn decode(&mut self, data: &[u8]) -> Result<Vec<StreamEvent>, Undecodable> {
        match self {
            StreamDecoder::OpenAiChat(decoder) => {
                decoder.decode(data).map_err(|_| Undecodable::Malformed)
            }
            StreamDecoder::Anthropic(decoder) => {
                let mut events = Vec::new();
                decoder
                    .push(data, &mut events)
                    .map_err(|_| Undecodable::Malformed)?;
                Ok(events)
            }
            StreamDecoder::Responses { decoder, done } => {
                let events = decoder.push(data).map_err(|_| Undecodable::Malformed)?;
                *done |= events.iter().any(|e| matches!(e, StreamEvent::Finish(_)));
                Ok(events)
            }
            StreamDecoder::Gemini(decoder) => decoder.data(data).map_err(Undecodable::from),
        }
    }

    /// Whether the provider marked the end of its stream.
    pub fn done(&self) -> bool {
        match self {
            StreamDecoder::OpenAiChat(decoder) => decoder.done(),
            StreamDecoder::Anthropic(decoder) => decoder.is_done(),
            StreamDecoder::Responses { done, .. } => *done,
            StreamDecoder::Gemini(decoder) => decoder.finished(),
        }
    }
}

/// Writes gateway events in the client's stream format.
#[derive(Debug)]
pub enum StreamEncoder {
    OpenAiChat(openai_chat::stream::Encoder),
    Responses(Box<responses::stream::Encoder>),
    Anthropic(Box<anthropic::ingress::StreamEncoder>),
}

impl StreamEncoder {
    pub fn encode(&mut self, event: &StreamEvent) -> Option<Bytes> {
        match self {
            StreamEncoder::OpenAiChat(encoder) => encoder.encode(event),
            StreamEncoder::Responses(encoder) => non_empty(&encoder.push(event)),
            StreamEncoder::Anthropic(encoder) => {
                let mut frames = Vec::new();
                encoder.push(event, &mut frames);
                joined(frames)
            }
        }
    }

    /// The stream's closing events.
    pub fn finish(&mut self) -> Bytes {
        match self {
            StreamEncoder::OpenAiChat(encoder) => encoder.finish(),
            StreamEncoder::Responses(encoder) => responses::stream::frames(&encoder.finish()),
            StreamEncoder::Anthropic(encoder) => {
                let mut frames = Vec::new();
                encoder.finish(&mut frames);
                joined(frames).unwrap_or_default()
            }
        }
    }

    /// The events that end this stream with `error`, where the format ends a
    /// failed stream its own way (Responses: `response.failed`, numbered on
    /// from the events sent); `None`: the format's usual error event
    /// ([`IngressFormat::error_event`]).
    pub fn fail(&mut self, error: &GatewayError) -> Option<Bytes> {
        match self {
            StreamEncoder::OpenAiChat(_) | StreamEncoder::Anthropic(_) => None,
            StreamEncoder::Responses(encoder) => {
                non_empty(&encoder.fail(&responses::error::ErrorObject::from_gateway(error)))
            }
        }
    }
}

/// Responses events as SSE frames; `None` for none.
fn non_empty(events: &[responses::wire::events::Event]) -> Option<Bytes> {
    (!events.is_empty()).then(|| responses::stream::frames(events))
}

/// Frames as one chunk of the client's body.
fn joined(frames: Vec<Bytes>) -> Option<Bytes> {
    match frames.len() {
        0 => None,
        1 => frames.into_iter().next(),
        _ => {
            let mut out = BytesMut::with_capacity(frames.iter().map(Bytes::len).sum());
            for frame in frames {
                out.extend_from_slice(&frame);
            }
            Some(out.freeze())
        }
    }
}

/// Reads a stream that passes through untouched: its usage and its end.
#[derive(Debug)]
pub enum PassWatch {
    OpenAiChat(UsageFilter),
    Anthropic(anthropic::passthrough::StreamWatch),
    Responses(responses::stream::Watcher),
    /// Any format, read through its full stream decoder (the events still
    /// pass untouched).
    Decoded {
        decoder: StreamDecoder,
        usage: Option<TokenUsage>,
    },
}

/// What becomes of one passed-through event.
#[derive(Debug)]
pub struct Passed {
    /// The event for the client (`None`: hidden).
    pub event: Option<Bytes>,
    /// This event ended the stream.
    pub last: bool,
}

/// The provider's stream broke: not its format at all, or (read by a full
/// decoder) an error event. Anthropic and Responses error events pass on as
/// sent instead ([`PassWatch::failed`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Broken;

impl PassWatch {
    /// Takes one whole SSE event from the provider.
    pub fn on_event(&mut self, event: Bytes) -> Result<Passed, Broken> {
        match self {
            PassWatch::OpenAiChat(filter) => {
                let was_done = filter.done;
                let event = filter.on_event(event);
                Ok(Passed {
                    event,
                    last: filter.done && !was_done,
                })
            }
            PassWatch::Anthropic(watch) => {
                let was_done = watch.is_done();
                if !was_done {
                    if let Some(data) = single_data(&event) {
                        watch.on_data(data).map_err(|_| Broken)?;
                    }
                }
                Ok(Passed {
                    event: Some(event),
                    last: watch.is_done() && !was_done,
                })
            }
            PassWatch::Responses(watch) => {
                let was_done = watch.done();
                if !was_done {
                    if let Some(data) = single_data(&event) {
                        watch.observe(data);
                    }
                }
                Ok(Passed {
                    event: Some(event),
                    last: watch.done() && !was_done,
                })
            }
            PassWatch::Decoded { decoder, usage } => {
                let was_done = decoder.done();
                if !was_done {
                    if let Some(data) = single_data(&event) {
                        for decoded in decoder.decode(data).map_err(|_| Broken)? {
                            if let StreamEvent::Usage(found) = decoded {
                                *usage = Some(found);
                            }
                        }
                    }
                }
                Ok(Passed {
                    event: Some(event),
                    last: decoder.done() && !was_done,
                })
            }
        }
    }

    pub fn usage(&self) -> Option<TokenUsage> {
        match self {
            PassWatch::OpenAiChat(filter) => filter.usage,
            PassWatch::Anthropic(watch) => watch.usage(),
            PassWatch::Responses(watch) => watch.usage(),
            PassWatch::Decoded { usage, .. } => *usage,
        }
    }

    /// Whether the provider's stream reached its proper end.
    pub fn done(&self) -> bool {
        match self {
            PassWatch::OpenAiChat(filter) => filter.done,
            PassWatch::Anthropic(watch) => watch.is_done(),
            PassWatch::Responses(watch) => watch.done(),
            PassWatch::Decoded { decoder, .. } => decoder.done(),
        }
    }

    /// Whether the provider ended the stream with its own error event (passed
    /// on as sent): the stream is over, but failed.
    pub fn failed(&self) -> bool {
        match self {
            PassWatch::Anthropic(watch) => watch.failed(),
            PassWatch::Responses(watch) => watch.failed(),
            PassWatch::OpenAiChat(_) | PassWatch::Decoded { .. } => false,
        }
    }

    /// The event that ends a cut stream with `error`, where the format needs
    /// the stream's state for it (a Responses `error` event continues the
    /// provider's sequence numbers); `None`: the client format's usual one.
    pub fn fail(&self, error: &GatewayError) -> Option<Bytes> {
        match self {
            PassWatch::Responses(watch) => {
                Some(watch.error_event(&responses::error::ErrorObject::from_gateway(error)))
            }
            PassWatch::OpenAiChat(_) | PassWatch::Anthropic(_) | PassWatch::Decoded { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderMap;

    use super::*;
    use crate::llm::{FinishReason, Message, Part, ResponseFormat, Role};
    use axum::http::StatusCode;

    fn fixture(name: &str) -> Vec<u8> {
        let path = format!(
            "{}/tests/fixtures/anthropic/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read(path).unwrap()
    }

    fn request() -> ChatRequest {
        ChatRequest {
            model: "claude-x".into(),
            messages: vec![Message {
                role: Role::User,
                content: vec![Part::text("hi")],
            }],
            ..Default::default()
        }
    }

    fn upstream(status: u16, body: &[u8]) -> GatewayError {
        GatewayError::Upstream {
            provider: "p".into(),
            status: StatusCode::from_u16(status).unwrap(),
            headers: Box::new(HeaderMap::new()),
            body: Bytes::copy_from_slice(body),
        }
    }

    #[test]
    fn anthropic_requests_take_the_upstream_model_and_the_default_max_tokens() {
        let body = EgressFormat::Anthropic
            .encode_request(&request(), "claude-up", 777)
            .unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["model"], "claude-up");
        assert_eq!(body["max_tokens"], 777);
        let mut bad = request();
        bad.n = Some(2);
        let error = EgressFormat::Anthropic
            .encode_request(&bad, "claude-up", 1)
            .unwrap_err();
        assert_eq!(error.status(), StatusCode::BAD_REQUEST);
    }

    #[test]
    fn anthropic_answers_decode_whole_and_streamed() {
        let answer = EgressFormat::Anthropic
            .decode_response(&fixture("response_tool_use.json"), &request())
            .unwrap();
        assert_eq!(answer.finish, FinishReason::ToolCalls);
        let usage = answer.usage.unwrap();
        assert_eq!(usage.cache_write_tokens, 1510);
        assert!(EgressFormat::Anthropic
            .decode_response(&fixture("error_overloaded.json"), &request())
            .is_err());

        let sse = String::from_utf8(fixture("stream_text.sse")).unwrap();
        let mut decoder = EgressFormat::Anthropic.stream_decoder(&request());
        let mut text = String::new();
        for event in sse.split("\n\n").filter(|e| !e.trim().is_empty()) {
            let data = crate::sse::single_data(event.as_bytes()).unwrap();
            for event in decoder.decode(data).unwrap() {
                if let StreamEvent::Text(t) = event {
                    text.push_str(&t);
                }
            }
        }
        assert!(!text.is_empty());
        assert!(decoder.done());
        let mut broken = EgressFormat::Anthropic.stream_decoder(&request());
        assert!(broken.decode(b"{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}").is_err());
    }

    #[test]
    fn a_format_tool_answer_comes_back_as_text() {
        let mut asks_json = request();
        asks_json.response_format = Some(ResponseFormat::JsonObject);
        let body = EgressFormat::Anthropic
            .encode_request(&asks_json, "claude-up", 100)
            .unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let tool = body["tool_choice"]["name"].as_str().unwrap().to_owned();
        let answer = serde_json::json!({
            "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-up",
            "content": [{"type": "tool_use", "id": "toolu_1", "name": tool, "input": {"a": 1}}],
            "stop_reason": "tool_use", "stop_sequence": null,
            "usage": {"input_tokens": 3, "output_tokens": 4}
        });
        let answer = EgressFormat::Anthropic
            .decode_response(answer.to_string().as_bytes(), &asks_json)
            .unwrap();
        assert_eq!(answer.finish, FinishReason::Stop);
        assert!(matches!(&answer.content[..], [Part::Text { text, .. }] if text.contains("\"a\"")));
    }

    #[test]
    fn gemini_requests_answers_and_errors_go_through_its_translators() {
        let mut asks = request();
        asks.system = vec![Part::text("be brief")];
        let body = EgressFormat::Gemini
            .encode_request(&asks, "gemini-2.5-flash", 1)
            .unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["systemInstruction"]["parts"][0]["text"], "be brief");
        assert_eq!(body["contents"][0]["parts"][0]["text"], "hi");
        let mut two = request();
        two.n = Some(2);
        let error = EgressFormat::Gemini
            .encode_request(&two, "gemini-2.5-flash", 1)
            .unwrap_err();
        assert_eq!(
            (error.status(), error.param()),
            (StatusCode::BAD_REQUEST, Some("n"))
        );

        let answer = br#"{"candidates":[{"content":{"role":"model","parts":[{"text":"hello"}]},
            "finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":10,
            "candidatesTokenCount":3,"thoughtsTokenCount":4,"cachedContentTokenCount":6},
            "modelVersion":"gemini-2.5-flash","responseId":"r1"}"#;
        let answer = EgressFormat::Gemini
            .decode_response(answer, &request())
            .unwrap();
        assert_eq!(answer.finish, FinishReason::Stop);
        let usage = answer.usage.unwrap();
        assert_eq!((usage.prompt_tokens, usage.cached_prompt_tokens), (10, 6));
        assert_eq!((usage.completion_tokens, usage.reasoning_tokens), (7, 4));

        let mut decoder = EgressFormat::Gemini.stream_decoder(&request());
        let events = decoder
            .decode(br#"{"candidates":[{"content":{"role":"model","parts":[{"text":"he"}]},"index":0}]}"#)
            .unwrap();
        assert!(events
            .iter()
            .any(|e| matches!(e, StreamEvent::Text(t) if t == "he")));
        assert!(!decoder.done());
        decoder
            .decode(br#"{"candidates":[{"content":{"role":"model","parts":[{"text":"y"}]},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":2,"candidatesTokenCount":2}}"#)
            .unwrap();
        assert!(decoder.done());

        // A blocked prompt is a refusal, whole or streamed; garbage is not.
        let blocked = br#"{"promptFeedback":{"blockReason":"SAFETY"},"usageMetadata":{"promptTokenCount":5}}"#;
        let refusal = Undecodable::Blocked {
            reason: "SAFETY".into(),
        };
        assert_eq!(
            EgressFormat::Gemini.decode_response(blocked, &request()),
            Err(refusal.clone())
        );
        let mut decoder = EgressFormat::Gemini.stream_decoder(&request());
        assert_eq!(decoder.decode(blocked).unwrap_err(), refusal);
        assert_eq!(
            EgressFormat::Gemini.decode_response(b"{not json", &request()),
            Err(Undecodable::Malformed)
        );
        assert!(matches!(
            refusal.into_error("g"),
            GatewayError::ContentBlocked { .. }
        ));

        let overloaded = EgressFormat::Gemini.relay_error(
            IngressFormat::OpenAiChat,
            upstream(
                503,
                br#"{"error":{"code":503,"message":"The model is overloaded.","status":"UNAVAILABLE"}}"#,
            ),
        );
        assert!(overloaded.is_retryable());
        let GatewayError::Upstream { status, body, .. } = &overloaded else {
            panic!("{overloaded:?}");
        };
        assert_eq!(*status, StatusCode::SERVICE_UNAVAILABLE);
        let body: serde_json::Value = serde_json::from_slice(body).unwrap();
        assert_eq!(body["error"]["message"], "The model is overloaded.");
        assert_eq!(body["error"]["type"], "server_error");

        // Gemini's RetryInfo becomes the Retry-After a client's SDK honours.
        let limited = EgressFormat::Gemini.relay_error(
            IngressFormat::OpenAiChat,
            upstream(
                429,
                br#"{"error":{"code":429,"message":"Resource has been exhausted.","status":"RESOURCE_EXHAUSTED",
                    "details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"1.5s"}]}}"#,
            ),
        );
        assert!(limited.is_retryable());
        let GatewayError::Upstream { headers, body, .. } = &limited else {
            panic!("{limited:?}");
        };
        assert_eq!(headers[header::RETRY_AFTER], "2");
        let body: serde_json::Value = serde_json::from_slice(body).unwrap();
        assert_eq!(body["error"]["type"], "rate_limit_error");
    }

    #[test]
    fn anthropic_errors_are_rewritten_for_openai_clients() {
        let overloaded = EgressFormat::Anthropic.relay_error(
            IngressFormat::OpenAiChat,
            upstream(529, &fixture("error_overloaded.json")),
        );
        assert!(overloaded.is_retryable());
        let GatewayError::Upstream { status, body, .. } = &overloaded else {
            panic!("{overloaded:?}");
        };
        assert_eq!(*status, StatusCode::SERVICE_UNAVAILABLE);
        let body: serde_json::Value = serde_json::from_slice(body).unwrap();
        assert_eq!(body["error"]["type"], "server_error");
        assert!(body["error"]["message"].as_str().unwrap().len() > 3);

        let invalid = EgressFormat::Anthropic.relay_error(
            IngressFormat::OpenAiChat,
            upstream(400, &fixture("error_invalid_request.json")),
        );
        assert!(!invalid.is_retryable());
        let GatewayError::Upstream { status, body, .. } = &invalid else {
            panic!("{invalid:?}");
        };
        assert_eq!(*status, StatusCode::BAD_REQUEST);
        let body: serde_json::Value = serde_json::from_slice(body).unwrap();
        assert_eq!(body["error"]["type"], "invalid_request_error");

        // An OpenAI provider's error for an Anthropic client, in Anthropic's envelope.
        let limited = EgressFormat::OpenAiChat.relay_error(
            IngressFormat::Anthropic,
            upstream(
                429,
                br#"{"error":{"message":"slow down","type":"requests"}}"#,
            ),
        );
        let GatewayError::Upstream { status, body, .. } = &limited else {
            panic!("{limited:?}");
        };
        assert_eq!(*status, StatusCode::TOO_MANY_REQUESTS);
        let body: serde_json::Value = serde_json::from_slice(body).unwrap();
        assert_eq!(body["type"], "error");
        assert_eq!(body["error"]["type"], "rate_limit_error");
        assert_eq!(body["error"]["message"], "slow down");

        // The gateway's own words about a provider's error (OpenAI's shape)
        // keep their message whatever the provider's format.
        let own = EgressFormat::Anthropic.relay_error(
            IngressFormat::Anthropic,
            upstream(
                500,
                br#"{"error":{"message":"over 262144 bytes","type":"server_error"}}"#,
            ),
        );
        let GatewayError::Upstream { body, .. } = &own else {
            panic!("{own:?}");
        };
        let body: serde_json::Value = serde_json::from_slice(body).unwrap();
        assert_eq!(body["error"]["message"], "over 262144 bytes", "{body}");

        // The gateway's own errors are left to the client's renderer.
        let own = EgressFormat::Anthropic
            .relay_error(IngressFormat::OpenAiChat, GatewayError::RequestTimeout);
        assert!(matches!(own, GatewayError::RequestTimeout));
    }
}
