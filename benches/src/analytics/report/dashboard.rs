//! The dashboard part of the report: latency tables (idle, under a background
//! writer, and the what-if over per-tenant daily totals), and the query plans.

use std::fmt::Write as _;

use serde_json::Value;

use super::{loads, median, num, select, text, thousands};

/// Per tenant and query: events, median p50/p95/p99/max over the rounds, load1 and
/// others; idle runs or those under the background writer.
pub(super) fn medians(
    lines: &[Value],
    background: bool,
) -> Vec<(String, String, u64, [f64; 4], f64, f64)> {
    let all: Vec<&Value> = select(lines, "dashboard")
        .into_iter()
        .filter(|l| l.get("background").is_some_and(|b| !b.is_null()) == background)
        .collect();
    let mut keys: Vec<(String, String)> = all
        .iter()
        .map(|l| (text(l, "tenant").to_owned(), text(l, "query").to_owned()))
        .collect();
    keys.dedup();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .map(|(tenant, query)| {
            let runs: Vec<&Value> = all
                .iter()
                .filter(|l| text(l, "tenant") == tenant && text(l, "query") == query)
                .copied()
                .collect();
            let pick = |key: &str| median(runs.iter().map(|l| num(l, key)).collect());
            let events = runs.first().map_or(0.0, |l| num(l, "tenant_events")) as u64;
            let (load, others) = loads(&runs);
            (
                tenant,
                query,
                events,
                [
                    pick("p50_ms"),
                    pick("p95_ms"),
                    pick("p99_ms"),
                    pick("max_ms"),
                ],
                load,
                others,
            )
        })
        .collect()
}

pub(super) fn section(md: &mut String, lines: &[Value]) {
    let _ = writeln!(
        md,
        "### 3. Dashboard queries\n\n`PostgresStore::summary(tenant, 30 days)` and \
         `daily_series(tenant, 30 days)` over the rolled-up data set, each call its own tenant \
         transaction on a reader connection bound to the tenant (RLS), called alternately and back to back \
         from one client after a warm-up; times are the whole call as the dashboard sees it. \
         `tenant_tx_select_1` is the same tenant transaction around `SELECT 1` \
         (`with_tenant`): the fixed cost of a call. The `what-if` rows read the same totals \
         from `bench_tenant_daily`, one row per tenant and day built from `usage_daily` in \
         the benchmark's database (not in the store; same grants, RLS policies and tenant \
         transaction), measured right after the store's queries for the same tenant.\n"
    );
    if let Some(built) = select(lines, "whatif")
        .into_iter()
        .find(|l| text(l, "what").starts_with("build"))
    {
        let _ = writeln!(
            md,
            "Building `bench_tenant_daily` from `usage_daily` took {:.2} s ({} rows).\n",
            num(built, "secs"),
            thousands(num(built, "rows"))
        );
    }
    let table = |md: &mut String, rows: Vec<(String, String, u64, [f64; 4], f64, f64)>| {
        let _ = writeln!(
            md,
            "| tenant | events | query | p50 ms | p95 ms | p99 ms | max ms | load1 | others (cores) |\n|---|---:|---|---:|---:|---:|---:|---:|---:|"
        );
        for (tenant, query, events, [p50, p95, p99, max], load, others) in rows {
            let _ = writeln!(
                md,
                "| {tenant} | {} | `{query}` | {p50:.2} | {p95:.2} | {p99:.2} | {max:.2} | {load:.2} | {others:.2} |",
                thousands(events as f64)
            );
        }
    };
    let runs = select(lines, "dashboard")
        .first()
        .map_or(0.0, |l| num(l, "runs"));
    let _ = writeln!(
        md,
        "Idle ({runs} calls of each query per tenant and round):\n"
    );
    table(md, medians(lines, false));
    if let Some(bg) = select(lines, "background_ingest").first() {
        let label = select(lines, "dashboard")
            .iter()
            .find_map(|l| l.get("background").and_then(Value::as_str))
            .unwrap_or("")
            .to_owned();
        let _ = writeln!(
            md,
            "\nWhile a background {label} ingests ({} events/s meanwhile), one round:\n",
            thousands(num(bg, "events_per_sec"))
        );
        table(md, medians(lines, true));
    }
    let _ = writeln!(md);
}

pub(super) fn plans(md: &mut String, lines: &[Value]) {
    let mut explains = select(lines, "explain");
    explains.extend(
        select(lines, "whatif")
            .into_iter()
            .filter(|l| l.get("plan").is_some()),
    );
    if explains.is_empty() {
        return;
    }
    let _ = writeln!(
        md,
        "### Query plans (EXPLAIN (ANALYZE, BUFFERS), same SQL and binds as the store)\n"
    );
    for plan in explains {
        let _ = writeln!(
            md,
            "<details><summary><code>{}</code>: {:.1} ms</summary>\n\n```\n{}\n```\n</details>\n",
            match text(plan, "statement") {
                "" => format!("what-if: {}, first day", text(plan, "what")),
                statement => statement.to_owned(),
            },
            execution_ms(text(plan, "plan")),
            compact(text(plan, "plan"))
        );
    }
}

fn execution_ms(plan: &str) -> f64 {
    plan.lines()
        .find_map(|l| l.trim().strip_prefix("Execution Time: "))
        .and_then(|v| v.trim_end_matches(" ms").parse().ok())
        .unwrap_or(f64::NAN)
}

/// A plan without the repetition of one scan per partition: the first two partition
/// scans are kept, the others counted; very long lines are cut.
fn compact(plan: &str) -> String {
    let mut out = Vec::new();
    let mut scans = 0;
    let mut skipping = None;
    let mut skipped = 0;
    for line in plan.lines() {
        let indent = line.len() - line.trim_start().len();
        if let Some(depth) = skipping {
            if indent > depth {
                continue;
            }
            skipping = None;
        }
        if line.contains("Scan on usage_events_") {
            scans += 1;
            if scans > 2 {
                skipped += 1;
                skipping = Some(indent);
                continue;
            }
        }
        let cut: String = line.chars().take(220).collect();
        out.push(if cut.len() < line.len() {
            format!("{cut} ...")
        } else {
            cut
        });
    }
    if skipped > 0 {
        out.push(format!(
            "({skipped} more partition scans like the two above left out)"
        ));
    }
    out.join("\n")
}
