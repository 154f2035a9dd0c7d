//! What the mock says, before any wire format: words of text cut by the request's
//! output limit and stop sequences, or tool calls, and the token counts each is
//! billed as. Pure, so every format answers the same thing the same way, streamed
//! or not. The OpenAI chat mock keeps its own older rules (`chat.rs`).

use super::Directives;

/// The words of a text answer, repeated as needed.
pub(crate) const WORDS: [&str; 8] = [
    "Hello",
    " from",
    " the",
    " mock",
    " provider",
    ",",
    " friend",
    ".",
];

/// The arguments of every tool call, whatever the tool (as the OpenAI mock).
pub(crate) const TOOL_ARGUMENTS: &str = r#"{"location":"Paris, France","unit":"celsius"}"#;

/// Streamed tool arguments come in pieces of this many bytes (each one token).
const ARGUMENT_PIECE: usize = 7;

/// The text before tool calls under `text_first=1`.
const PREAMBLE: [&str; 4] = ["Let", " me", " check", "."];

/// The visible (summarized) thinking: its billed size is the directive's.
pub(crate) const THINKING: [&str; 4] = ["Thinking", " about", " the", " request."];

/// Thinking tokens billed when the request turns thinking on without a directive.
pub(crate) const DEFAULT_THINKING_TOKENS: u64 = 24;

/// Which tools the request lets the model call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ToolChoice {
    /// Call one when it makes sense: here, unless the last turn brought results.
    Auto,
    /// Must call one of them.
    Any,
    /// Must call this one.
    Named(String),
    /// Must not call any.
    None,
}

/// What ended the answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Stop {
    EndTurn,
    MaxTokens,
    /// The stop sequence met (the text ends just before it).
    Sequence(String),
    ToolUse,
}

/// One tool call of the answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ToolCall {
    pub name: String,
}

impl ToolCall {
    /// The arguments in the pieces a stream sends them in.
    pub fn argument_pieces(&self) -> Vec<&'static str> {
        let mut pieces = Vec::new();
        let mut rest = TOOL_ARGUMENTS;
        while !rest.is_empty() {
            let mut at = rest.len().min(ARGUMENT_PIECE);
            while !rest.is_char_boundary(at) {
                at += 1;
            }
            let (piece, tail) = rest.split_at(at);
            pieces.push(piece);
            rest = tail;
        }
        pieces
    }
}

/// The whole answer, format-neutral.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Plan {
    /// Thinking tokens billed (0: no thinking shown).
    pub thinking_tokens: u64,
    /// Text pieces, each one token (a stream sends one per delta).
    pub text: Vec<String>,
    pub tool_calls: Vec<ToolCall>,
    pub stop: Stop,
}

impl Plan {
    /// Output tokens billed: text pieces, argument pieces and thinking.
    pub fn output_tokens(&self) -> u64 {
        let calls: usize = self
            .tool_calls
            .iter()
            .map(|call| call.argument_pieces().len())
            .sum();
        (self.text.len() + calls) as u64 + self.thinking_tokens
    }

    /// The text pieces joined.
    pub fn full_text(&self) -> String {
        self.text.concat()
    }
}

/// What the request asks, as far as the answer depends on it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Ask<'a> {
    /// Names of the tools the request declares, in order.
    pub tools: Vec<String>,
    pub tool_choice: Option<ToolChoice>,
    /// Whether the last user turn brings tool results (a model answers them).
    pub answers_tool_results: bool,
    pub max_tokens: Option<u64>,
    pub stop_sequences: &'a [String],
    /// Whether the request turns thinking on.
    pub thinking: bool,
    /// Whether the request forbids parallel tool calls (at most one call).
    pub single_call: bool,
}

/// The answer to `ask` under `directives`.
pub(crate) fn plan(ask: &Ask<'_>, directives: &Directives) -> Plan {
    let thinking_tokens = match directives.thinking {
        Some(tokens) => tokens,
        None if ask.thinking => DEFAULT_THINKING_TOKENS,
        None => 0,
    };
    if ask.max_tokens == Some(0) {
        return Plan {
            thinking_tokens: 0,
            text: Vec::new(),
            tool_calls: Vec::new(),
            stop: Stop::MaxTokens,
        };
    }
    let callable: Vec<&String> = match ask.tool_choice.as_ref().unwrap_or(&ToolChoice::Auto) {
        ToolChoice::None => Vec::new(),
        ToolChoice::Named(name) => ask.tools.iter().filter(|t| *t == name).collect(),
        ToolChoice::Any => ask.tools.iter().collect(),
        ToolChoice::Auto if ask.answers_tool_results => Vec::new(),
        ToolChoice::Auto => ask.tools.iter().collect(),
    };
    let wanted =
        directives
            .tool_calls
            .unwrap_or(1)
            .min(if ask.single_call { 1 } else { usize::MAX });
    if !callable.is_empty() && wanted > 0 {
        let tool_calls = (0..wanted)
            .map(|i| ToolCall {
                name: callable[i % callable.len()].clone(),
            })
            .collect();
        let text = if directives.text_first {
            PREAMBLE.iter().map(|w| (*w).to_owned()).collect()
        } else {
            Vec::new()
        };
        return Plan {
            thinking_tokens,
            text,
            tool_calls,
            stop: Stop::ToolUse,
        };
    }
    let count = directives.words.unwrap_or(WORDS.len());
    let (text, stop) = cut_text(
        (0..count).map(|i| WORDS[i % WORDS.len()]),
        ask.max_tokens,
        ask.stop_sequences,
    );
    Plan {
        thinking_tokens,
        text,
        tool_calls: Vec::new(),
        stop,
    }
}

/// The pieces up to the first stop sequence and at most `max_tokens` of them.
fn cut_text<'w>(
    words: impl Iterator<Item = &'w str>,
    max_tokens: Option<u64>,
    stop_sequences: &[String],
) -> (Vec<String>, Stop) {
    let mut pieces: Vec<String> = Vec::new();
    let mut text = String::new();
    let limit = max_tokens.map_or(usize::MAX, |m| usize::try_from(m).unwrap_or(usize::MAX));
    let mut words = words.peekable();
    while let Some(word) = words.next() {
        let before = text.len();
        text.push_str(word);
        let found = stop_sequences
            .iter()
            .filter(|s| !s.is_empty())
            .filter_map(|s| text.find(s.as_str()).map(|at| (at, s)))
            .min_by_key(|(at, _)| *at);
        if let Some((at, sequence)) = found {
            // Keep what comes before the sequence, in the pieces already sent
            // and in the part of this word before it.
            if at < before {
                truncate_pieces(&mut pieces, at);
            } else if at > before {
                pieces.push(text[before..at].to_owned());
            }
            return (pieces, Stop::Sequence(sequence.clone()));
        }
        pieces.push(word.to_owned());
        if pieces.len() >= limit && words.peek().is_some() {
            return (pieces, Stop::MaxTokens);
        }
    }
    (pieces, Stop::EndTurn)
}

/// Cuts `pieces` so their text is `len` bytes long.
fn truncate_pieces(pieces: &mut Vec<String>, len: usize) {
    let mut total = 0;
    let mut keep = Vec::new();
    for piece in pieces.drain(..) {
        if total >= len {
            break;
        }
        let room = len - total;
        if piece.len() <= room {
            total += piece.len();
            keep.push(piece);
        } else {
            let mut at = room;
            while !piece.is_char_boundary(at) {
                at -= 1;
            }
            total += at;
            keep.push(piece[..at].to_owned());
        }
    }
    keep.retain(|p| !p.is_empty());
    *pieces = keep;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ask<'a>(stops: &'a [String]) -> Ask<'a> {
        Ask {
            stop_sequences: stops,
            ..Ask::default()
        }
    }

    #[test]
    fn text_is_cut_by_max_tokens_and_stop_sequences() {
        let none: Vec<String> = Vec::new();
        let d = Directives::default();
        let plain = plan(&ask(&none), &d);
        assert_eq!(plain.full_text(), "Hello from the mock provider, friend.");
        assert_eq!(
            (plain.stop.clone(), plain.output_tokens()),
            (Stop::EndTurn, 8)
        );

        let short = plan(
            &Ask {
                max_tokens: Some(3),
                ..ask(&none)
            },
            &d,
        );
        assert_eq!(
            (short.full_text().as_str(), short.stop),
            ("Hello from the", Stop::MaxTokens)
        );
        // Exactly as many words as allowed is a natural end.
        let exact = plan(
            &Ask {
                max_tokens: Some(8),
                ..ask(&none)
            },
            &d,
        );
        assert_eq!(exact.stop, Stop::EndTurn);

        let cases = [
            ("mock", "Hello from the ", 4),
            ("ello", "H", 1),
            ("m the", "Hello fro", 2),
            ("friend", "Hello from the mock provider, ", 7),
            ("absent", "Hello from the mock provider, friend.", 8),
        ];
        for (sequence, text, pieces) in cases {
            let stops = vec!["zzz".to_owned(), sequence.to_owned()];
            let p = plan(&ask(&stops), &d);
            assert_eq!(p.full_text(), text, "{sequence}");
            assert_eq!(p.text.len(), pieces, "{sequence}");
            if sequence != "absent" {
                assert_eq!(p.stop, Stop::Sequence(sequence.to_owned()));
            }
        }
        let nothing = plan(
            &Ask {
                max_tokens: Some(0),
                ..ask(&none)
            },
            &d,
        );
        assert_eq!((nothing.text.len(), nothing.stop), (0, Stop::MaxTokens));
    }

    #[test]
    fn tools_are_called_as_the_choice_allows() {
        let none: Vec<String> = Vec::new();
        let tools = vec!["get_weather".to_owned(), "get_time".to_owned()];
        let with = |choice: Option<ToolChoice>, answers: bool, directives: &str| {
            plan(
                &Ask {
                    tools: tools.clone(),
                    tool_choice: choice,
                    answers_tool_results: answers,
                    ..ask(&none)
                },
                &Directives::parse(directives),
            )
        };
        let names = |p: &Plan| {
            p.tool_calls
                .iter()
                .map(|c| c.name.clone())
                .collect::<Vec<_>>()
        };
        let auto = with(None, false, "m");
        assert_eq!(
            (names(&auto), auto.stop.clone()),
            (vec!["get_weather".to_owned()], Stop::ToolUse)
        );
        assert!(auto.text.is_empty());
        assert_eq!(auto.output_tokens(), 7);
        assert!(with(None, true, "m").tool_calls.is_empty());
        assert_eq!(
            names(&with(Some(ToolChoice::Any), true, "m")),
            vec!["get_weather"]
        );
        assert_eq!(
            names(&with(
                Some(ToolChoice::Named("get_time".into())),
                false,
                "m"
            )),
            vec!["get_time"]
        );
        assert!(with(Some(ToolChoice::None), false, "m")
            .tool_calls
            .is_empty());
        assert!(with(None, false, "m+tool_calls=0").tool_calls.is_empty());
        let three = with(None, false, "m+tool_calls=3+text_first=1");
        assert_eq!(
            names(&three),
            vec!["get_weather", "get_time", "get_weather"]
        );
        assert_eq!(three.full_text(), "Let me check.");
        assert_eq!(three.output_tokens(), 4 + 3 * 7);
        let single = plan(
            &Ask {
                tools: tools.clone(),
                single_call: true,
                ..ask(&none)
            },
            &Directives::parse("m+tool_calls=3"),
        );
        assert_eq!(names(&single), vec!["get_weather"]);
    }

    #[test]
    fn argument_pieces_rebuild_the_arguments() {
        let call = ToolCall { name: "t".into() };
        let pieces = call.argument_pieces();
        assert_eq!(pieces.concat(), TOOL_ARGUMENTS);
        assert!(pieces.iter().all(|p| p.len() <= 7));
    }

    #[test]
    fn thinking_is_billed_as_asked() {
        let none: Vec<String> = Vec::new();
        let on = Ask {
            thinking: true,
            ..ask(&none)
        };
        assert_eq!(
            plan(&on, &Directives::default()).thinking_tokens,
            DEFAULT_THINKING_TOKENS
        );
        let p = plan(&ask(&none), &Directives::parse("m+thinking=500"));
        assert_eq!((p.thinking_tokens, p.output_tokens()), (500, 508));
    }
}
