//! The accept loop and the life of one client connection: TCP_NODELAY (small SSE
//! writes must not wait for delayed ACKs), HTTP/1.1 and HTTP/2 on one port,
//! HTTP/2 keep-alive pings against dead peers, and closing:
//! - a connection with no request in progress for `server.idle_timeout_ms`, in
//!   any state (HTTP/1 between requests, HTTP/2 with no stream, or a client that
//!   connected and sent nothing or only the HTTP/2 preface);
//! - an idle connection the registry picked to make room (`connections.rs`);
//! - every connection on shutdown, letting open requests finish within the grace.
//!
//! Closing is graceful first (HTTP/2 GOAWAY, HTTP/1 at the end of the response)
//! and forced [`CLOSE_GRACE`] later when no request is left, since a client that
//! sent half a handshake never completes a graceful close.
//!
//! A connection over the limit while every connection is busy gets one 503 in
//! OpenAI's shape with `Retry-After` and `Connection: close`: SDKs retry that
//! after the wait, where a refused or reset connection reads as an outage.

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::ConnectInfo;
use axum::http::{header, HeaderValue, Request};
use axum::response::IntoResponse;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::connections::{Admission, Conn, GuardedBody, Registry};
use crate::app;
use crate::config::ConnectionLimits;
use crate::error::GatewayError;
use crate::state::AppState;

const MAX_HEADER_LIST_BYTES: u32 = 256 * 1024;

/// How long a closing connection with no request left may take to close itself.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// Over-limit connections being answered 503 at once; beyond, they are closed
/// unanswered (each holds a descriptor for up to [`REJECT_WITHIN`]).
const MAX_REJECTING: usize = 256;
/// Longest an over-limit connection is kept to send its 503.
const REJECT_WITHIN: Duration = Duration::from_secs(5);

fn builder(limits: &ConnectionLimits) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // hyper's header timer also runs between keep-alive requests; set just past
    // the idle timeout it is only a backstop, so idle closes are all counted.
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.idle_timeout + CLOSE_GRACE)
        .keep_alive(true);
    // HTTP/1.1 takes header sections up to hyper's ~400 KB buffer; let HTTP/2
    // take as much rather than reset a client's whole connection.
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(MAX_HEADER_LIST_BYTES)
        .keep_alive_interval(limits.http2_keep_alive_interval)
        .keep_alive_timeout(limits.http2_keep_alive_timeout);
    builder
}

/// Serves `listener` until `stop` changes, then gives open requests `grace`.
pub(super) async fn accept_loop(
    listener: TcpListener,
    state: AppState,
    mut stop: watch::Receiver<bool>,
    grace: Duration,
    limits: ConnectionLimits,
) {
    let service = TowerToHyperService::new(app::router(state.clone()));
    let builder = builder(&limits);
    let registry = Arc::new(Registry::new(limits.max_connections));
    let rejecting = Arc::new(AtomicUsize::new(0));
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _)) => stream,
                    Err(error) => {
                        // Out of file descriptors and the like: back off briefly.
                        tracing::warn!(%error, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                state.metrics.connections_accepted.inc();
                let _ = stream.set_nodelay(true);
                match registry.admit() {
                    (Admission::Admitted(conn), evicted) => {
                        if evicted {
                            state.metrics.record_connection_closed("evicted");
                        }
                        connections.spawn(serve(Served {
                            conn,
                            stream,
                            builder: builder.clone(),
                            service: service.clone(),
                            registry: registry.clone(),
                            state: state.clone(),
                            stop: stop.clone(),
                            idle_timeout: limits.idle_timeout,
                        }));
                    }
                    (Admission::Full, _) => {
                        state.metrics.record_overload("connections");
                        if rejecting.load(Ordering::Relaxed) < MAX_REJECTING {
                            connections.spawn(reject(stream, rejecting.clone()));
                        }
                    }
                }
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            _ = stop.changed() => break,
        }
    }
    drop(listener);
    let open = connections.len();
    tracing::info!(open, "shutting down: finishing open requests");
    let drained = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(grace, drained).await.is_err() {
        tracing::warn!("grace period over: closing remaining connections");
    }
}

/// What one admitted connection's task needs.
struct Served {
    conn: Arc<Conn>,
    stream: TcpStream,
    builder: auto::Builder<TokioExecutor>,
    service: TowerToHyperService<axum::Router>,
    registry: Arc<Registry>,
    state: AppState,
    stop: watch::Receiver<bool>,
    idle_timeout: Duration,
}

async fn serve(served: Served) {
    let Served {
        conn,
        stream,
        builder,
        service,
        registry,
        state,
        mut stop,
        idle_timeout,
    } = served;
    state.metrics.open_connections.inc();
    // The peer's address, for the share routes' per-address rate limit.
    let peer = stream.peer_addr().ok();
    let tracked = {
        let conn = conn.clone();
        service_fn(move |mut request: Request<Incoming>| {
            if let Some(peer) = peer {
                request.extensions_mut().insert(ConnectInfo(peer));
            }
            let guard = conn.begin();
            let call = hyper::service::Service::call(&service, request);
            async move {
                let response = call.await?;
                Ok::<_, Infallible>(response.map(|body| GuardedBody::new(body, guard)))
            }
        })
    };
    let connection = builder.serve_connection(TokioIo::new(stream), tracked);
    tokio::pin!(connection);
    // When set: closing was asked for; past this instant, force it.
    let mut force_at: Option<Instant> = None;
    let mut stopping = false;
    loop {
        let wake = force_at
            .unwrap_or_else(|| Instant::now() + idle_timeout.saturating_sub(conn.idle_for()));
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(error) = result {
                    tracing::debug!(%error, "connection ended with an error");
                }
                break;
            }
            () = conn.close.notified(), if force_at.is_none() => {
                connection.as_mut().graceful_shutdown();
                force_at = Some(Instant::now() + CLOSE_GRACE);
            }
            _ = stop.changed(), if !stopping => {
                stopping = true;
                if force_at.is_none() {
                    connection.as_mut().graceful_shutdown();
                    force_at = Some(Instant::now() + CLOSE_GRACE);
                }
            }
            () = tokio::time::sleep_until(wake.into()) => {
                if force_at.is_some() {
                    if conn.in_flight() == 0 {
                        break;
                    }
                    // A request is still being answered: let it finish.
                    force_at = Some(Instant::now() + CLOSE_GRACE);
                } else if conn.idle_for() >= idle_timeout {
                    state.metrics.record_connection_closed("idle");
                    connection.as_mut().graceful_shutdown();
                    force_at = Some(Instant::now() + CLOSE_GRACE);
                }
            }
        }
    }
    registry.remove(&conn);
    state.metrics.open_connections.dec();
}

/// Answers every request of an over-limit connection with 503 and closes it.
async fn reject(stream: TcpStream, rejecting: Arc<AtomicUsize>) {
    rejecting.fetch_add(1, Ordering::Relaxed);
    let service = service_fn(|_request: Request<Incoming>| async {
        let mut response = GatewayError::Overloaded("connections").into_response();
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        Ok::<_, Infallible>(response)
    });
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(REJECT_WITHIN)
        .keep_alive(false);
    let connection = builder.serve_connection(TokioIo::new(stream), service);
    let _ = tokio::time::timeout(REJECT_WITHIN, connection).await;
    rejecting.fetch_sub(1, Ordering::Relaxed);
}
