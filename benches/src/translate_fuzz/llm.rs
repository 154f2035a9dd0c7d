//! Random values of the gateway's own model, built directly rather than
//! parsed: what an ingress translator could hand an egress one, and what an
//! egress one could hand an ingress encoder. They go past what any parser
//! lets through (NaN temperatures, unmatched tool results, thinking in system
//! prompts, events in any order), since a renderer must refuse those, not
//! panic.

use fastrand::Rng;
use gateway::llm::{
    CacheControl, ChatRequest, ChatResponse, FinishReason, ImageSource, Message, Part, Reasoning,
    ResponseFormat, Role, StreamEvent, TokenUsage, Tool, ToolChoice,
};

use super::values::{
    any, arguments, base64, chance, count, id, image_url, maybe, media_type, name, pick, schema,
    text, unit,
};

fn float(rng: &mut Rng) -> f64 {
    match rng.u8(..12) {
        0 => f64::NAN,
        1 => f64::INFINITY,
        2 => f64::NEG_INFINITY,
        _ => unit(rng, 2.0),
    }
}

fn cache(rng: &mut Rng) -> Option<CacheControl> {
    chance(rng, 20).then(|| CacheControl {
        ttl: maybe(rng, |r| (pick(r, &["5m", "1h", "", "2d"])).to_owned()),
    })
}

fn image(rng: &mut Rng) -> ImageSource {
    if rng.bool() {
        ImageSource::Url(image_url(rng))
    } else {
        ImageSource::Base64 {
            media_type: media_type(rng).to_owned(),
            data: base64(rng),
        }
    }
}

fn call_arguments(rng: &mut Rng) -> String {
    if chance(rng, 85) {
        serde_json::to_string(&arguments(rng)).unwrap_or_default()
    } else {
        text(rng)
    }
}

fn part(rng: &mut Rng, calls: &[String], depth: u32) -> Part {
    match rng.u8(..10) {
        0 => Part::Image {
            source: image(rng),
            cache: cache(rng),
        },
        1 => Part::ToolCall {
            id: id(rng, "call_"),
            name: name(rng),
            arguments: call_arguments(rng),
        },
        2 if depth > 0 => Part::ToolResult {
            call_id: if calls.is_empty() || chance(rng, 10) {
                id(rng, "call_")
            } else {
                calls[rng.usize(..calls.len())].clone()
            },
            content: (0..rng.usize(..3))
                .map(|_| part(rng, calls, depth - 1))
                .collect(),
            is_error: rng.bool(),
            cache: cache(rng),
        },
        3 => Part::Thinking {
            text: text(rng),
            signature: maybe(rng, base64),
        },
        _ => Part::Text {
            text: text(rng),
            cache: cache(rng),
        },
    }
}

/// A request: mostly shaped like a conversation (calls answered in the next
/// user turn), with anything anywhere now and then.
pub fn request(rng: &mut Rng) -> ChatRequest {
    let mut messages = Vec::new();
    let mut calls: Vec<String> = Vec::new();
    for _ in 0..rng.usize(..6) {
        let role = pick(
            rng,
            &[
                Role::User,
                Role::User,
                Role::Assistant,
                Role::Assistant,
                Role::System,
            ],
        );
        let mut content: Vec<Part> = Vec::new();
        match role {
            Role::Assistant if rng.bool() => {
                calls.clear();
                for _ in 0..rng.usize(1..3) {
                    let call = id(rng, "call_");
                    calls.push(call.clone());
                    content.push(Part::ToolCall {
                        id: call,
                        name: name(rng),
                        arguments: call_arguments(rng),
                    });
                }
            }
            Role::User if !calls.is_empty() && rng.bool() => {
                for call in calls.drain(..) {
                    content.push(Part::ToolResult {
                        call_id: call,
                        content: vec![Part::text(text(rng))],
                        is_error: chance(rng, 10),
                        cache: cache(rng),
                    });
                }
            }
            _ => {}
        }
        for _ in 0..rng.usize(..3) {
            content.push(part(rng, &calls, 2));
        }
        messages.push(Message { role, content });
    }
    let tools: Vec<Tool> = (0..rng.usize(..4))
        .map(|_| Tool {
            name: name(rng),
            description: maybe(rng, text),
            parameters: if chance(rng, 90) {
                schema(rng)
            } else {
                any(rng, 2)
            },
            strict: maybe(rng, Rng::bool),
            cache: cache(rng),
        })
        .collect();
    let tool_choice = maybe(rng, |r| match r.u8(..4) {
        0 => ToolChoice::Auto,
        1 => ToolChoice::None,
        2 => ToolChoice::Required,
        _ => ToolChoice::Tool(tools.first().map_or_else(|| name(r), |t| t.name.clone())),
    });
    ChatRequest {
        model: (pick(
            rng,
            &[
                "gpt-4o",
                "claude-sonnet-4-5",
                "gemini-2.5-pro",
                "gemini-3-pro-preview",
                "",
            ],
        ))
        .to_owned(),
        system: (0..rng.usize(..3)).map(|_| part(rng, &[], 1)).collect(),
        messages,
        max_tokens: maybe(rng, count),
        temperature: maybe(rng, float),
        top_p: maybe(rng, float),
        top_k: maybe(rng, count),
        stop: (0..rng.usize(..3)).map(|_| text(rng)).collect(),
        stream: rng.bool(),
        tools,
        tool_choice,
        parallel_tool_calls: maybe(rng, Rng::bool),
        response_format: maybe(rng, |r| match r.u8(..3) {
            0 => ResponseFormat::Text,
            1 => ResponseFormat::JsonObject,
            _ => ResponseFormat::JsonSchema {
                name: name(r),
                schema: if chance(r, 90) { schema(r) } else { any(r, 2) },
                strict: maybe(r, Rng::bool),
            },
        }),
        reasoning: maybe(rng, |r| {
            if r.bool() {
                Reasoning::Effort(
                    (pick(
                        r,
                        &["minimal", "low", "medium", "high", "xhigh", "none", "?"],
                    ))
                    .to_owned(),
                )
            } else {
                Reasoning::BudgetTokens(count(r))
            }
        }),
        seed: maybe(rng, |r| r.i64(..)),
        presence_penalty: maybe(rng, float),
        frequency_penalty: maybe(rng, float),
        n: maybe(rng, |r| pick(r, &[0, 1, 2, u32::MAX])),
        user: maybe(rng, text),
    }
}

fn usage(rng: &mut Rng) -> TokenUsage {
    TokenUsage {
        prompt_tokens: count(rng),
        completion_tokens: count(rng),
        cached_prompt_tokens: count(rng),
        cache_write_tokens: count(rng),
        reasoning_tokens: count(rng),
    }
}

fn finish(rng: &mut Rng) -> FinishReason {
    match rng.u8(..7) {
        0 => FinishReason::Stop,
        1 => FinishReason::StopSequence(maybe(rng, text)),
        2 => FinishReason::Length,
        3 => FinishReason::ToolCalls,
        4 => FinishReason::ContentFilter,
        5 => FinishReason::Other(text(rng)),
        _ => FinishReason::Other("pause_turn".to_owned()),
    }
}

/// A whole answer.
pub fn response(rng: &mut Rng) -> ChatResponse {
    ChatResponse {
        id: if rng.bool() {
            id(rng, "msg_")
        } else {
            text(rng)
        },
        model: text(rng),
        content: (0..rng.usize(..5)).map(|_| part(rng, &[], 1)).collect(),
        finish: finish(rng),
        usage: maybe(rng, usage),
        created: maybe(rng, |r| r.i64(..)),
    }
}

/// A streamed answer: usually in the order providers send, sometimes events
/// missing, repeated or out of order (a broken upstream).
pub fn stream(rng: &mut Rng) -> Vec<StreamEvent> {
    let mut out = Vec::new();
    if chance(rng, 90) {
        out.push(StreamEvent::Start {
            id: id(rng, "msg_"),
            model: text(rng),
        });
    }
    let mut next_call = 0u32;
    for _ in 0..rng.usize(..10) {
        let event = match rng.u8(..6) {
            0 | 1 => StreamEvent::Text(text(rng)),
            2 => StreamEvent::Thinking {
                text: text(rng),
                signature: maybe(rng, base64),
            },
            3 => {
                let index = if chance(rng, 90) {
                    next_call
                } else {
                    rng.u32(..)
                };
                next_call = next_call.saturating_add(1);
                StreamEvent::ToolCallStart {
                    index,
                    id: id(rng, "call_"),
                    name: name(rng),
                }
            }
            4 => StreamEvent::ToolCallArguments {
                index: if chance(rng, 90) {
                    next_call.saturating_sub(1)
                } else {
                    rng.u32(..)
                },
                arguments: (pick(rng, &["{\"a\":", "1}", "", "{}", "\"x"])).to_owned(),
            },
            _ => StreamEvent::Usage(usage(rng)),
        };
        out.push(event);
    }
    if chance(rng, 90) {
        out.push(StreamEvent::Finish(finish(rng)));
    }
    if rng.bool() {
        out.push(StreamEvent::Usage(usage(rng)));
    }
    if chance(rng, 10) {
        let at = rng.usize(..=out.len());
        out.insert(
            at,
            StreamEvent::Start {
                id: text(rng),
                model: text(rng),
            },
        );
    }
    if chance(rng, 10) {
        rng.shuffle(&mut out);
    }
    out
}
