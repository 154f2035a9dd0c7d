//! The request path of every ingress format the gateway reads into its own
//! model (Anthropic Messages, OpenAI Responses), so that each of their
//! handlers only shapes HTTP: the body is decoded once
//! ([`IngressFormat::decode_request`]), its requirements read from the decoded
//! request (`routing::prompt`), and from there it is the chat path's: the same
//! `decide` (with an exact count near a context limit), billing, [`Job`] and
//! [`proxy::run`], so routing, failover, billing and the usage event cannot
//! drift apart between formats. A provider that speaks the client's format
//! still gets the client's own body, with only the model swapped.
//!
//! OpenAI chat completions do not come through here: their handler reads only
//! the fields routing needs from the raw body and never builds the model
//! unless a provider needs a translation (`handlers::chat`).

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::Extension;
use bytes::Bytes;

use super::{count_in_budget, labelled_as, read_body, route_counted};
use crate::config::Endpoint;
use crate::error::GatewayError;
use crate::formats::codec::{Decoded, Echo};
use crate::formats::IngressFormat;
use crate::keys::ApiKey;
use crate::llm::ChatRequest;
use crate::metrics::UpstreamLabels;
use crate::openai::request::RawObject;
use crate::providers::Adapter;
use crate::proxy::{self, Client, Finish, Job};
use crate::routing::{counting, prompt};
use crate::state::{AppState, Snapshot};
use crate::usage_event::Outcome;

/// One request of a translated format, start to end: read the body, serve it,
/// and answer (errors included) in `format`'s shape.
pub async fn handle(
    format: IngressFormat,
    state: State<AppState>,
    key: Extension<Arc<ApiKey>>,
    snapshot: Extension<Arc<Snapshot>>,
    request: Request,
) -> Response {
    let (State(state), Extension(key), Extension(snapshot)) = (state, key, snapshot);
    let started = super::started(&request);
    let mut outcome = Outcome {
        ingress_format: Some(format.label()),
        ..Outcome::default()
    };
    let (parts, body) = request.into_parts();
    let body = read_body(body, &parts.headers, snapshot.max_body_bytes).await;
    let (result, labels) = match body {
        Ok(body) => {
            let request = Incoming {
                format,
                headers: &parts.headers,
                body: &body,
                started,
            };
            serve(&state, &snapshot, &key, request, &mut outcome).await
        }
        Err(error) => (Err(error), None),
    };
    labelled_as(format, result, labels, outcome)
}

/// A request as it arrived.
pub struct Incoming<'a> {
    pub format: IngressFormat,
    pub headers: &'a HeaderMap,
    pub body: &'a Bytes,
    pub started: Instant,
}

/// Decodes, routes and proxies one request; what happened goes into `outcome`.
pub async fn serve(
    state: &AppState,
    snapshot: &Arc<Snapshot>,
    key: &ApiKey,
    incoming: Incoming<'_>,
    outcome: &mut Outcome,
) -> (Result<Response, GatewayError>, Option<UpstreamLabels>) {
    let format = incoming.format;
    outcome.ingress_format = Some(format.label());
    // Linear in the body: large ones are read with the worker's queue handed on.
    let decoded = counting::scan(incoming.body.len(), || {
        let request = match format.decode(incoming.body) {
            Ok(decoded) => Read::Whole(decoded),
            // Refused as it stands, perhaps only because it cannot be
            // translated: then a provider of the client's format may still
            // take it untouched.
            Err(refused) => match format.decode_for_passthrough(incoming.body) {
                Some(request) => Read::PassthroughOnly { request, refused },
                None => return Err(refused),
            },
        };
        // Cannot fail once the body decoded; kept for a same-format provider.
        let object = RawObject::parse(incoming.body)?;
        let chat = match &request {
            Read::Whole(decoded) => &decoded.request,
            Read::PassthroughOnly { request, .. } => request,
        };
        let requirements = prompt::requirements(chat);
        Ok::<_, GatewayError>((request, object, requirements))
    });
    let (read, object, mut requirements) = match decoded {
        Ok(decoded) => decoded,
        Err(error) => return (Err(error), None),
    };
    let (request, echo, refused) = match read {
        Read::Whole(Decoded { request, echo }) => (request, echo, None),
        Read::PassthroughOnly { request, refused } => (request, Echo::None, Some(refused)),
    };
    let table = &snapshot.table;
    outcome.requested_model = table.knows(&request.model).then(|| request.model.clone());
    outcome.stream = request.stream;
    outcome.user_tag = request
        .user
        .as_deref()
        .map(|user| state.user_tags.tag(user));
    let decision = route_counted(
        snapshot,
        key,
        &request.model,
        &mut requirements,
        Endpoint::Chat,
        |text_bytes| count_exactly(state, snapshot, &request, text_bytes),
    )
    .await;
    let mut decision = match decision {
        Ok(decision) => decision,
        Err(error) => return (Err(error), None),
    };
    let refused = match refused {
        Some(refused) => {
            let providers = &snapshot.providers;
            decision.attempts.retain(|&index| {
                let deployment = table.get(index);
                providers[deployment.provider]
                    .format_for(format)
                    .passes(format)
            });
            if decision.attempts.is_empty() {
                return (Err(refused), None);
            }
            true
        }
        None => false,
    };
    // A translated stream always carries the provider's usage; an OpenAI
    // client's include_usage does not apply to these formats.
    let finish = Finish::new(request.stream, false);
    let client = Client {
        key,
        source: incoming.body,
        body: &object,
        ingress: format,
        endpoint: Endpoint::Chat,
        started: incoming.started,
    };
    let mut job = Job::new(
        state,
        snapshot,
        client,
        finish,
        requirements,
        &decision,
        &request.model,
    );
    job.echo = echo;
    if let IngressFormat::Anthropic = format {
        job.anthropic_beta = incoming.headers.get("anthropic-beta").cloned();
    }
    // A passthrough-only reading is not the whole request: no provider is
    // asked in another format (none is left to be).
    if !refused {
        job.translated = OnceLock::from(request);
    }
    proxy::run(&job, &decision, outcome).await
}

/// How much of the request the gateway's model holds.
enum Read {
    Whole(Decoded),
    /// What routing needs of a request only a provider of the client's own
    /// format can take; `refused` is why it cannot go anywhere else.
    PassthroughOnly {
        request: ChatRequest,
        refused: GatewayError,
    },
}

/// The exact token count of `request`'s prompt, within the counting budget.
async fn count_exactly(
    state: &AppState,
    snapshot: &Snapshot,
    request: &ChatRequest,
    text_bytes: u64,
) -> Option<u64> {
    // Over the budget's size the counter refuses without counting: the texts
    // are not copied for nothing.
    let texts =
        (text_bytes <= snapshot.routing.token_count.max_bytes).then(|| prompt::texts(request));
    count_in_budget(state, snapshot, text_bytes, move |keep_going| {
        prompt::count(texts.as_ref()?, keep_going).map(Some)
    })
    .await
}
