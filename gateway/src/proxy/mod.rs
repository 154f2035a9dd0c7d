//! Carrying out a routing decision: the attempts and failover (`attempt`), the
//! call to a provider (`upstream`), and the answer, whole (`whole`) or streamed
//! (`relay`, event by event through `transcode`), billed once either way.
//! Handlers parse and route; everything from the first upstream byte to the last
//! client byte is here. What happened is written into the request's
//! [`Outcome`], which the handler returns with the
//! response; a stream completes it through its [`StreamEnd`](crate::usage_event::StreamEnd).
//!
//! When the client and the provider speak the same wire format, bodies and
//! streams pass through untouched (only the model is swapped in the request and
//! the usage chunk the gateway asked for is hidden from a client that did not).
//! Otherwise the request is read once into the gateway's model and written in
//! the provider's format, and the answer comes back the same way
//! ([`crate::formats::codec`]).

mod admission;
mod attempt;
mod rates;
mod relay;
mod transcode;
mod upstream;
mod whole;

use std::sync::{Arc, OnceLock};
use std::time::Instant;

pub use admission::worst_cost;
pub use rates::billing_for;

use axum::http::HeaderValue;

use crate::billing::Billing;
use crate::config::Endpoint;
use crate::error::GatewayError;
use crate::formats::codec::Echo;
use crate::formats::IngressFormat;
use crate::keys::ApiKey;
use crate::llm::ChatRequest;
use crate::metrics::UpstreamLabels;
use crate::openai::request::RawObject;
use crate::routing::{Decision, Requirements};
use crate::state::{AppState, Snapshot};
use crate::usage_event::Outcome;
use axum::response::Response;

/// Carries out `decision`: admits the request by its key's limits and budgets
/// (`admission`; a refusal is the answer), then tries the candidates in order
/// (`attempt`). The admission's ticket goes into `outcome`, so it is settled
/// with the usage event when the request ends (or released, if it ends
/// without one).
pub async fn run(
    job: &Job<'_, '_>,
    decision: &Decision,
    outcome: &mut Outcome,
) -> (Result<Response, GatewayError>, Option<UpstreamLabels>) {
    let headroom = match admission::admit(job, decision).await {
        Ok(ticket) => {
            let headroom = ticket.as_ref().map(|t| t.headroom());
            outcome.ticket = ticket;
            headroom
        }
        Err(error) => return (Err(error), None),
    };
    let (mut result, labels) = attempt::run(job, decision, outcome).await;
    if let (Ok(response), Some(headroom)) = (&mut result, headroom) {
        for (name, value) in headroom.headers() {
            if let Ok(value) = HeaderValue::from_maybe_shared(bytes::Bytes::from(value)) {
                response.headers_mut().insert(name, value);
            }
        }
    }
    (result, labels)
}

/// How a successful answer is relayed.
#[derive(Debug, Clone, Copy)]
pub enum Finish {
    Buffered,
    Stream { client_wants_usage: bool },
}

impl Finish {
    /// A stream when the client asked for one, else a whole answer.
    pub fn new(stream: bool, client_wants_usage: bool) -> Finish {
        if stream {
            Finish::Stream { client_wants_usage }
        } else {
            Finish::Buffered
        }
    }
}

/// The client's side of a request, as its handler read it.
pub struct Client<'a, 'b> {
    /// The caller: its limits and budgets are taken before any attempt.
    pub key: &'a ApiKey,
    /// The body as sent, and parsed into fields.
    pub source: &'a [u8],
    pub body: &'a RawObject<'b>,
    /// The format the client speaks.
    pub ingress: IngressFormat,
    pub endpoint: Endpoint,
    pub started: Instant,
}

/// Everything one request's attempts share.
pub struct Job<'a, 'b> {
    pub state: &'a AppState,
    pub key: &'a ApiKey,
    pub snapshot: &'a Arc<Snapshot>,
    /// The client's body as sent, and parsed into fields.
    pub source: &'a [u8],
    pub body: &'a RawObject<'b>,
    /// The format the client speaks.
    pub ingress: IngressFormat,
    pub endpoint: Endpoint,
    pub finish: Finish,
    pub started: Instant,
    pub requirements: Requirements,
    /// Baseline and shadow rates; the served rate is set per attempt.
    pub billing: Billing,
    /// The requested model's own deployments (none for a virtual name): served
    /// by one of them, a request is billed as asked.
    pub requested: &'a [usize],
    /// The request in the gateway's terms, read at the first attempt that
    /// needs a translation.
    pub translated: OnceLock<ChatRequest>,
    /// What a translated answer repeats of the client's request.
    pub echo: Echo,
    /// The client's `anthropic-beta` header, sent on with its own body to an
    /// Anthropic provider (a beta changes what the body means).
    pub anthropic_beta: Option<HeaderValue>,
}

impl<'a, 'b> Job<'a, 'b> {
    /// The job of a request for `model` routed by `decision`: its billing rates
    /// and the requested model's deployments come from the snapshot, here
    /// rather than in each handler. Nothing to translate, echo or pass on yet;
    /// a translated format sets those fields itself.
    pub fn new(
        state: &'a AppState,
        snapshot: &'a Arc<Snapshot>,
        client: Client<'a, 'b>,
        finish: Finish,
        requirements: Requirements,
        decision: &Decision,
        model: &str,
    ) -> Self {
        Job {
            state,
            key: client.key,
            snapshot,
            source: client.source,
            body: client.body,
            ingress: client.ingress,
            endpoint: client.endpoint,
            finish,
            started: client.started,
            requirements,
            billing: billing_for(snapshot, decision),
            requested: snapshot.table.named(model),
            translated: OnceLock::new(),
            echo: Echo::default(),
            anthropic_beta: None,
        }
    }

    /// The request in the gateway's terms, read once.
    fn translated(&self) -> Result<&ChatRequest, GatewayError> {
        if let Some(request) = self.translated.get() {
            return Ok(request);
        }
        // Linear in the body, as the handlers' own reading.
        let request = crate::routing::counting::scan(self.source.len(), || {
            self.ingress.decode_request(self.source)
        })?;
        Ok(self.translated.get_or_init(|| request))
    }
}
