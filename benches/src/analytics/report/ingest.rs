//! The ingestion part of the report: store, floor, direct and live rates per
//! configuration, the client-side costs, and the batching writer end to end.

use std::fmt::Write as _;

use serde_json::Value;

use super::{loads, median, num, select, spread, text, thousands};

/// The best median rate of runs of `kind` over the configurations, with its batch
/// size and writers.
pub(super) fn best(lines: &[Value], kind: &str) -> Option<(f64, u64, u64)> {
    let store = select(lines, "ingest");
    let mut configs: Vec<(u64, u64)> = store
        .iter()
        .filter(|l| text(l, "kind") == kind)
        .map(|l| (num(l, "batch") as u64, num(l, "writers") as u64))
        .collect();
    configs.sort_unstable();
    configs.dedup();
    configs
        .into_iter()
        .map(|(batch, writers)| {
            let rates = store
                .iter()
                .filter(|l| text(l, "kind") == kind)
                .filter(|l| num(l, "batch") as u64 == batch && num(l, "writers") as u64 == writers)
                .map(|l| num(l, "events_per_sec"))
                .collect();
            (median(rates), batch, writers)
        })
        .max_by(|a, b| a.0.total_cmp(&b.0))
}

pub(super) fn section(md: &mut String, lines: &[Value]) {
    let all = select(lines, "ingest");
    let events = all.first().map_or(0.0, |l| num(l, "events"));
    let _ = writeln!(
        md,
        "### 1. Ingestion\n\n{} events per run, generated before the clock starts: 5 tenants \
         (40/25/15/12/8 %), 20 keys each, 11 models, routing, errors, streams, exact costs, \
         spread over 30 days in random order (each batch touches every day's partition). \
         Every run starts from empty tables after a CHECKPOINT. *store*: \
         `PostgresStore::write` (CSV encoding, COPY into the staging table, `INSERT .. ON \
         CONFLICT DO NOTHING` into the partitioned `usage_events` with its primary key and \
         tenant index), *writers* tasks sharing the store's pool. *floor*: the same rows, as \
         the same CSV encoded beforehand, COPYed by as many connections straight into an \
         unpartitioned table without index or conflict handling, one transaction per batch. \
         The two alternate, so they see the same conditions.\n",
        thousands(events)
    );
    let _ = writeln!(
        md,
        "| batch | writers | store events/s | floor events/s | store / floor | direct COPY events/s | store, live events/s | load1 | others (cores) |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    let mut configs: Vec<(u64, u64)> = all
        .iter()
        .filter(|l| text(l, "kind") != "writer")
        .map(|l| (num(l, "batch") as u64, num(l, "writers") as u64))
        .collect();
    configs.sort_unstable();
    configs.dedup();
    for (batch, writers) in configs {
        let of = |kind: &str| -> Vec<&Value> {
            all.iter()
                .filter(|l| text(l, "kind") == kind)
                .filter(|l| num(l, "batch") as u64 == batch && num(l, "writers") as u64 == writers)
                .copied()
                .collect()
        };
        let (store, floor) = (of("store"), of("floor"));
        let (direct, live) = (of("direct"), of("store_live"));
        let rates =
            |ls: &[&Value]| -> Vec<f64> { ls.iter().map(|l| num(l, "events_per_sec")).collect() };
        let (s, f) = (rates(&store), rates(&floor));
        let (d, l) = (rates(&direct), rates(&live));
        let (sm, fm) = (median(s.clone()), median(f.clone()));
        let (dm, lm) = (median(d.clone()), median(l.clone()));
        let every: Vec<&Value> = [&store, &floor, &direct, &live]
            .into_iter()
            .flatten()
            .copied()
            .collect();
        let (load, others) = loads(&every);
        let _ = writeln!(
            md,
            "| {} | {writers} | {} ({}) | {} ({}) | {:.2} | {} ({}) | {} ({}) | {load:.2} | {others:.2} |",
            thousands(batch as f64),
            thousands(sm),
            spread(&s),
            thousands(fm),
            spread(&f),
            sm / fm,
            thousands(dm),
            spread(&d),
            thousands(lm),
            spread(&l),
        );
    }
    let _ = writeln!(
        md,
        "\n*direct*: the same COPY into `usage_events` itself (partitions, primary key, tenant \
         index; no staging table, no `ON CONFLICT`), to split the gap between store and floor. \
         *store, live*: `PostgresStore::write` again, with as many events of one day (today) \
         in time order, as a running gateway sends them (one partition, keys increasing). \
         In parentheses: the lowest and highest of the rounds. `load1` and `others` are \
         medians over all runs of the row."
    );
    if let Some(check) = select(lines, "check").first() {
        let _ = writeln!(
            md,
            "\nThe floor's CSV gives exactly the store's rows (md5 over all rows of both tables after the first pair of runs): {}.",
            check["same_rows"]
        );
    }
    for client in select(lines, "client").into_iter().take(1) {
        let _ = writeln!(
            md,
            "\nClient side, one core: encoding the CSV (a copy of the store's encoder) runs at \
             {} events/s ({} bytes per event); turning events into counter increments and \
             applying them to `MemoryCounters` (the writer's other work per batch) at {} events/s.",
            thousands(num(client, "encode_events_per_sec")),
            num(client, "bytes_per_event"),
            thousands(num(client, "counters_events_per_sec")),
        );
    }
    let writer: Vec<&Value> = all
        .iter()
        .copied()
        .filter(|l| text(l, "kind") == "writer")
        .collect();
    if !writer.is_empty() {
        let _ = writeln!(
            md,
            "\n`analytics::writer::Writer` end to end (one writer task, `Counters::Memory`, \
             default flush interval; all events emitted into its queue at once, clock stopped \
             when the store holds them all):\n\n| batch | events/s | of which in `store.write` | load1 | others (cores) |\n|---:|---:|---:|---:|---:|"
        );
        let mut batches: Vec<u64> = writer.iter().map(|l| num(l, "batch") as u64).collect();
        batches.sort_unstable();
        batches.dedup();
        for batch in batches {
            let runs: Vec<&Value> = writer
                .iter()
                .filter(|l| num(l, "batch") as u64 == batch)
                .copied()
                .collect();
            let rates: Vec<f64> = runs.iter().map(|l| num(l, "events_per_sec")).collect();
            let share = median(
                runs.iter()
                    .map(|l| num(l, "store_write_secs") / num(l, "secs"))
                    .collect(),
            );
            let (load, others) = loads(&runs);
            let _ = writeln!(
                md,
                "| {} | {} ({}) | {:.0} % | {load:.2} | {others:.2} |",
                thousands(batch as f64),
                thousands(median(rates.clone())),
                spread(&rates),
                share * 100.0
            );
        }
    }
    let _ = writeln!(md);
}
