//! Anthropic's SSE events -> the gateway's [`StreamEvent`]s.
//!
//! Fed one event's `data:` payload at a time (the caller splits the byte
//! stream into events). `ping` and event types this code does not know are
//! skipped; an `error` event ends the stream as an error the proxy shows the
//! client. Usage is reported once, at `message_delta`, from `message_start`'s
//! counts updated by the delta's cumulative ones.

use crate::llm::StreamEvent;

use super::super::error::ErrorKind;
use super::super::usage;
use super::super::wire::{BlockDelta, ResponseBlock, StreamEventWire, UsageWire};
use super::response::finish;
use super::EgressPlan;

/// Why the stream cannot go on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StreamError {
    /// Anthropic sent an `error` event (e.g. `overloaded_error`).
    #[error("upstream error {}: {message}", .kind.map_or("unknown", ErrorKind::as_str))]
    Upstream {
        kind: Option<ErrorKind>,
        message: String,
    },
    /// An event that is not JSON or not of the event's shape.
    #[error("malformed Anthropic stream event: {0}")]
    Malformed(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Block {
    Text,
    Thinking,
    /// A tool call, by the gateway's index.
    Tool(u32),
    /// The response-format tool: its input is the answer's text.
    Format,
    Skipped,
}

/// State of one streamed answer.
#[derive(Debug, Default)]
pub struct StreamDecoder {
    plan: EgressPlan,
    /// Kind of each block, by Anthropic index.
    blocks: Vec<(u32, Block)>,
    next_tool: u32,
    usage: UsageWire,
    stopped: bool,
}

impl StreamDecoder {
    pub fn new(plan: EgressPlan) -> StreamDecoder {
        StreamDecoder {
            plan,
            ..StreamDecoder::default()
        }
    }

    /// Whether `message_stop` arrived.
    pub fn is_done(&self) -> bool {
        self.stopped
    }

    /// The events of one SSE `data:` payload, appended to `out`.
    pub fn push(&mut self, data: &[u8], out: &mut Vec<StreamEvent>) -> Result<(), StreamError> {
        let event: StreamEventWire =
            serde_json::from_slice(data).map_err(|e| StreamError::Malformed(e.to_string()))?;
        self.apply(event, out)
    }

    fn kind_of(&self, index: u32) -> Block {
        self.blocks
            .iter()
            .rev()
            .find(|(i, _)| *i == index)
            .map_or(Block::Skipped, |(_, kind)| *kind)
    }

    fn apply(
        &mut self,
        event: StreamEventWire,
        out: &mut Vec<StreamEvent>,
    ) -> Result<(), StreamError> {
        match event {
            StreamEventWire::MessageStart { message } => {
                self.usage = message.usage;
                out.push(StreamEvent::Start {
                    id: message.id,
                    model: message.model,
                });
            }
            StreamEventWire::ContentBlockStart {
                index,
                content_block,
            } => {
                let kind = match content_block {
                    ResponseBlock::Text { text } => {
                        if !text.is_empty() {
                            out.push(StreamEvent::Text(text));
                        }
                        Block::Text
                    }
                    ResponseBlock::Thinking {
                        thinking,
                        signature,
                    } => {
                        if !thinking.is_empty() || !signature.is_empty() {
                            out.push(StreamEvent::Thinking {
                                text: thinking,
                                signature: (!signature.is_empty()).then_some(signature),
                            });
                        }
                        Block::Thinking
                    }
                    ResponseBlock::ToolUse { id, name, .. } => {
                        if self.plan.format_tool.as_deref() == Some(name.as_str()) {
                            Block::Format
                        } else {
                            let tool = self.next_tool;
                            self.next_tool = self.next_tool.saturating_add(1);
                            out.push(StreamEvent::ToolCallStart {
                                index: tool,
                                id,
                                name,
                            });
                            Block::Tool(tool)
                        }
                    }
                    ResponseBlock::RedactedThinking { .. } | ResponseBlock::Unknown => {
                        Block::Skipped
                    }
                };
                self.blocks.push((index, kind));
            }
            StreamEventWire::ContentBlockDelta { index, delta } => {
                match (self.kind_of(index), delta) {
                    (Block::Text, BlockDelta::TextDelta { text }) => {
                        out.push(StreamEvent::Text(text));
                    }
                    (Block::Thinking, BlockDelta::ThinkingDelta { thinking }) => {
                        out.push(StreamEvent::Thinking {
                            text: thinking,
                            signature: None,
                        });
                    }
                    (Block::Thinking, BlockDelta::SignatureDelta { signature }) => {
                        out.push(StreamEvent::Thinking {
                            text: String::new(),
                            signature: Some(signature),
                        });
                    }
                    (Block::Tool(tool), BlockDelta::InputJsonDelta { partial_json })
                        if !partial_json.is_empty() =>
                    {
                        out.push(StreamEvent::ToolCallArguments {
                            index: tool,
                            arguments: partial_json,
                        });
                    }
                    (Block::Format, BlockDelta::InputJsonDelta { partial_json })
                        if !partial_json.is_empty() =>
                    {
                        out.push(StreamEvent::Text(partial_json));
                    }
                    // Citations, deltas of skipped blocks, mismatched kinds.
                    _ => {}
                }
            }
            StreamEventWire::MessageDelta { delta, usage } => {
                usage::merge(&mut self.usage, &usage);
                let only_format = self.plan.format_tool.is_some() && self.next_tool == 0;
                out.push(StreamEvent::Finish(finish(
                    delta.stop_reason.as_deref(),
                    delta.stop_sequence.as_deref(),
                    only_format,
                )));
                out.push(StreamEvent::Usage(usage::from_wire(&self.usage)));
            }
            StreamEventWire::MessageStop => self.stopped = true,
            StreamEventWire::Error { error } => {
                return Err(StreamError::Upstream {
                    kind: ErrorKind::parse(&error.kind),
                    message: error.message,
                })
            }
            StreamEventWire::ContentBlockStop { .. }
            | StreamEventWire::Ping
            | StreamEventWire::Unknown => {}
        }
        Ok(())
    }
}
