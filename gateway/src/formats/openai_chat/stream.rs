//! Chat completion stream chunks to the gateway's [`StreamEvent`]s and back. Both
//! directions keep a little state: the decoder remembers whether the answer has
//! begun; the encoder repeats the answer's id, model and time in every chunk and
//! holds the usage back until the end, where OpenAI clients expect it.

use bytes::Bytes;
use pricing::TokenUsage;

use crate::llm::StreamEvent;

use super::response::{finish_reason, finish_reason_text, usage, usage_wire};
use super::wire;

/// Why a chunk could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ChunkError {
    #[error("not a chat completion chunk: {0}")]
    Json(#[from] serde_json::Error),
    /// The provider reported an error inside the stream.
    #[error("the provider reported an error in the stream")]
    Upstream,
}

/// Reads the `data:` payloads of a provider's stream.
#[derive(Debug, Default)]
pub struct Decoder {
    started: bool,
    done: bool,
}

impl Decoder {
    /// Whether `[DONE]` has arrived.
    pub fn done(&self) -> bool {
        self.done
    }

    /// The events one `data:` payload carries (none for `[DONE]`).
    pub fn decode(&mut self, data: &[u8]) -> Result<Vec<StreamEvent>, ChunkError> {
        if data == b"[DONE]" {
            self.done = true;
            return Ok(Vec::new());
        }
        let value: serde_json::Value = serde_json::from_slice(data)?;
        if value.get("error").is_some_and(|e| !e.is_null()) {
            return Err(ChunkError::Upstream);
        }
        let chunk: wire::Chunk = serde_json::from_value(value)?;
        let mut events = Vec::new();
        if !self.started {
            self.started = true;
            events.push(StreamEvent::Start {
                id: chunk.id,
                model: chunk.model,
            });
        }
        for choice in chunk.choices.into_iter().filter(|c| c.index == 0) {
            if let Some(text) = choice.delta.content.filter(|t| !t.is_empty()) {
                events.push(StreamEvent::Text(text));
            }
            for call in choice.delta.tool_calls.unwrap_or_default() {
                let function = call.function.unwrap_or_default();
                if let (Some(id), Some(name)) = (call.id, function.name) {
                    events.push(StreamEvent::ToolCallStart {
                        index: call.index,
                        id,
                        name,
                    });
                }
                if let Some(arguments) = function.arguments.filter(|a| !a.is_empty()) {
                    events.push(StreamEvent::ToolCallArguments {
                        index: call.index,
                        arguments,
                    });
                }
            }
            if let Some(reason) = choice.finish_reason {
                events.push(StreamEvent::Finish(finish_reason(&reason)));
            }
        }
        if let Some(found) = chunk.usage {
            events.push(StreamEvent::Usage(usage(found)));
        }
        Ok(events)
    }
}

/// Writes [`StreamEvent`]s as a chat completion stream.
#[derive(Debug)]
pub struct Encoder {
    id: String,
    model: String,
    created: i64,
    /// `stream_options.include_usage`: send the usage chunk at the end.
    include_usage: bool,
    usage: Option<TokenUsage>,
}

impl Encoder {
    /// `created` stamps every chunk; `include_usage` is the client's
    /// `stream_options.include_usage`.
    pub fn new(created: i64, include_usage: bool) -> Encoder {
        Encoder {
            id: String::new(),
            model: String::new(),
            created,
            include_usage,
            usage: None,
        }
    }

    /// The SSE events for one [`StreamEvent`] (none for usage, held for the end).
    pub fn encode(&mut self, event: &StreamEvent) -> Option<Bytes> {
        let delta = match event {
            StreamEvent::Start { id, model } => {
                self.id.clone_from(id);
                self.model.clone_from(model);
                wire::Delta {
                    role: Some("assistant".to_owned()),
                    content: Some(String::new()),
                    tool_calls: None,
                }
            }
            StreamEvent::Text(text) => wire::Delta {
                content: Some(text.clone()),
                ..wire::Delta::default()
            },
            // Chat completions has no place for visible reasoning.
            StreamEvent::Thinking { .. } => return None,
            StreamEvent::ToolCallStart { index, id, name } => wire::Delta {
                tool_calls: Some(vec![wire::ToolCallDelta {
                    index: *index,
                    id: Some(id.clone()),
                    kind: Some(wire::FunctionType::Function),
                    function: Some(wire::FunctionDelta {
                        name: Some(name.clone()),
                        arguments: Some(String::new()),
                    }),
                }]),
                ..wire::Delta::default()
            },
            StreamEvent::ToolCallArguments { index, arguments } => wire::Delta {
                tool_calls: Some(vec![wire::ToolCallDelta {
                    index: *index,
                    id: None,
                    kind: None,
                    function: Some(wire::FunctionDelta {
                        name: None,
                        arguments: Some(arguments.clone()),
                    }),
                }]),
                ..wire::Delta::default()
            },
            StreamEvent::Finish(finish) => {
                return Some(self.chunk(vec![wire::ChunkChoice {
                    index: 0,
                    delta: wire::Delta::default(),
                    finish_reason: Some(finish_reason_text(finish).to_owned()),
                }]))
            }
            StreamEvent::Usage(found) => {
                self.usage = Some(*found);
                return None;
            }
        };
        Some(self.chunk(vec![wire::ChunkChoice {
            index: 0,
            delta,
            finish_reason: None,
        }]))
    }

    /// The end of the stream: the usage chunk if the client asked for it, and
    /// `[DONE]`.
    pub fn finish(&mut self) -> Bytes {
        let mut out = Vec::new();
        if let (true, Some(found)) = (self.include_usage, self.usage) {
            let chunk = wire::Chunk {
                id: self.id.clone(),
                object: "chat.completion.chunk".to_owned(),
                created: self.created,
                model: self.model.clone(),
                choices: Vec::new(),
                usage: Some(usage_wire(&found)),
            };
            out.extend_from_slice(&data_event(&chunk));
        }
        out.extend_from_slice(b"data: [DONE]\n\n");
        Bytes::from(out)
    }

    /// The usage the stream reported, if any.
    pub fn usage(&self) -> Option<TokenUsage> {
        self.usage
    }

    fn chunk(&self, choices: Vec<wire::ChunkChoice>) -> Bytes {
        let chunk = wire::Chunk {
            id: self.id.clone(),
            object: "chat.completion.chunk".to_owned(),
            created: self.created,
            model: self.model.clone(),
            choices,
            usage: None,
        };
        Bytes::from(data_event(&chunk))
    }
}

fn data_event(chunk: &wire::Chunk) -> Vec<u8> {
    let json = serde_json::to_vec(chunk).unwrap_or_default();
    let mut out = Vec::with_capacity(json.len() + 8);
    out.extend_from_slice(b"data: ");
    out.extend_from_slice(&json);
    out.extend_from_slice(b"\n\n");
    out
}
