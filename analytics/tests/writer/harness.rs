//! Shared pieces of the writer tests: a temp directory for the spill and
//! dead-letter files, a writer config for tests, polling with a hang guard, and
//! readers for the files and the stored ids.

use std::collections::BTreeSet;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::Duration;

use analytics::writer::{WriterConfig, WriterStats};
use analytics::UsageEvent;
use uuid::Uuid;

/// A fresh directory, removed with everything in it when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(prefix: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("{prefix}-{}", Uuid::now_v7().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    pub fn spill(&self) -> PathBuf {
        self.0.join("events.spill")
    }

    pub fn dead_letter(&self) -> PathBuf {
        self.0.join("events.dead-letter")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A writer config with small batches and short intervals, spilling into `dir`.
pub fn config(dir: &TempDir) -> WriterConfig {
    WriterConfig {
        queue_capacity: 100_000,
        batch_size: 50,
        flush_interval: Duration::from_millis(20),
        memory_backlog: 200,
        spill_path: Some(dir.spill()),
        dead_letter_path: Some(dir.dead_letter()),
        retry_interval: Duration::from_millis(100),
        write_timeout: Duration::from_secs(5),
        rebuild_settle: Duration::from_millis(200),
    }
}

/// Polls `done` every 20 ms until it holds; fails the test after `guard` (a
/// hang guard, far above the time the condition normally takes).
pub async fn wait_for<F, Fut>(what: &str, guard: Duration, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let until = tokio::time::Instant::now() + guard;
    while !done().await {
        assert!(
            tokio::time::Instant::now() < until,
            "{what}: not done within {guard:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub fn load(counter: &std::sync::atomic::AtomicU64) -> u64 {
    counter.load(Ordering::Relaxed)
}

/// Every event id in a JSON-lines file: top-level events (spill file) and
/// `event`s of dead-letter records.
pub fn ids_in(path: &Path) -> Vec<Uuid> {
    let Ok(text) = std::fs::read(path) else {
        return Vec::new();
    };
    text.split(|&b| b == b'\n')
        .filter_map(|line| serde_json::from_slice::<serde_json::Value>(line).ok())
        .filter_map(|value| {
            let event = value.get("event").unwrap_or(&value);
            serde_json::from_value::<UsageEvent>(event.clone()).ok()
        })
        .map(|event| event.event_id)
        .collect()
}

/// The dead-letter file's records, parsed.
pub fn records_in(path: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// Asserts that `actual` holds exactly the ids in `expected`, each once; a
/// failure says how many are missing, extra or repeated (not thousands of ids).
pub fn assert_same_ids(actual: &[Uuid], expected: &BTreeSet<Uuid>, context: &str) {
    let got: BTreeSet<Uuid> = actual.iter().copied().collect();
    let missing = expected.difference(&got).count();
    let extra = got.difference(expected).count();
    let repeated = actual.len() - got.len();
    assert!(
        (missing, extra, repeated) == (0, 0, 0),
        "{context}: {} ids, expected {}: {missing} missing, {extra} unexpected, {repeated} repeated",
        actual.len(),
        expected.len(),
    );
}

pub fn id_set(events: &[UsageEvent]) -> BTreeSet<Uuid> {
    events.iter().map(|e| e.event_id).collect()
}

/// The pipeline counters as one line, for assertion messages.
pub fn describe(stats: &WriterStats) -> String {
    format!(
        "queued {} written {} duplicates {} spilled {} (at shutdown {}) replayed {} dropped {} \
         dead-lettered {} torn {} store failures {} timeouts {}",
        load(&stats.queued),
        load(&stats.written),
        load(&stats.duplicates),
        load(&stats.spilled),
        load(&stats.shutdown_spilled),
        load(&stats.replayed),
        load(&stats.dropped),
        load(&stats.dead_lettered),
        load(&stats.spill_torn_lines),
        load(&stats.store_failures),
        load(&stats.write_timeouts),
    )
}
