//! What becomes of each upstream stream event on its way to the client. When
//! both sides speak one format the event passes through as it came, its usage
//! read on the way (for OpenAI, the usage chunk the gateway asked for on the
//! client's behalf is hidden again);
//! otherwise it is read into the gateway's events and written in the client's
//! format. Pure, like the translators it calls: the IO is in `relay`.

use bytes::{Bytes, BytesMut};
use pricing::TokenUsage;

use crate::error::GatewayError;
use crate::formats::codec::{PassWatch, StreamDecoder, StreamEncoder, Undecodable};
use crate::llm::StreamEvent;
use crate::sse::single_data;

pub enum Transcoder {
    Same(PassWatch),
    Translate(Translation),
}

pub struct Translation {
    decoder: StreamDecoder,
    encoder: StreamEncoder,
    usage: Option<TokenUsage>,
    /// Why the last event could not be used, when the provider refused.
    refused: Option<Undecodable>,
}

/// What one upstream event becomes.
#[derive(Debug, Default)]
pub struct Out {
    /// Events for the client.
    pub body: Option<Bytes>,
    /// The events that close the stream, when this event ended it; the bill
    /// goes out just before them.
    pub closing: Option<Bytes>,
}

/// The provider sent an error event or one that could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unreadable;

impl Transcoder {
    pub fn translate(decoder: StreamDecoder, encoder: StreamEncoder) -> Transcoder {
        Transcoder::Translate(Translation {
            decoder,
            encoder,
            usage: None,
            refused: None,
        })
    }

    /// Takes one whole SSE event from the provider.
    pub fn on_event(&mut self, event: Bytes) -> Result<Out, Unreadable> {
        match self {
            Transcoder::Same(watch) => {
                let passed = watch.on_event(event).map_err(|_| Unreadable)?;
                Ok(if passed.last {
                    Out {
                        body: None,
                        closing: passed.event,
                    }
                } else {
                    Out {
                        body: passed.event,
                        closing: None,
                    }
                })
            }
            Transcoder::Translate(translation) => translation.on_event(&event),
        }
    }

    /// The events that end the client's stream with `error`, when its format
    /// needs the stream's state for them (a Responses stream's sequence
    /// numbers, its `response.failed`); `None`: the client format's plain
    /// error event.
    pub fn fail(&mut self, error: &GatewayError) -> Option<Bytes> {
        match self {
            Transcoder::Same(watch) => watch.fail(error),
            Transcoder::Translate(translation) => translation.encoder.fail(error),
        }
    }

    /// The usage the provider reported so far.
    pub fn usage(&self) -> Option<TokenUsage> {
        match self {
            Transcoder::Same(watch) => watch.usage(),
            Transcoder::Translate(translation) => translation.usage,
        }
    }

    /// Why an event was [`Unreadable`], when it was a refusal (a safety block)
    /// rather than garbage: the stream's error for the client, if nothing was
    /// sent yet.
    pub fn refusal(&self) -> Option<&Undecodable> {
        match self {
            Transcoder::Same(_) => None,
            Transcoder::Translate(translation) => translation.refused.as_ref(),
        }
    }

    /// Whether a passed-through stream ended with the provider's own error
    /// event (the client got it as sent).
    pub fn provider_failed(&self) -> bool {
        match self {
            Transcoder::Same(watch) => watch.failed(),
            Transcoder::Translate(_) => false,
        }
    }

    /// Whether the provider's stream reached its proper end.
    pub fn done(&self) -> bool {
        match self {
            Transcoder::Same(watch) => watch.done(),
            Transcoder::Translate(translation) => translation.decoder.done(),
        }
    }
}

impl Translation {
    fn on_event(&mut self, event: &[u8]) -> Result<Out, Unreadable> {
        let Some(data) = single_data(event) else {
            // Comments and keep-alives carry nothing to translate.
            return Ok(Out::default());
        };
        if self.decoder.done() {
            return Ok(Out::default());
        }
        let events = self.decoder.decode(data).map_err(|why| {
            if let Undecodable::Blocked { .. } = why {
                self.refused = Some(why);
            }
            Unreadable
        })?;
        let mut body = BytesMut::new();
        for event in &events {
            if let StreamEvent::Usage(usage) = event {
                self.usage = Some(*usage);
            }
            if let Some(bytes) = self.encoder.encode(event) {
                body.extend_from_slice(&bytes);
            }
        }
        Ok(Out {
            body: (!body.is_empty()).then(|| body.freeze()),
            closing: self.decoder.done().then(|| self.encoder.finish()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::codec::EgressFormat;
    use crate::formats::IngressFormat;

    fn run(transcoder: &mut Transcoder, sse: &str) -> (String, String) {
        let mut body = String::new();
        let mut closing = String::new();
        for event in sse.split_inclusive("\n\n") {
            let out = transcoder
                .on_event(Bytes::copy_from_slice(event.as_bytes()))
                .unwrap();
            if let Some(b) = out.body {
                body.push_str(std::str::from_utf8(&b).unwrap());
            }
            if let Some(c) = out.closing {
                closing.push_str(std::str::from_utf8(&c).unwrap());
            }
        }
        (body, closing)
    }

    const STREAM: &str = concat!(
        "data: {\"id\":\"c\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"}}],\"usage\":null}\n\n",
        ": keep-alive\n\n",
        "data: {\"id\":\"c\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n",
        "data: {\"id\":\"c\",\"model\":\"m\",\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":2}}\n\n",
        "data: [DONE]\n\n",
    );

    #[test]
    fn the_same_format_passes_and_done_closes() {
        let mut same = Transcoder::Same(EgressFormat::OpenAiChat.pass_watch(false));
        let (body, closing) = run(&mut same, STREAM);
        assert!(
            body.contains("\"content\":\"hi\"") && !body.contains("usage"),
            "{body}"
        );
        assert_eq!(closing, "data: [DONE]\n\n");
        assert!(same.done());
        assert_eq!(same.usage().map(|u| u.total()), Some(7));
    }

    #[test]
    fn an_openai_stream_reaches_an_anthropic_client_as_its_event_sequence() {
        let mut translated = Transcoder::translate(
            EgressFormat::OpenAiChat.stream_decoder(&crate::llm::ChatRequest::default()),
            IngressFormat::Anthropic.stream_encoder(9, false, &Default::default()),
        );
        let (body, closing) = run(&mut translated, STREAM);
        let all = format!("{body}{closing}");
        let names: Vec<&str> = all
            .lines()
            .filter_map(|line| line.strip_prefix("event: "))
            .collect();
        assert_eq!(
            names,
            [
                "message_start",
                "content_block_start",
                "content_block_delta",
                "content_block_stop",
                "message_delta",
                "message_stop"
            ],
            "{body}{closing}"
        );
        assert!(body.contains("\"text\":\"hi\""), "{body}");
        assert!(
            format!("{body}{closing}").contains("\"output_tokens\":2"),
            "{body}{closing}"
        );
        assert!(translated.done());
        assert_eq!(translated.usage().map(|u| u.total()), Some(7));
    }

    #[test]
    fn an_anthropic_stream_passes_untouched_and_is_billed() {
        let events = concat!(
            "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"c\",\"content\":[],\"usage\":{\"input_tokens\":5,\"cache_read_input_tokens\":7,\"output_tokens\":1}}}\n\n",
            "event: ping\ndata: {\"type\":\"ping\"}\n\n",
            "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"hi\"}}\n\n",
            "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":3}}\n\n",
            "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
        );
        let mut same = Transcoder::Same(EgressFormat::Anthropic.pass_watch(false));
        let (body, closing) = run(&mut same, events);
        assert_eq!(format!("{body}{closing}"), events);
        assert_eq!(
            closing,
            "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"
        );
        assert!(same.done());
        let usage = same.usage().unwrap();
        assert_eq!(
            (
                usage.prompt_tokens,
                usage.cached_prompt_tokens,
                usage.completion_tokens
            ),
            (12, 7, 3)
        );
        // The provider's error event closes the stream as it was sent.
        let error: &[u8] = b"event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"o\"}}\n\n";
        let mut failed = Transcoder::Same(EgressFormat::Anthropic.pass_watch(false));
        assert!(!failed.provider_failed());
        let out = failed.on_event(Bytes::from_static(error)).unwrap();
        assert_eq!(out.body, None);
        assert_eq!(out.closing.as_deref(), Some(error));
        assert!(failed.done() && failed.provider_failed());
        let mut broken = Transcoder::Same(EgressFormat::Anthropic.pass_watch(false));
        let garbage = broken.on_event(Bytes::from_static(b"data: {\"choices\":[]}\n\n"));
        assert_eq!(garbage.unwrap_err(), Unreadable);
    }

    #[test]
    fn a_translated_stream_is_rewritten_and_closed_by_the_encoder() {
        let mut translated = Transcoder::translate(
            EgressFormat::OpenAiChat.stream_decoder(&crate::llm::ChatRequest::default()),
            IngressFormat::OpenAiChat.stream_encoder(9, true, &Default::default()),
        );
        let (body, closing) = run(&mut translated, STREAM);
        assert!(body.contains("\"role\":\"assistant\""), "{body}");
        assert!(body.contains("\"content\":\"hi\""), "{body}");
        assert!(body.contains("\"created\":9"), "{body}");
        assert!(closing.contains("\"prompt_tokens\":5"), "{closing}");
        assert!(closing.ends_with("data: [DONE]\n\n"));
        assert!(translated.done());
        assert_eq!(translated.usage().map(|u| u.total()), Some(7));
        let error = translated.on_event(Bytes::from_static(
            b"data: {\"error\":{\"message\":\"x\"}}\n\n",
        ));
        assert!(error.is_ok(), "events after the end are ignored");
        let mut fresh = Transcoder::translate(
            EgressFormat::OpenAiChat.stream_decoder(&crate::llm::ChatRequest::default()),
            IngressFormat::OpenAiChat.stream_encoder(9, true, &Default::default()),
        );
        assert_eq!(
            fresh
                .on_event(Bytes::from_static(
                    b"data: {\"error\":{\"message\":\"x\"}}\n\n"
                ))
                .unwrap_err(),
            Unreadable
        );
    }
}
