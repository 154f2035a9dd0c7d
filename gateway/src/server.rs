//! Starting and stopping the gateway: the event pipeline, the shared state, the
//! listeners (the API and, if configured, a separate one for `/metrics`), the
//! file descriptor limit, and graceful shutdown. What happens on a connection is
//! in `accept.rs`; which connections stay open, in `connections.rs`.

mod accept;
mod alert_sources;
mod connections;

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::app;
use crate::config::{Config, ConnectionLimits};
use crate::events::Pipeline;
use crate::state::AppState;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Build(#[from] crate::state::BuildError),
    #[error(transparent)]
    Analytics(#[from] crate::events::PipelineError),
    #[error(transparent)]
    UserTags(#[from] crate::user_tags::UserTagSecretError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// A gateway serving on `addr` until [`RunningGateway::shutdown`] is called.
pub struct RunningGateway {
    pub addr: SocketAddr,
    /// Where `/metrics` is served when `server.metrics_listen` is set.
    pub metrics_addr: Option<SocketAddr>,
    pub state: AppState,
    /// The usage-event pipeline; its store is what analytics queries read.
    pub store: std::sync::Arc<analytics::store::Store>,
    pipeline: Pipeline,
    grace: Duration,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
    metrics_task: Option<JoinHandle<()>>,
    /// The alert rules' evaluation, if any rule is configured.
    alerts: Option<crate::alerts::Running>,
    /// The report schedules' task, if any channel is configured.
    reports: Option<crate::reports::Running>,
    /// Keeps the key table in step with the store (`control_sync`).
    control_task: JoinHandle<()>,
}

impl RunningGateway {
    /// Stops accepting, waits up to the grace period for open requests, returns.
    pub async fn shutdown(self) {
        self.state.begin_shutdown();
        self.control_task.abort();
        let _ = self.stop.send(true);
        let _ = self.task.await;
        if let Some(task) = self.metrics_task {
            let _ = tokio::time::timeout(self.grace, task).await;
        }
        if let Some(alerts) = self.alerts {
            alerts.shutdown().await;
        }
        if let Some(reports) = self.reports {
            reports.shutdown().await;
        }
        // Settlements of limits and budgets still on their way to Redis.
        self.state.limits.drain(self.grace).await;
        // Share links' views counted since the last batch.
        let flush = self.state.shares.counts.flush(&self.state.control_store);
        if let Ok(Err(error)) = tokio::time::timeout(self.grace, flush).await {
            tracing::warn!(%error, "share links' last views could not be recorded");
        }
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
    /// Reads the config file (and the catalog and provider key files it names)
    /// again and swaps the result in; returns what it loaded. Anything wrong, and
    /// the running config stays as it was. The listen address and server limits
    /// need a restart to change, and so do provider keys read from the
    /// environment (a running process's environment does not change).
    pub fn reload(&self, path: &std::path::Path) -> Result<Config, ReloadError> {
        let config = Config::load(path)?;
        self.state.reload(&config)?;
        Ok(config)
    }
}

pub async fn start(config: &Config) -> Result<RunningGateway, StartError> {
    let user_tags = crate::user_tags::load(&config.analytics.user_tag_secret)?;
    let pipeline = Pipeline::start(&config.analytics).await?;
    let state = AppState::new(
        config,
        pipeline.sink.clone(),
        pipeline.store.clone(),
        user_tags,
    )?;
    // The store's keys before the first request; a store that cannot be read
    // now leaves the config's keys serving, and the sync task retries.
    if let Err(error) = crate::control_sync::refresh(&state).await {
        tracing::warn!(%error, "cannot read the stored keys yet; serving the config file's keys");
    }
    let control_task = crate::control_sync::spawn(state.clone());
    let (listener, addr) = bind(config.server.listen).await?;
    let (stop, stopped) = watch::channel(false);
    let metrics = match config.server.metrics.listen {
        Some(metrics_listen) => {
            let (listener, addr) = bind(metrics_listen).await?;
            let router = app::metrics_router(state.clone());
            let mut stopped = stopped.clone();
            let task = tokio::spawn(async move {
                let serve = axum::serve(listener, router).with_graceful_shutdown(async move {
                    let _ = stopped.changed().await;
                });
                if let Err(error) = serve.await {
                    tracing::warn!(%error, "metrics listener failed");
                }
            });
            Some((addr, task))
        }
        None => None,
    };
    let task = tokio::spawn(accept::accept_loop(
        listener,
        state.clone(),
        stopped,
        config.server.shutdown_grace,
        fitted_limits(config.server.limits),
    ));
    let (metrics_addr, metrics_task) = metrics.unzip();
    let alerts = crate::alerts::start(
        state.alerts.clone(),
        config.limits.zone,
        pipeline.store.clone(),
        alert_sources::LiveSources::new(state.clone()),
    );
    // Runs schedules, and retries of any run ("send now" too), where reports
    // can go at all.
    let reports = (!config.alerts.channels.is_empty()).then(|| {
        let reports = crate::reports::Reports::new(
            config.reports.schedules.clone(),
            state.alerts.clone(),
            pipeline.store.clone(),
        );
        crate::reports::start(reports, config.reports.interval)
    });
    Ok(RunningGateway {
        addr,
        metrics_addr,
        state,
        store: pipeline.store.clone(),
        pipeline,
        grace: config.server.shutdown_grace,
        stop,
        task,
        metrics_task,
        alerts,
        reports,
        control_task,
    })
}

async fn bind(addr: SocketAddr) -> Result<(TcpListener, SocketAddr), StartError> {
    let listener = listen(addr).map_err(|source| StartError::Bind { addr, source })?;
    let bound = listener
        .local_addr()
        .map_err(|source| StartError::Bind { addr, source })?;
    Ok((listener, bound))
}

/// Connections the kernel holds for the accept loop. A burst of clients (a
/// fleet reconnecting after a deploy) finishes its handshakes faster than one
/// busy loop accepts; past the queue the kernel drops handshakes, and a client
/// that has nothing to send yet never learns that its connection is gone. The
/// kernel caps it at `net.core.somaxconn`.
const LISTEN_BACKLOG: u32 = 8192;

fn listen(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

/// The configured limits, with `max_connections` lowered if the process cannot
/// open that many descriptors. The soft descriptor limit is first raised to the
/// hard one, as servers commonly do (the soft default is often 1,024).
fn fitted_limits(mut limits: ConnectionLimits) -> ConnectionLimits {
    let fd_limit = match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => limit,
        Err(error) => {
            tracing::debug!(%error, "cannot read or raise the file descriptor limit");
            return limits;
        }
    };
    let budget = connections::connection_budget(
        limits.max_connections,
        limits.max_concurrent_requests,
        fd_limit,
    );
    if budget < limits.max_connections {
        tracing::warn!(
            configured = limits.max_connections,
            used = budget,
            fd_limit,
            "server.max_connections lowered to what the file descriptor limit (ulimit -n) allows"
        );
        limits.max_connections = budget;
    }
    limits
}
