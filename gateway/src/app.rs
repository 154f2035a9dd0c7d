//! The routes and the middleware stack, in one place.
//!
//! Layers, outermost first. Per route (`observed`), the route's [`Route`] as an
//! extension, set here and nowhere else (the layers below and the handlers
//! read it, never the path), around:
//! 1. `request_id`: an `x-request-id` (the client's, if it is a plain token) on the
//!    request's extensions and on every response, errors included.
//! 2. `observe`: the in-flight gauge, the request counter by route/status/provider/
//!    model, the total-latency histogram (streams until their last byte), the
//!    overall request deadline, and `server.max_concurrent_requests` (503 with
//!    `Retry-After` beyond it, except for health checks and `/metrics`).
//! 3. `close_unread`: `Connection: close` on an answer sent before the request
//!    body was read, as hyper then closes the connection.
//! 4. `authenticate` (only `/v1/...`): the caller's [`ApiKey`](crate::keys::ApiKey)
//!    as an extension, and its rate limit.
//!
//! Layers 1 to 3 are one `from_fn` layer (`observe::observe`, which calls the
//! other two modules): each `from_fn` layer boxes the request's future and the
//! rest of the stack, so fewer layers is less work on every request. Every
//! route, the fallback included, is inside it, so every answer has its id.
//!
//! The request body limit is applied where bodies are read (`handlers::read_body`),
//! so an oversize body gets an OpenAI-shaped 413 like every other error. Around
//! all of them, per connection, `server::accept` counts each request on its
//! connection (idle connections are closed; see `server/connections.rs`).

use std::convert::Infallible;

use axum::routing::{any, get, post, MethodRouter};
use axum::{middleware, Extension, Router};

use crate::handlers::{
    admin, alerts_api, analytics_api, chat, completions, dashboard, embeddings, messages, models,
    operator, ops, responses, roi, roi_promises, share,
};
use crate::middleware::{auth, observe, request_id};
use crate::route::Route;
use crate::state::AppState;

pub fn router(state: AppState) -> Router {
    // The inference API, one line per route. Paths are served with and without
    // `/v1`, as clients configure their base URL either way: each path is
    // routed twice here rather than through `nest("/v1", ...)`, which would
    // rebuild every request's URI to strip the prefix.
    let api = |route, handlers| inference(&state, route, handlers);
    let inference_routes = [
        (
            "/chat/completions",
            api(Route::ChatCompletions, post(chat::chat_completions)),
        ),
        (
            "/embeddings",
            api(Route::Embeddings, post(embeddings::embeddings)),
        ),
        (
            "/completions",
            api(Route::Completions, post(completions::completions)),
        ),
        ("/responses", api(Route::Responses, post(responses::create))),
        (
            "/responses/{*id}",
            api(
                Route::Other,
                get(responses::stored)
                    .delete(responses::stored)
                    .post(responses::stored),
            ),
        ),
        ("/messages", api(Route::Messages, post(messages::messages))),
        (
            "/messages/count_tokens",
            api(Route::CountTokens, post(messages::count_tokens)),
        ),
        ("/models", api(Route::Models, get(models::list))),
        ("/models/{id}", api(Route::Models, get(models::retrieve))),
    ];

    // The analytics API and the ROI calculator read with the caller's key too.
    let management = Router::new()
        .nest("/analytics", analytics_api::routes())
        .nest("/reports", crate::reports::http::routes())
        .merge(roi::routes())
        .merge(roi_promises::routes())
        .merge(operator::access_routes())
        .layer(middleware::from_fn_with_state(
            state.clone(),
            auth::authenticate_reader,
        ));

    // The admin API: admin keys, and tenant owners for their own tenant
    // (the alerts API and the operator view: admin keys only).
    let admin = Router::new()
        .nest(
            "/admin",
            admin::routes()
                .nest("/alerts", alerts_api::routes())
                .nest("/reports", crate::reports::http::admin_routes())
                .nest("/operator", operator::routes()),
        )
        .layer(middleware::from_fn_with_state(
            state.clone(),
            auth::authenticate_admin,
        ));

    let other = Router::new()
        .nest("/api/v1", management.merge(admin))
        .route(
            "/api/v1/openapi.json",
            get(crate::handlers::openapi::document),
        )
        .merge(dashboard::routes())
        // Share links: the token in the path is the credential (no key).
        .merge(share::routes());
    let mut routes = Router::new();
    for (path, handlers) in inference_routes {
        routes = routes
            .route(&format!("/v1{path}"), handlers.clone())
            .route(path, handlers);
    }
    let mut routes = routes
        .merge(observed_router(&state, Route::Other, other))
        .route(
            "/healthz",
            observed(&state, Route::Healthz, get(ops::healthz)),
        )
        .route("/readyz", observed(&state, Route::Readyz, get(ops::readyz)));
    if state.metrics_on_main_listener {
        routes = routes.route(
            "/metrics",
            observed(&state, Route::Metrics, get(ops::metrics)),
        );
    }
    routes
        .fallback(layered(&state, Route::Other, any(ops::unknown_route)))
        .with_state(state)
}

/// An inference route: layer 4 (authentication, not asked of a 405) inside
/// layers 1 to 3.
fn inference(
    state: &AppState,
    route: Route,
    handlers: MethodRouter<AppState>,
) -> MethodRouter<AppState> {
    let handlers = handlers.route_layer(middleware::from_fn_with_state(
        state.clone(),
        auth::authenticate,
    ));
    observed(state, route, handlers)
}

/// One route's handlers, a 405 for other methods, inside layers 1 to 3.
fn observed(
    state: &AppState,
    route: Route,
    handlers: MethodRouter<AppState>,
) -> MethodRouter<AppState> {
    layered(state, route, handlers.fallback(ops::method_not_allowed))
}

/// Handlers inside layers 1 to 3 (`observe`), tagged with their [`Route`]
/// outside them all.
fn layered(
    state: &AppState,
    route: Route,
    handlers: MethodRouter<AppState>,
) -> MethodRouter<AppState> {
    handlers
        .layer::<_, Infallible>(middleware::from_fn_with_state(
            state.clone(),
            observe::observe,
        ))
        .layer(Extension(route))
}

/// [`observed`] for a group of routes that share one [`Route`].
fn observed_router(state: &AppState, route: Route, routes: Router<AppState>) -> Router<AppState> {
    routes
        .method_not_allowed_fallback(ops::method_not_allowed)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            observe::observe,
        ))
        .layer(Extension(route))
}

/// The router of `server.metrics_listen`: `/metrics` only.
pub fn metrics_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(ops::metrics))
        .fallback(ops::unknown_route)
        .method_not_allowed_fallback(ops::method_not_allowed)
        .layer(middleware::from_fn(request_id::request_id))
        .with_state(state)
}
