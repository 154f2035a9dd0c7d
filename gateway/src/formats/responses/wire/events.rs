//! The typed stream events of `POST /v1/responses` with `stream: true`. Each is
//! sent as `event: <type>` plus `data: <json>`, the JSON carrying `type` and a
//! `sequence_number` counted from 0 in the stream. Only the events the gateway
//! emits or reads are typed; the rest decode as `Other`.

use serde::{Deserialize, Serialize};

use super::response::{OutputContent, OutputItem, ResponseObject};

/// One event: its body and its place in the stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    #[serde(flatten)]
    pub body: EventBody,
    pub sequence_number: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum EventBody {
    #[serde(rename = "response.created")]
    Created { response: Box<ResponseObject> },
    #[serde(rename = "response.in_progress")]
    InProgress { response: Box<ResponseObject> },
    #[serde(rename = "response.completed")]
    Completed { response: Box<ResponseObject> },
    #[serde(rename = "response.incomplete")]
    Incomplete { response: Box<ResponseObject> },
    #[serde(rename = "response.failed")]
    Failed { response: Box<ResponseObject> },
    #[serde(rename = "response.output_item.added")]
    OutputItemAdded { output_index: u32, item: OutputItem },
    #[serde(rename = "response.output_item.done")]
    OutputItemDone { output_index: u32, item: OutputItem },
    #[serde(rename = "response.content_part.added")]
    ContentPartAdded {
        item_id: String,
        output_index: u32,
        content_index: u32,
        part: OutputContent,
    },
    #[serde(rename = "response.content_part.done")]
    ContentPartDone {
        item_id: String,
        output_index: u32,
        content_index: u32,
        part: OutputContent,
    },
    #[serde(rename = "response.output_text.delta")]
    OutputTextDelta {
        item_id: String,
        output_index: u32,
        content_index: u32,
        delta: String,
        #[serde(default)]
        logprobs: Vec<serde_json::Value>,
    },
    #[serde(rename = "response.output_text.done")]
    OutputTextDone {
        item_id: String,
        output_index: u32,
        content_index: u32,
        text: String,
        #[serde(default)]
        logprobs: Vec<serde_json::Value>,
    },
    #[serde(rename = "response.reasoning_text.delta")]
    ReasoningTextDelta {
        item_id: String,
        output_index: u32,
        content_index: u32,
        delta: String,
    },
    #[serde(rename = "response.reasoning_text.done")]
    ReasoningTextDone {
        item_id: String,
        output_index: u32,
        content_index: u32,
        text: String,
    },
    #[serde(rename = "response.reasoning_summary_text.delta")]
    ReasoningSummaryTextDelta {
        item_id: String,
        output_index: u32,
        summary_index: u32,
        delta: String,
    },
    #[serde(rename = "response.function_call_arguments.delta")]
    FunctionCallArgumentsDelta {
        item_id: String,
        output_index: u32,
        delta: String,
    },
    #[serde(rename = "response.function_call_arguments.done")]
    FunctionCallArgumentsDone {
        item_id: String,
        output_index: u32,
        name: String,
        arguments: String,
    },
    /// An error that ends the stream (`code` and `param` may be null).
    #[serde(rename = "error")]
    Error {
        code: Option<String>,
        message: String,
        param: Option<String>,
    },
    #[serde(other)]
    Other,
}

impl EventBody {
    /// The `type` field, which is also the SSE `event:` name.
    pub fn name(&self) -> &'static str {
        match self {
            EventBody::Created { .. } => "response.created",
            EventBody::InProgress { .. } => "response.in_progress",
            EventBody::Completed { .. } => "response.completed",
            EventBody::Incomplete { .. } => "response.incomplete",
            EventBody::Failed { .. } => "response.failed",
            EventBody::OutputItemAdded { .. } => "response.output_item.added",
            EventBody::OutputItemDone { .. } => "response.output_item.done",
            EventBody::ContentPartAdded { .. } => "response.content_part.added",
            EventBody::ContentPartDone { .. } => "response.content_part.done",
            EventBody::OutputTextDelta { .. } => "response.output_text.delta",
            EventBody::OutputTextDone { .. } => "response.output_text.done",
            EventBody::ReasoningTextDelta { .. } => "response.reasoning_text.delta",
            EventBody::ReasoningTextDone { .. } => "response.reasoning_text.done",
            EventBody::ReasoningSummaryTextDelta { .. } => "response.reasoning_summary_text.delta",
            EventBody::FunctionCallArgumentsDelta { .. } => {
                "response.function_call_arguments.delta"
            }
            EventBody::FunctionCallArgumentsDone { .. } => "response.function_call_arguments.done",
            EventBody::Error { .. } => "error",
            EventBody::Other => "other",
        }
    }
}
