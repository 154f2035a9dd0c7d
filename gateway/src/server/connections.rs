//! The open client connections: how many there are, which are idle, and which
//! one to close when a new client needs room.
//!
//! At `server.max_connections` a newcomer is not turned away while some
//! connection sits idle (no request in progress): the one that never carried a
//! request, or else the one idle longest, is asked to close, as its keep-alive
//! timeout would have done later, and the newcomer takes its place. Only when
//! every connection is busy is the newcomer answered 503 (see `accept.rs`). So
//! idle connections, however many, cannot lock clients out; busy ones are bounded
//! by `server.max_concurrent_requests`.
//!
//! What happens on a connection (the accept loop, hyper) lives in `accept.rs`.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Body;
use bytes::Bytes;
use http_body::{Frame, SizeHint};
use tokio::sync::Notify;

/// One client connection's activity, shared by its task and its requests.
#[derive(Debug)]
pub(crate) struct Conn {
    id: u64,
    in_flight: AtomicU32,
    served: AtomicU64,
    /// Milliseconds since the registry's epoch at the last request start or end.
    last_active: AtomicU64,
    epoch: Instant,
    /// Notified when the registry wants this connection closed.
    pub(crate) close: Notify,
}

impl Conn {
    fn now(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// A request starts on this connection; the guard ends it.
    pub(crate) fn begin(self: &Arc<Self>) -> RequestGuard {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        self.last_active.store(self.now(), Ordering::Relaxed);
        RequestGuard(self.clone())
    }

    pub(crate) fn in_flight(&self) -> u32 {
        self.in_flight.load(Ordering::Acquire)
    }

    /// How long the connection has had no request in progress (zero while one is).
    pub(crate) fn idle_for(&self) -> Duration {
        if self.in_flight() > 0 {
            return Duration::ZERO;
        }
        let last = self.last_active.load(Ordering::Relaxed);
        Duration::from_millis(self.now().saturating_sub(last))
    }

    fn candidate(&self) -> Candidate {
        Candidate {
            id: self.id,
            busy: self.in_flight() > 0,
            served_any: self.served.load(Ordering::Relaxed) > 0,
            last_active: self.last_active.load(Ordering::Relaxed),
        }
    }
}

/// Ends a request on its connection when dropped (with the response body).
#[derive(Debug)]
pub(crate) struct RequestGuard(Arc<Conn>);

impl Drop for RequestGuard {
    fn drop(&mut self) {
        let conn = &self.0;
        conn.served.fetch_add(1, Ordering::Relaxed);
        conn.last_active.store(conn.now(), Ordering::Relaxed);
        conn.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A response body that ends its request's [`RequestGuard`] when it is done or
/// dropped, so a stream counts as in progress until its last byte.
pub(crate) struct GuardedBody {
    inner: Body,
    guard: Option<RequestGuard>,
}

impl GuardedBody {
    pub(crate) fn new(inner: Body, guard: RequestGuard) -> Self {
        GuardedBody {
            inner,
            guard: Some(guard),
        }
    }
}

impl http_body::Body for GuardedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(None) = polled {
            self.guard.take();
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// What the eviction choice looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Candidate {
    id: u64,
    busy: bool,
    served_any: bool,
    last_active: u64,
}

/// The idle connection to close for a newcomer: one that never carried a request
/// before one that did (a client that connects and says nothing is the likelier
/// abuser, and a pooled keep-alive connection the likelier to be reused), then
/// the one idle longest. Busy connections are never chosen.
fn pick_victim(candidates: impl Iterator<Item = Candidate>) -> Option<u64> {
    candidates
        .filter(|c| !c.busy)
        .min_by_key(|c| (c.served_any, c.last_active, c.id))
        .map(|c| c.id)
}

/// Whether a new connection may be served.
pub(crate) enum Admission {
    Admitted(Arc<Conn>),
    /// Every connection is busy: answer 503 and close.
    Full,
}

/// The open connections, by id.
pub(crate) struct Registry {
    conns: Mutex<HashMap<u64, Arc<Conn>>>,
    next_id: AtomicU64,
    epoch: Instant,
    max: usize,
}

impl Registry {
    pub(crate) fn new(max: usize) -> Registry {
        Registry {
            conns: Mutex::new(HashMap::with_capacity(max.min(16 * 1024))),
            next_id: AtomicU64::new(0),
            epoch: Instant::now(),
            max,
        }
    }

    /// Registers a new connection, asking an idle one to close if the registry is
    /// full; the second value says whether one was (to count it).
    pub(crate) fn admit(&self) -> (Admission, bool) {
        let Ok(mut conns) = self.conns.lock() else {
            return (Admission::Full, false);
        };
        let mut evicted = false;
        if conns.len() >= self.max {
            let Some(victim) = pick_victim(conns.values().map(|c| c.candidate())) else {
                return (Admission::Full, false);
            };
            if let Some(victim) = conns.remove(&victim) {
                // Its task closes it; it no longer counts against the limit.
                victim.close.notify_one();
                evicted = true;
            }
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let conn = Arc::new(Conn {
            id,
            in_flight: AtomicU32::new(0),
            served: AtomicU64::new(0),
            last_active: AtomicU64::new(0),
            epoch: self.epoch,
            close: Notify::new(),
        });
        conn.last_active.store(conn.now(), Ordering::Relaxed);
        conns.insert(id, conn.clone());
        (Admission::Admitted(conn), evicted)
    }

    /// Forgets a connection whose task has ended.
    pub(crate) fn remove(&self, conn: &Conn) {
        if let Ok(mut conns) = self.conns.lock() {
            conns.remove(&conn.id);
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.conns.lock().map_or(0, |c| c.len())
    }
}

/// File descriptors kept back from client connections: the listener, the event
/// store and Redis, logs, the spill file, idle upstream connections.
const FD_RESERVE: u64 = 512;

/// The connection limit this process can keep: `configured`, unless the file
/// descriptor limit cannot hold that many plus one upstream connection per
/// concurrent request and a reserve. Better to answer 503 or close an idle
/// connection than to fail `accept` with EMFILE and leave clients hanging.
pub(crate) fn connection_budget(configured: usize, concurrent: usize, fd_limit: u64) -> usize {
    let room = fd_limit.saturating_sub(concurrent as u64 + FD_RESERVE);
    configured
        .min(usize::try_from(room).unwrap_or(usize::MAX))
        .max(16)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(id: u64, busy: bool, served_any: bool, last_active: u64) -> Candidate {
        Candidate {
            id,
            busy,
            served_any,
            last_active,
        }
    }

    #[test]
    fn picks_the_silent_then_the_longest_idle_and_never_a_busy_one() {
        let cases: &[(&[Candidate], Option<u64>)] = &[
            (&[], None),
            (&[c(1, true, true, 0), c(2, true, false, 0)], None),
            (&[c(1, false, true, 50), c(2, false, true, 10)], Some(2)),
            (&[c(1, false, true, 10), c(2, false, false, 90)], Some(2)),
            (&[c(1, true, false, 0), c(2, false, true, 90)], Some(2)),
            (&[c(3, false, false, 5), c(2, false, false, 5)], Some(2)),
        ];
        for (candidates, expected) in cases {
            assert_eq!(
                pick_victim(candidates.iter().copied()),
                *expected,
                "{candidates:?}"
            );
        }
    }

    #[test]
    fn a_full_registry_evicts_an_idle_connection_and_refuses_when_all_are_busy() {
        let registry = Registry::new(2);
        let Admission::Admitted(first) = registry.admit().0 else {
            panic!("room")
        };
        let Admission::Admitted(second) = registry.admit().0 else {
            panic!("room")
        };
        let _busy = second.begin();
        // Full: the idle first one makes room.
        let (admission, evicted) = registry.admit();
        assert!(evicted && matches!(admission, Admission::Admitted(_)));
        assert_eq!(registry.len(), 2);
        drop(first);
        let Admission::Admitted(third) = admission else {
            unreachable!()
        };
        let _busy_too = third.begin();
        assert!(matches!(registry.admit(), (Admission::Full, false)));
    }

    #[test]
    fn idle_time_counts_from_the_last_request_and_not_while_one_runs() {
        let registry = Registry::new(4);
        let Admission::Admitted(conn) = registry.admit().0 else {
            panic!("room")
        };
        let guard = conn.begin();
        assert_eq!(conn.idle_for(), Duration::ZERO);
        assert_eq!(conn.in_flight(), 1);
        drop(guard);
        assert_eq!(conn.in_flight(), 0);
        assert!(conn.candidate().served_any);
    }

    #[test]
    fn the_budget_fits_the_descriptor_limit() {
        let cases = [
            (10_000, 1_024, 1_048_576, 10_000),
            (10_000, 1_024, 20_000, 10_000),
            (10_000, 1_024, 4_096, 4_096 - 1_024 - 512),
            (10_000, 1_024, 1_024, 16),
        ];
        for (configured, concurrent, fds, expected) in cases {
            assert_eq!(connection_budget(configured, concurrent, fds), expected);
        }
    }
}
