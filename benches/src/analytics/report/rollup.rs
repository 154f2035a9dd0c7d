//! The rollup part of the report: the data set, the timed rollups, and the daily
//! INSERT alone as it runs, with more `work_mem`, and one day at a time.

use std::fmt::Write as _;

use serde_json::Value;

use super::{cpu, num, select, text, thousands};

pub(super) fn section(md: &mut String, lines: &[Value]) {
    let _ = writeln!(md, "### 2. Rollup\n");
    if let Some(load) = select(lines, "bulk_load").first() {
        let _ = writeln!(
            md,
            "Data set: {} events over {} days from {} (same generator, each day in time order), \
             loaded with COPY straight into `usage_events` by {} connections at {} events/s \
             (load1 {:.2}, others {:.2} cores), then `VACUUM ANALYZE` ({:.1} s); {} on disk \
             with indexes. Events per tenant: {}.\n",
            thousands(num(load, "events")),
            num(load, "days"),
            text(load, "first_day"),
            num(load, "loaders"),
            thousands(num(load, "events_per_sec")),
            cpu(load, "load1_before"),
            cpu(load, "others_cores"),
            num(load, "vacuum_analyze_secs"),
            text(load, "size"),
            load["tenants"]
        );
    }
    let _ = writeln!(
        md,
        "`PostgresStore::rollup(first, last)` over the whole range (daily rows from raw \
         events, then weekly and monthly from daily rows, one transaction); *fresh* starts \
         from empty aggregates, *re-run* replaces them (idempotent). `Store::rollup` is \
         what the gateway's housekeeping calls: `PostgresStore::rollup` plus whatever else \
         the store rolls up from raw events in the tree measured (see the git state above).\n\n\
         | round | entry | run | seconds | events/s | daily / weekly / monthly rows | load1 | others (cores) |\n|---:|---|---|---:|---:|---|---:|---:|"
    );
    let events = select(lines, "bulk_load")
        .first()
        .map_or(f64::NAN, |l| num(l, "events"));
    let explained: Vec<&Value> = select(lines, "explain")
        .into_iter()
        .filter(|l| text(l, "statement").starts_with("rollup_insert_daily"))
        .collect();
    for run in select(lines, "rollup") {
        let secs = num(run, "secs");
        let _ = writeln!(
            md,
            "| {} | `{}` | {} | {secs:.1} | {} | {} / {} / {} | {:.2} | {:.2} |",
            num(run, "round"),
            text(run, "entry"),
            text(run, "run"),
            thousands(events / secs),
            thousands(num(run, "daily_rows")),
            thousands(num(run, "weekly_rows")),
            thousands(num(run, "monthly_rows")),
            cpu(run, "load1_before"),
            cpu(run, "others_cores"),
        );
    }
    if !explained.is_empty() {
        let _ = writeln!(
            md,
            "\nThe rollup's daily INSERT alone (its DELETE first; `EXPLAIN (ANALYZE, BUFFERS, \
             TIMING OFF)` in a transaction rolled back; plans below), once:\n"
        );
        for plan in explained {
            let sort = text(plan, "plan")
                .lines()
                .find(|l| l.contains("Sort Method") || l.contains("Batches:"))
                .map_or(String::new(), |l| l.trim().to_owned());
            let _ = writeln!(
                md,
                "- `{}`: {:.1} s, load1 {:.2}; {}",
                text(plan, "statement"),
                num(plan, "secs"),
                num(plan, "load1"),
                sort
            );
        }
    }
    let per_day = select(lines, "whatif")
        .into_iter()
        .filter(|l| text(l, "what").starts_with("rollup"));
    for whatif in per_day {
        let hash = text(whatif, "plan")
            .lines()
            .find(|l| l.contains("Sort Method") || l.contains("Batches:"))
            .map_or(String::new(), |l| l.trim().to_owned());
        let _ = writeln!(
            md,
            "- what-if, {} (DELETE and all 30 INSERTs, the first under EXPLAIN; not in the \
             store): {:.1} s, load1 {:.2}; first day: {}",
            text(whatif, "what"),
            num(whatif, "secs"),
            num(whatif, "load1"),
            hash
        );
    }
    let _ = writeln!(md);
}
