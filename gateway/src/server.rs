//! The accept loop: TCP_NODELAY on every client connection (small SSE writes must
//! not wait for delayed ACKs), HTTP/1.1 and HTTP/2 on one port, a header read
//! timeout against slow clients, and graceful shutdown: stop accepting, let open
//! requests and streams finish within the grace period, then close the rest.

use std::net::SocketAddr;
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

use crate::app;
use crate::config::Config;
use crate::events::Pipeline;
use crate::state::AppState;

const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);
const MAX_HEADER_LIST_BYTES: u32 = 256 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Build(#[from] crate::state::BuildError),
    #[error(transparent)]
    Analytics(#[from] crate::events::PipelineError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// A gateway serving on `addr` until [`RunningGateway::shutdown`] is called.
pub struct RunningGateway {
    pub addr: SocketAddr,
    pub state: AppState,
    /// The usage-event pipeline; its store is what analytics queries read.
    pub store: std::sync::Arc<analytics::store::Store>,
    pipeline: Pipeline,
    grace: Duration,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl RunningGateway {
    /// Stops accepting, waits up to the grace period for open requests, returns.
    pub async fn shutdown(self) {
        self.state.begin_shutdown();
        let _ = self.stop.send(true);
        let _ = self.task.await;
        // Every request has ended, so every event is queued: write them out.
        self.pipeline.shutdown(self.grace).await;
    }

    /// Waits until the server stops by itself (it does not; used with signals).
    pub async fn stopped(&mut self) {
        let _ = (&mut self.task).await;
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Build(#[from] crate::state::BuildError),
}

impl RunningGateway {
    /// Reads the config file (and the catalog files it names) again and swaps the
    /// result in. Anything wrong, and the running config stays as it was. The
    /// listen address and server limits need a restart to change.
    pub fn reload(&self, path: &std::path::Path) -> Result<(), ReloadError> {
        let config = Config::load(path)?;
        self.state.reload(&config)?;
        Ok(())
    }
}

pub async fn start(config: &Config) -> Result<RunningGateway, StartError> {
    let pipeline = Pipeline::start(&config.analytics).await?;
    let state = AppState::new(config, pipeline.sink.clone(), pipeline.store.clone())?;
    let listener = TcpListener::bind(config.server.listen)
        .await
        .map_err(|source| StartError::Bind {
            addr: config.server.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| StartError::Bind {
        addr: config.server.listen,
        source,
    })?;
    let (stop, stopped) = watch::channel(false);
    let task = tokio::spawn(accept_loop(
        listener,
        state.clone(),
        stopped,
        config.server.shutdown_grace,
    ));
    Ok(RunningGateway {
        addr,
        state,
        store: pipeline.store.clone(),
        pipeline,
        grace: config.server.shutdown_grace,
        stop,
        task,
    })
}

async fn accept_loop(
    listener: TcpListener,
    state: AppState,
    mut stop: watch::Receiver<bool>,
    grace: Duration,
) {
    let service = TowerToHyperService::new(app::router(state));
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .keep_alive(true);
    // HTTP/1.1 takes header sections up to hyper's ~400 KB buffer; let HTTP/2
    // take as much rather than reset a client's whole connection.
    builder.http2().max_header_list_size(MAX_HEADER_LIST_BYTES);
    let graceful = GracefulShutdown::new();
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
                let _ = stream.set_nodelay(true);
                let connection = builder
                    .serve_connection(TokioIo::new(stream), service.clone())
                    .into_owned();
                let watched = graceful.watch(connection);
                connections.spawn(async move {
                    if let Err(error) = watched.await {
                        tracing::debug!(%error, "connection ended with an error");
                    }
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            _ = stop.changed() => break,
        }
    }
    drop(listener);
    let open = connections.len();
    tracing::info!(open, "shutting down: finishing open requests");
    let drained = async {
        graceful.shutdown().await;
        while connections.join_next().await.is_some() {}
    };
    if tokio::time::timeout(grace, drained).await.is_err() {
        tracing::warn!("grace period over: closing remaining connections");
    }
}
