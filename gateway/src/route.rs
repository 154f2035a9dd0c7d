//! Every kind of request the gateway serves, named once. `app.rs` tags each route
//! with its [`Route`] when it builds the router (as a request extension, outside
//! every other per-route layer), and the layers and handlers read the tag instead
//! of looking at the path again: metrics labels, the usage event's endpoint,
//! which routes stay open under overload, and the wire format errors are
//! written in.
//!
//! The inference routes that other formats will serve are declared here already,
//! so giving one a handler is one line in `app.rs`.

use crate::formats::IngressFormat;

/// `Other` is the last variant; a new route goes before it.
const _: () = assert!(Route::Other as usize + 1 == Route::COUNT);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Route {
    ChatCompletions,
    Embeddings,
    Models,
    /// Anthropic's `POST /v1/messages`.
    Messages,
    /// Anthropic's `POST /v1/messages/count_tokens`.
    CountTokens,
    /// OpenAI's `POST /v1/responses`.
    Responses,
    /// OpenAI's legacy `POST /v1/completions`.
    Completions,
    Healthz,
    Readyz,
    Metrics,
    /// Everything else: the analytics API, the ROI calculator, the dashboard and
    /// unknown paths.
    Other,
}

impl Route {
    /// How many routes there are: the size of per-route tables.
    pub const COUNT: usize = 11;

    /// The route's position in a per-route table, below [`Route::COUNT`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// The fixed `route` label of metrics and logs, and the usage event's endpoint.
    pub fn label(self) -> &'static str {
        match self {
            Route::ChatCompletions => "chat_completions",
            Route::Embeddings => "embeddings",
            Route::Models => "models",
            Route::Messages => "messages",
            Route::CountTokens => "count_tokens",
            Route::Responses => "responses",
            Route::Completions => "completions",
            Route::Healthz => "healthz",
            Route::Readyz => "readyz",
            Route::Metrics => "metrics",
            Route::Other => "other",
        }
    }

    /// Served even at the concurrency limit: probes and scrapes must see an
    /// overloaded gateway, not time out on it.
    pub fn always_served(self) -> bool {
        matches!(self, Route::Healthz | Route::Readyz | Route::Metrics)
    }

    /// Whether a request leaves a usage event (API calls that reach routing do;
    /// listings, probes and scrapes do not). `count_tokens` does not either: it
    /// is answered by the gateway's own tokenizer, reaches no provider and
    /// costs nothing, and Claude Code calls it around every turn, so its events
    /// would double a tenant's request counts and dilute their latencies with
    /// requests that are not inference. Its metrics are still counted by route.
    pub fn records_usage(self) -> bool {
        matches!(
            self,
            Route::ChatCompletions
                | Route::Embeddings
                | Route::Messages
                | Route::Responses
                | Route::Completions
        )
    }

    /// The wire format the route's clients speak, errors included.
    pub fn ingress(self) -> IngressFormat {
        match self {
            Route::Messages | Route::CountTokens => IngressFormat::Anthropic,
            Route::Responses => IngressFormat::Responses,
            _ => IngressFormat::OpenAiChat,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [Route; 11] = [
        Route::ChatCompletions,
        Route::Embeddings,
        Route::Models,
        Route::Messages,
        Route::CountTokens,
        Route::Responses,
        Route::Completions,
        Route::Healthz,
        Route::Readyz,
        Route::Metrics,
        Route::Other,
    ];

    #[test]
    fn labels_are_distinct() {
        let labels: std::collections::HashSet<_> = ALL.iter().map(|r| r.label()).collect();
        assert_eq!(labels.len(), ALL.len());
    }

    #[test]
    fn only_probes_and_scrapes_pass_the_concurrency_limit() {
        let open: Vec<_> = ALL.into_iter().filter(|r| r.always_served()).collect();
        assert_eq!(open, [Route::Healthz, Route::Readyz, Route::Metrics]);
    }

    #[test]
    fn anthropic_routes_answer_in_anthropic_format() {
        assert_eq!(Route::Messages.ingress(), IngressFormat::Anthropic);
        assert_eq!(Route::CountTokens.ingress(), IngressFormat::Anthropic);
        assert_eq!(Route::Responses.ingress(), IngressFormat::Responses);
        assert_eq!(Route::ChatCompletions.ingress(), IngressFormat::OpenAiChat);
        assert!(Route::Messages.records_usage() && !Route::Models.records_usage());
        assert!(!Route::CountTokens.records_usage());
    }
}
