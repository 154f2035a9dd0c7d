//! Responses events from an upstream into llm stream events. The decoder
//! remembers which output item is which tool call, since argument deltas name
//! only the item; text and reasoning deltas map one to one. The final event
//! gives the finish reason and the usage; `response.failed` and `error` end the
//! stream with the upstream's error.

use crate::llm::StreamEvent;

use super::super::error::ErrorObject;
use super::super::response::{finish, token_usage};
use super::super::wire::events::{Event, EventBody};
use super::super::wire::response::{OutputItem, ResponseObject};

#[derive(Debug, Clone, Default)]
pub struct Decoder {
    /// `(output_index, llm tool call index)` of each function call item.
    calls: Vec<(u32, u32)>,
    /// Whether a reasoning item showed text through deltas already.
    streamed_reasoning: Vec<u32>,
}

impl Decoder {
    pub fn new() -> Decoder {
        Decoder::default()
    }

    /// The llm events for one event's `data:` JSON. Unknown or unreadable
    /// events give none; a failure gives the error to show the client.
    pub fn push(&mut self, data: &[u8]) -> Result<Vec<StreamEvent>, ErrorObject> {
        match serde_json::from_slice::<Event>(data) {
            Ok(event) => self.event(event.body),
            Err(_) => Ok(Vec::new()),
        }
    }

    /// The llm events for one decoded event.
    pub fn event(&mut self, body: EventBody) -> Result<Vec<StreamEvent>, ErrorObject> {
        let out = match body {
            EventBody::Created { response } => vec![StreamEvent::Start {
                id: response.id,
                model: response.model,
            }],
            EventBody::OutputItemAdded {
                output_index,
                item: OutputItem::FunctionCall { call_id, name, .. },
            } => {
                let index = u32::try_from(self.calls.len()).unwrap_or(u32::MAX);
                self.calls.push((output_index, index));
                vec![StreamEvent::ToolCallStart {
                    index,
                    id: call_id,
                    name,
                }]
            }
            EventBody::OutputTextDelta { delta, .. } => vec![StreamEvent::Text(delta)],
            EventBody::ReasoningTextDelta {
                delta,
                output_index,
                ..
            }
            | EventBody::ReasoningSummaryTextDelta {
                delta,
                output_index,
                ..
            } => {
                self.streamed_reasoning.push(output_index);
                vec![StreamEvent::Thinking {
                    text: delta,
                    signature: None,
                }]
            }
            EventBody::FunctionCallArgumentsDelta {
                output_index,
                delta,
                ..
            } => match self.calls.iter().find(|(at, _)| *at == output_index) {
                Some((_, index)) => vec![StreamEvent::ToolCallArguments {
                    index: *index,
                    arguments: delta,
                }],
                None => Vec::new(),
            },
            EventBody::OutputItemDone {
                output_index,
                item:
                    OutputItem::Reasoning {
                        summary,
                        content,
                        encrypted_content,
                        ..
                    },
            } => {
                // Text not streamed as deltas comes whole with the item.
                let text = if self.streamed_reasoning.contains(&output_index) {
                    String::new()
                } else {
                    super::super::response::reasoning_text(&summary, content.as_deref())
                };
                if text.is_empty() && encrypted_content.is_none() {
                    Vec::new()
                } else {
                    vec![StreamEvent::Thinking {
                        text,
                        signature: encrypted_content,
                    }]
                }
            }
            EventBody::Completed { response } | EventBody::Incomplete { response } => {
                self.end(&response)
            }
            EventBody::Failed { response } => {
                let (code, message) =
                    response
                        .error
                        .map(|e| (e.code, e.message))
                        .unwrap_or_else(|| {
                            ("server_error".to_owned(), "The response failed.".to_owned())
                        });
                return Err(ErrorObject {
                    message,
                    kind: "server_error".to_owned(),
                    param: None,
                    code: Some(code),
                });
            }
            EventBody::Error {
                code,
                message,
                param,
            } => {
                return Err(ErrorObject {
                    message,
                    kind: "server_error".to_owned(),
                    param,
                    code,
                })
            }
            _ => Vec::new(),
        };
        Ok(out)
    }

    fn end(&self, response: &ResponseObject) -> Vec<StreamEvent> {
        let mut out = vec![StreamEvent::Finish(finish(
            &response.status,
            response
                .incomplete_details
                .as_ref()
                .map(|d| d.reason.as_str()),
            !self.calls.is_empty(),
        ))];
        if let Some(usage) = &response.usage {
            out.push(StreamEvent::Usage(token_usage(usage)));
        }
        out
    }
}

/// The `data:` payloads of an SSE text, in order (`[DONE]` left out).
pub fn data_payloads(text: &str) -> impl Iterator<Item = &str> {
    text.lines()
        .filter_map(|line| line.strip_prefix("data:"))
        .map(str::trim_start)
        .filter(|data| *data != "[DONE]")
}
