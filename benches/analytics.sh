#!/usr/bin/env bash
# The analytics store under load (issue 4): ingestion through PostgresStore::write
# against a raw COPY floor and through the batching Writer, rollup of 10 million
# events, and dashboard query latency as a tenant (RLS). See
# benches/src/analytics_bench.rs for what each figure is.
#
# Creates a throwaway database gw_bench_<random> on the Postgres server of PGURL,
# runs `analytics_bench` against it, drops it whatever happens, and appends the
# Markdown section "## Analytics (issue 4)" to benches/RESULTS.md (one append).
#
# Usage: benches/analytics.sh            (about 15 minutes after the build)
# Knobs (environment): PGURL=postgres://postgres@127.0.0.1:5432 (server; the admin
#   database is $PGURL/test) ROUNDS=3 INGEST_EVENTS=250000 BATCHES=2000,5000
#   WRITERS=1,2,4 BULK_EVENTS=10000000 ROLLUP_ROUNDS=2 QUERY_RUNS=200
#   QUIET_WAIT=10 (seconds to wait, before each run, for a second with under
#   QUIET_THRESHOLD=0.5 busy cores) BUDGET=900 (seconds after which it stops waiting)
#   LIMIT=1500 (seconds after which the benchmark is killed) NICE=-5
#   OUT=benches/out/analytics-<time> RESULTS=benches/RESULTS.md (APPEND=0: do not
#   append) NO_BUILD=1
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
PGURL=${PGURL:-postgres://postgres@127.0.0.1:5432}
ADMIN_DB=${ADMIN_DB:-test}
ROUNDS=${ROUNDS:-3}
INGEST_EVENTS=${INGEST_EVENTS:-250000}
BATCHES=${BATCHES:-2000,5000}
WRITERS=${WRITERS:-1,2,4}
BULK_EVENTS=${BULK_EVENTS:-10000000}
ROLLUP_ROUNDS=${ROLLUP_ROUNDS:-2}
QUERY_RUNS=${QUERY_RUNS:-200}
QUIET_WAIT=${QUIET_WAIT:-10}
QUIET_THRESHOLD=${QUIET_THRESHOLD:-0.5}
BUDGET=${BUDGET:-900}
LIMIT=${LIMIT:-1500}
NICE=${NICE:--5}
OUT=${OUT:-$ROOT/benches/out/analytics-$(date -u +%Y%m%dT%H%M%SZ)}
RESULTS=${RESULTS:-$ROOT/benches/RESULTS.md}
APPEND=${APPEND:-1}

log() { printf '== %s\n' "$*" >&2; }

if [ -z "${NO_BUILD:-}" ]; then
    log "building (release)"
    cargo build --release -p benches --bin analytics_bench
fi
renice -n "$NICE" -p $$ >/dev/null 2>&1 || log "cannot renice to $NICE; running at the default priority"

DB=gw_bench_$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')
psql_admin() { psql "$PGURL/$ADMIN_DB" -v ON_ERROR_STOP=1 -qAt "$@"; }
cleanup() {
    psql_admin -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 \
        || log "could not drop database $DB: drop it by hand"
}
trap cleanup EXIT
psql_admin -c "CREATE DATABASE $DB"
log "database $DB; output in $OUT; load $(cut -d' ' -f1-3 /proc/loadavg)"
mkdir -p "$OUT"

COMMAND="benches/analytics.sh"
# The exact command: the knobs that differ from their defaults, then the script.
declare -A DEFAULTS=([ROUNDS]=3 [INGEST_EVENTS]=250000 [BATCHES]=2000,5000 [WRITERS]=1,2,4
    [BULK_EVENTS]=10000000 [ROLLUP_ROUNDS]=2 [QUERY_RUNS]=200)
for knob in "${!DEFAULTS[@]}"; do
    if [ "${!knob}" != "${DEFAULTS[$knob]}" ]; then
        COMMAND="$knob=${!knob} $COMMAND"
    fi
done

# What was measured: the commit, and the uncommitted changes to the store, if any.
GIT_STATE="commit $(git rev-parse --short HEAD)"
DIRTY=$(git status --porcelain -- analytics migrations | awk '{print $2}' | tr '\n' ' ')
if [ -n "$DIRTY" ]; then
    GIT_STATE="$GIT_STATE with uncommitted changes to ${DIRTY% }"
fi

timeout --signal=INT --kill-after=30 "$LIMIT" \
    "$ROOT/target/release/analytics_bench" \
    --database-url "$PGURL/$DB" \
    --out "$OUT" \
    --rounds "$ROUNDS" \
    --ingest-events "$INGEST_EVENTS" \
    --batches "$BATCHES" \
    --writers "$WRITERS" \
    --bulk-events "$BULK_EVENTS" \
    --rollup-rounds "$ROLLUP_ROUNDS" \
    --query-runs "$QUERY_RUNS" \
    --quiet-wait "$QUIET_WAIT" \
    --quiet-threshold "$QUIET_THRESHOLD" \
    --budget "$BUDGET" \
    --command "$COMMAND" \
    --git-state "$GIT_STATE" \
    2> >(tee "$OUT/bench.log" >&2)

if [ "$APPEND" = 1 ]; then
    # One append, so other writers of RESULTS.md are not disturbed.
    { [ -s "$RESULTS" ] && printf '\n'; cat "$OUT/report.md"; } >>"$RESULTS"
    log "appended the section to $RESULTS"
fi
log "report: $OUT/report.md"
