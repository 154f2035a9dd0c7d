//! The gateway's stream events -> Anthropic's SSE event sequence:
//! `message_start`, then per block `content_block_start`, deltas and
//! `content_block_stop`, then `message_delta` (stop reason and cumulative
//! usage) and `message_stop`.
//!
//! Blocks never interleave: a new kind of content closes the open block. The
//! gateway's events may bring usage before or after the finish, so the
//! `message_delta` waits until both are known, or until [`StreamEncoder::finish`].

use bytes::Bytes;
use serde_json::{Map, Value};

use crate::llm::{FinishReason, StreamEvent, TokenUsage};

use super::super::usage;
use super::super::wire::{
    BlockDelta, MessageDelta, MessageResponse, ResponseBlock, StreamEventWire, UsageWire,
};
use super::response::stop_reason;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Open {
    Text,
    Thinking,
    Tool,
}

/// Turns one answer's [`StreamEvent`]s into SSE frames, in order.
#[derive(Debug)]
pub struct StreamEncoder {
    id: String,
    model: String,
    started: bool,
    /// The open block and its Anthropic index.
    open: Option<(Open, u32)>,
    next_index: u32,
    /// Anthropic index of each tool call seen, by the gateway's index.
    tools: Vec<(u32, u32)>,
    finish: Option<FinishReason>,
    usage: Option<TokenUsage>,
    done: bool,
}

fn frame(event: &StreamEventWire) -> Bytes {
    let data = serde_json::to_string(event).unwrap_or_default();
    Bytes::from(format!("event: {}\ndata: {data}\n\n", event.name()))
}

impl StreamEncoder {
    /// `id` and `model` are used for `message_start` if the events do not
    /// begin with [`StreamEvent::Start`].
    pub fn new(id: impl Into<String>, model: impl Into<String>) -> StreamEncoder {
        StreamEncoder {
            id: id.into(),
            model: model.into(),
            started: false,
            open: None,
            next_index: 0,
            tools: Vec::new(),
            finish: None,
            usage: None,
            done: false,
        }
    }

    /// The frames `event` adds, appended to `out`.
    pub fn push(&mut self, event: &StreamEvent, out: &mut Vec<Bytes>) {
        if self.done {
            return;
        }
        if let StreamEvent::Start { id, model } = event {
            if !self.started {
                self.id.clone_from(id);
                self.model.clone_from(model);
            }
        }
        self.start(out);
        match event {
            StreamEvent::Start { .. } => {}
            StreamEvent::Text(text) => {
                if text.is_empty() {
                    return;
                }
                self.enter(Open::Text, out, || ResponseBlock::Text {
                    text: String::new(),
                });
                self.delta(BlockDelta::TextDelta { text: text.clone() }, out);
            }
            StreamEvent::Thinking { text, signature } => {
                self.enter(Open::Thinking, out, || ResponseBlock::Thinking {
                    thinking: String::new(),
                    signature: String::new(),
                });
                if !text.is_empty() {
                    self.delta(
                        BlockDelta::ThinkingDelta {
                            thinking: text.clone(),
                        },
                        out,
                    );
                }
                if let Some(signature) = signature {
                    self.delta(
                        BlockDelta::SignatureDelta {
                            signature: signature.clone(),
                        },
                        out,
                    );
                }
            }
            StreamEvent::ToolCallStart { index, id, name } => {
                self.close(out);
                let at = self.next_index;
                self.next_index = self.next_index.saturating_add(1);
                self.tools.retain(|(tool, _)| tool != index);
                self.tools.push((*index, at));
                self.open = Some((Open::Tool, at));
                out.push(frame(&StreamEventWire::ContentBlockStart {
                    index: at,
                    content_block: ResponseBlock::ToolUse {
                        id: id.clone(),
                        name: name.clone(),
                        input: Value::Object(Map::new()),
                    },
                }));
            }
            StreamEvent::ToolCallArguments { index, arguments } => {
                // Arguments of a call whose start never came have no block to go to.
                let Some(&(_, at)) = self.tools.iter().find(|(tool, _)| tool == index) else {
                    return;
                };
                if arguments.is_empty() {
                    return;
                }
                out.push(frame(&StreamEventWire::ContentBlockDelta {
                    index: at,
                    delta: BlockDelta::InputJsonDelta {
                        partial_json: arguments.clone(),
                    },
                }));
            }
            StreamEvent::Finish(reason) => {
                self.close(out);
                self.finish = Some(reason.clone());
                if self.usage.is_some() {
                    self.end(out);
                }
            }
            StreamEvent::Usage(usage) => {
                self.usage = Some(*usage);
                if self.finish.is_some() {
                    self.end(out);
                }
            }
        }
    }

    /// The frames that end the stream when the events are over: the pending
    /// `message_delta` and `message_stop` (a natural end if no finish came).
    pub fn finish(&mut self, out: &mut Vec<Bytes>) {
        if self.done {
            return;
        }
        self.start(out);
        self.close(out);
        self.end(out);
    }

    /// A `ping` frame, for keep-alives during long silences (clients skip it).
    pub fn ping() -> Bytes {
        frame(&StreamEventWire::Ping)
    }

    /// Whether `message_stop` has been sent.
    pub fn is_done(&self) -> bool {
        self.done
    }

    fn start(&mut self, out: &mut Vec<Bytes>) {
        if self.started {
            return;
        }
        self.started = true;
        out.push(frame(&StreamEventWire::MessageStart {
            message: MessageResponse {
                id: self.id.clone(),
                kind: "message".into(),
                role: "assistant".into(),
                model: self.model.clone(),
                content: Vec::new(),
                stop_reason: None,
                stop_sequence: None,
                usage: UsageWire {
                    input_tokens: Some(0),
                    output_tokens: 0,
                    ..UsageWire::default()
                },
            },
        }));
    }

    /// Opens a block of `kind` unless one is open.
    fn enter(&mut self, kind: Open, out: &mut Vec<Bytes>, block: impl FnOnce() -> ResponseBlock) {
        if matches!(self.open, Some((open, _)) if open == kind) {
            return;
        }
        self.close(out);
        let at = self.next_index;
        self.next_index = self.next_index.saturating_add(1);
        self.open = Some((kind, at));
        out.push(frame(&StreamEventWire::ContentBlockStart {
            index: at,
            content_block: block(),
        }));
    }

    fn delta(&mut self, delta: BlockDelta, out: &mut Vec<Bytes>) {
        if let Some((_, at)) = self.open {
            out.push(frame(&StreamEventWire::ContentBlockDelta {
                index: at,
                delta,
            }));
        }
    }

    fn close(&mut self, out: &mut Vec<Bytes>) {
        if let Some((_, at)) = self.open.take() {
            out.push(frame(&StreamEventWire::ContentBlockStop { index: at }));
        }
    }

    fn end(&mut self, out: &mut Vec<Bytes>) {
        let (reason, sequence) = stop_reason(self.finish.as_ref().unwrap_or(&FinishReason::Stop));
        let usage = self.usage.as_ref().map(usage::to_wire).unwrap_or_default();
        out.push(frame(&StreamEventWire::MessageDelta {
            delta: MessageDelta {
                stop_reason: Some(reason),
                stop_sequence: sequence,
            },
            usage,
        }));
        out.push(frame(&StreamEventWire::MessageStop));
        self.done = true;
    }
}
