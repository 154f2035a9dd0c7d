//! What the machine was doing during a measurement, read from `/proc`: the load
//! average, and the CPU used by the whole machine, by this process and by our own
//! Postgres backends (the connections to the benchmark's database), so each figure
//! comes with the CPU *others* took from it. Also the fixed facts (cores, CPU model,
//! memory) and a wait for a quiet moment before a run.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sqlx::PgPool;

/// Kernel clock ticks per second of `/proc` times (USER_HZ, 100 on Linux).
const TICKS: f64 = 100.0;

pub fn load1() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok()))
        .unwrap_or(f64::NAN)
}

pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

pub fn facts() -> Value {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or("unknown", |(_, v)| v.trim());
    let mem_kb: u64 = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    json!({
        "nproc": std::thread::available_parallelism().map_or(0, |n| n.get()),
        "cpu_model": model,
        "mem_gib": mem_kb / 1024 / 1024,
        "kernel": kernel.trim(),
    })
}

/// (busy, total) ticks of all CPUs.
fn machine_ticks() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let fields: Vec<u64> = stat
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    let total: u64 = fields.iter().take(8).sum();
    let idle = fields.get(3).copied().unwrap_or(0) + fields.get(4).copied().unwrap_or(0);
    (total - idle, total)
}

/// utime + stime of a process, in ticks.
fn process_ticks(pid: &str) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    // After the command: state is field 3, utime 14 and stime 15 (1-based).
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

async fn backend_pids(pool: &PgPool) -> Vec<i32> {
    sqlx::query_scalar(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND backend_type = 'client backend'",
    )
    .fetch_all(pool)
    .await
    .unwrap_or_default()
}

/// CPU accounting over one measurement.
pub struct Probe {
    started: Instant,
    load1: f64,
    machine: (u64, u64),
    own: u64,
    backends: HashMap<i32, u64>,
}

impl Probe {
    pub async fn start(pool: &PgPool) -> Probe {
        let backends = backend_pids(pool)
            .await
            .into_iter()
            .map(|pid| (pid, process_ticks(&pid.to_string()).unwrap_or(0)))
            .collect();
        Probe {
            started: Instant::now(),
            load1: load1(),
            machine: machine_ticks(),
            own: process_ticks("self").unwrap_or(0),
            backends,
        }
    }

    /// The CPU figures since `start`, as JSON: load average before and after, cores
    /// used by the machine, by us (this process and our backends) and by others.
    pub async fn stop(self, pool: &PgPool) -> Value {
        let elapsed = self.started.elapsed().as_secs_f64().max(1e-3);
        let mut ours = process_ticks("self").unwrap_or(0).saturating_sub(self.own);
        for pid in backend_pids(pool).await {
            let before = self.backends.get(&pid).copied().unwrap_or(0);
            let now = process_ticks(&pid.to_string()).unwrap_or(before);
            ours += now.saturating_sub(before);
        }
        let (busy, total) = machine_ticks();
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
        let share = busy.saturating_sub(self.machine.0) as f64
            / (total.saturating_sub(self.machine.1) as f64).max(1.0);
        let machine = share * cores;
        let ours = ours as f64 / TICKS / elapsed;
        json!({
            "load1_before": self.load1,
            "load1_after": load1(),
            "machine_cores": round2(machine),
            "ours_cores": round2(ours),
            "others_cores": round2((machine - ours).max(0.0)),
        })
    }
}

/// Waits (at most `max`) for a second in which the machine is nearly idle (less than
/// `threshold` cores busy); returns the busy cores of the last second sampled.
pub async fn wait_quiet(max: Duration, threshold: f64) -> f64 {
    let deadline = Instant::now() + max;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    loop {
        let (busy0, total0) = machine_ticks();
        tokio::time::sleep(Duration::from_secs(1)).await;
        let (busy1, total1) = machine_ticks();
        let busy = busy1.saturating_sub(busy0) as f64
            / (total1.saturating_sub(total0) as f64).max(1.0)
            * cores;
        if busy < threshold || Instant::now() >= deadline {
            return round2(busy);
        }
    }
}

pub fn round2(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}
