//! llm stream events into Responses events. The encoder keeps what the typed
//! events need and the llm events do not say: the output item each delta
//! belongs to, the text so far (the `.done` events and the final Response
//! repeat it whole) and the sequence number.
//!
//! Order, as OpenAI sends it: `response.created`, `response.in_progress`; per
//! output item `response.output_item.added`, its content
//! (`response.content_part.added`, deltas, `.done`, `response.content_part.done`,
//! or function-call argument deltas and `.done`), `response.output_item.done`;
//! then `response.completed` or `response.incomplete` (`response.failed` when
//! the answer broke off). A message or reasoning
//! item closes when another item begins; function calls close at the end
//! (providers may interleave the argument deltas of parallel calls).

use bytes::Bytes;

use crate::llm::{FinishReason, StreamEvent, TokenUsage};

use super::super::error::{failure_code, ErrorObject};
use super::super::response::{
    envelope, item_base, item_status, message, output_text, reasoning, response_id, status, usage,
};
use super::super::wire::events::{Event, EventBody};
use super::super::wire::request::CreateResponse;
use super::super::wire::response::{OutputContent, OutputItem, ResponseError, ResponseObject};

/// One output item as it grows.
#[derive(Debug, Clone)]
enum Item {
    Message {
        id: String,
        text: String,
    },
    Reasoning {
        id: String,
        text: String,
        signature: Option<String>,
    },
    Call {
        id: String,
        call_id: String,
        name: String,
        arguments: String,
        index: u32,
    },
}

/// Turns one answer's llm events into Responses events.
#[derive(Debug, Clone)]
pub struct Encoder {
    settings: CreateResponse,
    created_at: i64,
    id: String,
    model: String,
    next_sequence: u64,
    started: bool,
    ended: bool,
    items: Vec<Item>,
    /// The status `items[i]` closed with; `None` while it is open.
    closed: Vec<Option<String>>,
    finish: Option<FinishReason>,
    usage: Option<TokenUsage>,
}

impl Encoder {
    /// An encoder for the answer to a request with `settings`; `id` and
    /// `model` stand until a [`StreamEvent::Start`] names others.
    pub fn new(settings: CreateResponse, created_at: i64, id: &str, model: &str) -> Encoder {
        Encoder {
            settings,
            created_at,
            id: response_id(id),
            model: model.to_owned(),
            next_sequence: 0,
            started: false,
            ended: false,
            items: Vec::new(),
            closed: Vec::new(),
            finish: None,
            usage: None,
        }
    }

    /// The Responses events for `event` (none once the stream ended).
    pub fn push(&mut self, event: &StreamEvent) -> Vec<Event> {
        let mut out = Vec::new();
        if self.ended {
            return out;
        }
        if let StreamEvent::Start { id, model } = event {
            if !self.started {
                if !id.is_empty() {
                    self.id = response_id(id);
                }
                if !model.is_empty() {
                    self.model = model.clone();
                }
            }
        }
        self.start(&mut out);
        match event {
            StreamEvent::Start { .. } => {}
            StreamEvent::Text(delta) => {
                let at = match self.open_item(|i| matches!(i, Item::Message { .. })) {
                    Some(at) => at,
                    None => {
                        self.close_all_but_calls(&mut out);
                        let id = format!("msg_{}_{}", item_base(&self.id), self.items.len());
                        let at = self.add(
                            Item::Message {
                                id: id.clone(),
                                text: String::new(),
                            },
                            &mut out,
                        );
                        self.emit(
                            &mut out,
                            EventBody::ContentPartAdded {
                                item_id: id,
                                output_index: index(at),
                                content_index: 0,
                                part: output_text(""),
                            },
                        );
                        at
                    }
                };
                if let Some(Item::Message { id, text }) = self.items.get_mut(at) {
                    text.push_str(delta);
                    let item_id = id.clone();
                    self.emit(
                        &mut out,
                        EventBody::OutputTextDelta {
                            item_id,
                            output_index: index(at),
                            content_index: 0,
                            delta: delta.clone(),
                            logprobs: Vec::new(),
                        },
                    );
                }
            }
            StreamEvent::Thinking {
                text: delta,
                signature: sig,
            } => {
                let at = match self.open_item(|i| matches!(i, Item::Reasoning { .. })) {
                    Some(at) => at,
                    None => {
                        self.close_all_but_calls(&mut out);
                        let id = format!("rs_{}_{}", item_base(&self.id), self.items.len());
                        let at = self.add(
                            Item::Reasoning {
                                id: id.clone(),
                                text: String::new(),
                                signature: None,
                            },
                            &mut out,
                        );
                        self.emit(
                            &mut out,
                            EventBody::ContentPartAdded {
                                item_id: id,
                                output_index: index(at),
                                content_index: 0,
                                part: OutputContent::ReasoningText {
                                    text: String::new(),
                                },
                            },
                        );
                        at
                    }
                };
                if let Some(Item::Reasoning {
                    id,
                    text,
                    signature,
                }) = self.items.get_mut(at)
                {
                    text.push_str(delta);
                    if let Some(sig) = sig {
                        *signature = Some(sig.clone());
                    }
                    let item_id = id.clone();
                    if !delta.is_empty() {
                        self.emit(
                            &mut out,
                            EventBody::ReasoningTextDelta {
                                item_id,
                                output_index: index(at),
                                content_index: 0,
                                delta: delta.clone(),
                            },
                        );
                    }
                }
            }
            StreamEvent::ToolCallStart {
                index: call,
                id,
                name,
            } => {
                self.close_all_but_calls(&mut out);
                let item_id = format!("fc_{}_{}", item_base(&self.id), self.items.len());
                self.add(
                    Item::Call {
                        id: item_id,
                        call_id: id.clone(),
                        name: name.clone(),
                        arguments: String::new(),
                        index: *call,
                    },
                    &mut out,
                );
            }
            StreamEvent::ToolCallArguments {
                index: call,
                arguments: delta,
            } => {
                let found = self
                    .items
                    .iter()
                    .rposition(|item| matches!(item, Item::Call { index, .. } if index == call));
                if let Some(at) = found {
                    if let Some(Item::Call { id, arguments, .. }) = self.items.get_mut(at) {
                        arguments.push_str(delta);
                        let item_id = id.clone();
                        self.emit(
                            &mut out,
                            EventBody::FunctionCallArgumentsDelta {
                                item_id,
                                output_index: index(at),
                                delta: delta.clone(),
                            },
                        );
                    }
                }
            }
            StreamEvent::Finish(reason) => self.finish = Some(reason.clone()),
            StreamEvent::Usage(counts) => self.usage = Some(*counts),
        }
        out
    }

    /// The events that end a finished answer: every open item closed, then
    /// `response.completed` (or `response.incomplete`) with the whole Response.
    pub fn finish(&mut self) -> Vec<Event> {
        let mut out = Vec::new();
        if self.ended {
            return out;
        }
        self.start(&mut out);
        for at in 0..self.items.len() {
            self.close(at, &mut out);
        }
        let (state, incomplete) = status(self.finish.as_ref().unwrap_or(&FinishReason::Stop));
        let mut response = self.response(state);
        response.incomplete_details = incomplete;
        response.usage = self.usage.as_ref().map(usage);
        let body = if state == "incomplete" {
            EventBody::Incomplete {
                response: Box::new(response),
            }
        } else {
            EventBody::Completed {
                response: Box::new(response),
            }
        };
        self.emit(&mut out, body);
        self.ended = true;
        out
    }

    /// The events that end a failed answer: `response.failed` with what was
    /// produced and the error. A failure before anything was sent still
    /// begins the Response first: the `openai` SDK's stream helper
    /// (`responses.stream`) raises a bare `RuntimeError` on any event before
    /// `response.created`, while it hands `response.failed` to the caller.
    pub fn fail(&mut self, error: &ErrorObject) -> Vec<Event> {
        let mut out = Vec::new();
        if self.ended {
            return out;
        }
        self.ended = true;
        self.start(&mut out);
        let mut response = self.response("failed");
        response.error = Some(ResponseError {
            code: failure_code(error).to_owned(),
            message: error.message.clone(),
        });
        response.usage = self.usage.as_ref().map(usage);
        self.emit(
            &mut out,
            EventBody::Failed {
                response: Box::new(response),
            },
        );
        out
    }

    fn start(&mut self, out: &mut Vec<Event>) {
        if self.started {
            return;
        }
        self.started = true;
        let response = self.response("in_progress");
        self.emit(
            out,
            EventBody::Created {
                response: Box::new(response.clone()),
            },
        );
        self.emit(
            out,
            EventBody::InProgress {
                response: Box::new(response),
            },
        );
    }

    fn emit(&mut self, out: &mut Vec<Event>, body: EventBody) {
        out.push(Event {
            body,
            sequence_number: self.next_sequence,
        });
        self.next_sequence += 1;
    }

    fn open_item(&self, kind: impl Fn(&Item) -> bool) -> Option<usize> {
        let last = self.items.len().checked_sub(1)?;
        let item = self.items.get(last)?;
        (kind(item) && self.is_open(last)).then_some(last)
    }

    fn add(&mut self, item: Item, out: &mut Vec<Event>) -> usize {
        let at = self.items.len();
        let added = self.item(&item, None);
        self.items.push(item);
        self.closed.push(None);
        self.emit(
            out,
            EventBody::OutputItemAdded {
                output_index: index(at),
                item: added,
            },
        );
        at
    }

    fn close_all_but_calls(&mut self, out: &mut Vec<Event>) {
        for at in 0..self.items.len() {
            if !matches!(self.items.get(at), Some(Item::Call { .. })) {
                self.close(at, out);
            }
        }
    }

    fn close(&mut self, at: usize, out: &mut Vec<Event>) {
        if !self.is_open(at) {
            return;
        }
        let closed_as = item_status(&self.final_state());
        if let Some(closed) = self.closed.get_mut(at) {
            *closed = Some(closed_as.clone());
        }
        let Some(item) = self.items.get(at).cloned() else {
            return;
        };
        let output_index = index(at);
        match &item {
            Item::Message { id, text } => {
                self.emit(
                    out,
                    EventBody::OutputTextDone {
                        item_id: id.clone(),
                        output_index,
                        content_index: 0,
                        text: text.clone(),
                        logprobs: Vec::new(),
                    },
                );
                self.emit(
                    out,
                    EventBody::ContentPartDone {
                        item_id: id.clone(),
                        output_index,
                        content_index: 0,
                        part: output_text(text),
                    },
                );
            }
            Item::Reasoning { id, text, .. } => {
                self.emit(
                    out,
                    EventBody::ReasoningTextDone {
                        item_id: id.clone(),
                        output_index,
                        content_index: 0,
                        text: text.clone(),
                    },
                );
                self.emit(
                    out,
                    EventBody::ContentPartDone {
                        item_id: id.clone(),
                        output_index,
                        content_index: 0,
                        part: OutputContent::ReasoningText { text: text.clone() },
                    },
                );
            }
            Item::Call {
                id,
                name,
                arguments,
                ..
            } => {
                self.emit(
                    out,
                    EventBody::FunctionCallArgumentsDone {
                        item_id: id.clone(),
                        output_index,
                        name: name.clone(),
                        arguments: arguments.clone(),
                    },
                );
            }
        }
        let done = self.item(&item, Some(&closed_as));
        self.emit(
            out,
            EventBody::OutputItemDone {
                output_index,
                item: done,
            },
        );
    }

    fn is_open(&self, at: usize) -> bool {
        matches!(self.closed.get(at), Some(None))
    }

    /// The item as the wire shows it: `in_progress` and empty while open
    /// (`status` is `None`), whole once closed with `status`.
    fn item(&self, item: &Item, status: Option<&str>) -> OutputItem {
        let open = status.is_none();
        let status = status.unwrap_or("in_progress").to_owned();
        match item {
            Item::Message { id, text } => {
                let content = if open {
                    Vec::new()
                } else {
                    vec![output_text(text)]
                };
                message(id.clone(), status, content)
            }
            Item::Reasoning {
                id,
                text,
                signature,
            } => {
                let text = if open { "" } else { text.as_str() };
                reasoning(id.clone(), text, signature.clone())
            }
            Item::Call {
                id,
                call_id,
                name,
                arguments,
                ..
            } => OutputItem::FunctionCall {
                id: id.clone(),
                call_id: call_id.clone(),
                name: name.clone(),
                arguments: if open {
                    String::new()
                } else {
                    arguments.clone()
                },
                status,
            },
        }
    }

    /// The Response's status if it ended now.
    fn final_state(&self) -> String {
        status(self.finish.as_ref().unwrap_or(&FinishReason::Stop))
            .0
            .to_owned()
    }

    /// The Response so far, in `state`.
    fn response(&self, state: &str) -> ResponseObject {
        let output = if state == "in_progress" {
            Vec::new()
        } else {
            let open_as = item_status(state);
            self.items
                .iter()
                .zip(&self.closed)
                .map(|(item, closed)| self.item(item, Some(closed.as_deref().unwrap_or(&open_as))))
                .collect()
        };
        envelope(
            &self.settings,
            self.id.clone(),
            &self.model,
            self.created_at,
            state,
            output,
            None,
        )
    }
}

fn index(at: usize) -> u32 {
    u32::try_from(at).unwrap_or(u32::MAX)
}

/// One event as an SSE frame: `event: <type>` and `data: <json>`.
pub fn frame(event: &Event) -> Bytes {
    let data = serde_json::to_string(event).unwrap_or_else(|_| "{}".to_owned());
    Bytes::from(format!("event: {}\ndata: {data}\n\n", event.body.name()))
}

/// Several events as SSE frames, in one buffer.
pub fn frames(events: &[Event]) -> Bytes {
    let mut buffer = Vec::new();
    for event in events {
        buffer.extend_from_slice(&frame(event));
    }
    Bytes::from(buffer)
}
