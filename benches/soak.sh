#!/usr/bin/env bash
# Memory soak: the release gateway without Redis (in-process real-time counters)
# under steady load from many distinct keys and models, its RSS sampled every
# minute. Memory must level off after the warm-up and stay flat.
#
# Starts, on loopback only: the mock provider and the gateway (embedded SQLite
# store, no REDIS_URL) configured by `soak config` with KEYS API keys over TENANTS
# tenants, serving every OpenAI catalog model through the mock. Then `soak run`
# sends RATE requests/s (a random key and model each; 1% for made-up model names)
# for DURATION seconds and prints one JSON line per SAMPLE seconds and a summary
# (RSS at start, after WARMUP, at the end, and the least-squares slope after the
# warm-up in KiB per hour) into $OUT/soak.jsonl.
#
# MIXED=1 is issue 12's soak instead: the gateway on a fresh Postgres database
# (created here, migrated by the gateway, dropped at the end) and Redis (database
# REDIS_DB, emptied at the start and the end), RATE=2000 requests/s for 600 s of
# mixed traffic (`soak/mixed.rs`: plain and streamed requests, failovers from a
# provider that always answers 500, upstream errors with no fallback, unknown
# models) from 1,000 keys and USERS distinct users, RSS sampled every 10 s, one
# line of latency percentiles per minute. At the end, once the writer is done,
# the usage events in Postgres are counted against the requests the gateway
# answered ("lost events: N"), and each point of the issue gets a verdict line:
# RSS growth after the first minute < 5%, zero lost events, per-minute p50/p99
# flat (the highest minute at most FLAT_MAX times the median minute, first minute
# left out), and every request answered as its kind expects. Each minute, the CPU
# seconds of the gateway, the mock, Postgres, Redis and the driver go to
# $OUT/cpu.jsonl (and, at the end, to soak.jsonl).
#
# Usage: benches/soak.sh          (one hour)
#        MIXED=1 benches/soak.sh  (ten minutes, plus the build and up to FLUSH_WAIT)
# Knobs (environment): DURATION=3600 RATE=200 KEYS=1000 TENANTS=50 SAMPLE=60
#   WARMUP=600 CONNECTIONS=16 OUT=benches/out/soak-<time> NO_BUILD=1
#   BIN=target/release (with NO_BUILD=1, e.g. BIN=target/debug for a quick check)
#   MIXED=1 changes the defaults to DURATION=600 RATE=2000 SAMPLE=10 WARMUP=60
#   CONNECTIONS=128, and adds USERS=1000 PGHOST=127.0.0.1 PGPORT=5432
#   PGUSER=postgres REDIS_DB=14 FLUSH_WAIT=120 FLAT_MAX=2 (verdicts by `soak verdict`;
#   the script exits 1 when one is a MISS)
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
if [ -n "${MIXED:-}" ]; then
    DURATION=${DURATION:-600}
    RATE=${RATE:-2000}
    SAMPLE=${SAMPLE:-10}
    WARMUP=${WARMUP:-60}
    CONNECTIONS=${CONNECTIONS:-128}
fi
DURATION=${DURATION:-3600}
RATE=${RATE:-200}
KEYS=${KEYS:-1000}
TENANTS=${TENANTS:-50}
SAMPLE=${SAMPLE:-60}
WARMUP=${WARMUP:-600}
CONNECTIONS=${CONNECTIONS:-16}
USERS=${USERS:-1000}
export PGHOST=${PGHOST:-127.0.0.1} PGPORT=${PGPORT:-5432} PGUSER=${PGUSER:-postgres}
REDIS_DB=${REDIS_DB:-14}
FLUSH_WAIT=${FLUSH_WAIT:-120}
FLAT_MAX=${FLAT_MAX:-2}
OUT=${OUT:-$ROOT/benches/out/soak-$(date -u +%Y%m%dT%H%M%SZ)}
BIN=${BIN:-$ROOT/target/release}

log() { printf '== %s\n' "$*" >&2; }

if [ -z "${NO_BUILD:-}" ]; then
    log "building (release)"
    cargo build --release --locked -p gateway -p benches
fi

WORK=$(mktemp -d)
mkdir -p "$OUT"
PIDS=()
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    if [ -n "${PG_DB:-}" ]; then
        psql -qX -d postgres -c "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >&2 || log "could not drop $PG_DB"
        redis-cli -n "$REDIS_DB" FLUSHDB >/dev/null || log "could not empty Redis database $REDIS_DB"
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    local port
    while :; do
        port=$((20000 + RANDOM % 30000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return
        fi
    done
}

wait_port() {
    local port=$1 name=$2
    for _ in $(seq 1 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    log "$name did not start listening on $port"
    return 1
}

MOCK_PORT=$(free_port)
GATEWAY_PORT=$(free_port)
while [ "$GATEWAY_PORT" = "$MOCK_PORT" ]; do GATEWAY_PORT=$(free_port); done

export RUST_LOG=warn
unset REDIS_URL DATABASE_URL
STORE=()
MIXED_ARGS=()
if [ -n "${MIXED:-}" ]; then
    PG_DB=bench_soak_$(date -u +%Y%m%d%H%M%S)_$$
    log "Postgres database $PG_DB on $PGHOST:$PGPORT; Redis database $REDIS_DB"
    psql -qX -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE $PG_DB" >&2
    redis-cli -n "$REDIS_DB" FLUSHDB >/dev/null
    STORE=(--database-url "postgres://$PGUSER@$PGHOST:$PGPORT/$PG_DB" --redis-url "redis://127.0.0.1:6379/$REDIS_DB")
    MIXED_ARGS=(--mixed)
fi
log "mock provider on 127.0.0.1:$MOCK_PORT"
"$BIN/gateway" mock-provider --listen "127.0.0.1:$MOCK_PORT" 2>"$OUT/mock.log" &
PIDS+=("$!")
wait_port "$MOCK_PORT" mock

"$BIN/soak" config --listen "127.0.0.1:$GATEWAY_PORT" --mock "http://127.0.0.1:$MOCK_PORT/v1" \
    --data-dir "$WORK" --keys-file "$WORK/keys.txt" --keys "$KEYS" --tenants "$TENANTS" \
    "${STORE[@]}" "${MIXED_ARGS[@]}" >"$WORK/gateway.toml"
"$BIN/gateway" check-config --config "$WORK/gateway.toml" >&2
if [ -n "${MIXED:-}" ]; then
    log "gateway on 127.0.0.1:$GATEWAY_PORT (Postgres + Redis, mixed traffic)"
else
    log "gateway on 127.0.0.1:$GATEWAY_PORT (no Redis: in-process counters)"
fi
"$BIN/gateway" serve --config "$WORK/gateway.toml" 2>"$OUT/gateway.log" &
GATEWAY_PID=$!
PIDS+=("$GATEWAY_PID")
wait_port "$GATEWAY_PORT" gateway

printf '{"kind":"meta","date":"%s","nproc":%s,"gateway_commit":"%s","duration_s":%s,"rate":%s,"keys":%s,"tenants":%s,"mixed":%s,"users":%s}\n' \
    "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$(nproc)" \
    "$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)$(git -C "$ROOT" diff --quiet HEAD -- gateway analytics 2>/dev/null || echo '+dirty')" \
    "$DURATION" "$RATE" "$KEYS" "$TENANTS" "$([ -n "${MIXED:-}" ] && echo true || echo false)" "$USERS" >"$OUT/soak.jsonl"
# Per minute of the run: CPU seconds used by the gateway, the mock, every Postgres
# and Redis process and the driver, so a latency trend can be told apart from a
# process taking more of the two cores. (Per process: this VM's /proc/stat misses
# about a quarter of the ticks, so the machine's own busy figure is not used.)
ticks() {
    local total=0 pid
    for pid in "$@"; do
        total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0)))
    done
    echo "$total"
}
cpu_sampler() {
    local hz minute=0 before=() after=()
    hz=$(getconf CLK_TCK)
    sample_all() {
        echo "$(ticks "$GATEWAY_PID") $(ticks "${PIDS[0]}") $(ticks $(pgrep -x postgres)) \
$(ticks $(pgrep -x redis-server)) $(ticks $(pgrep -x soak))"
    }
    read -r -a before <<<"$(sample_all)"
    while sleep 60; do
        minute=$((minute + 1))
        read -r -a after <<<"$(sample_all)"
        local seconds=() i
        for i in 0 1 2 3 4; do
            # null for a process that ended during the minute (the driver, last).
            seconds+=("$(awk -v a="${after[$i]}" -v b="${before[$i]}" -v hz="$hz" 'BEGIN {if (a < b) print "null"; else printf "%.2f", (a - b) / hz}')")
        done
        printf '{"kind":"cpu","minute":%s,"gateway_s":%s,"mock_s":%s,"postgres_s":%s,"redis_s":%s,"driver_s":%s}\n' \
            "$minute" "${seconds[@]}" >>"$OUT/cpu.jsonl"
        before=("${after[@]}")
    done
}
: >"$OUT/cpu.jsonl"
cpu_sampler &
PIDS+=("$!")
"$BIN/soak" run --gateway "http://127.0.0.1:$GATEWAY_PORT" --keys-file "$WORK/keys.txt" \
    --pid "$GATEWAY_PID" --rate "$RATE" --duration "$DURATION" --sample "$SAMPLE" \
    --warmup "$WARMUP" --connections "$CONNECTIONS" --users "$USERS" "${MIXED_ARGS[@]}" | tee -a "$OUT/soak.jsonl"
if [ -z "${MIXED:-}" ]; then
    log "events in the store: $(sqlite3 "$WORK/analytics.sqlite" 'select count(*) from usage_events' 2>/dev/null || echo '?')"
    log "results in $OUT/soak.jsonl"
    exit 0
fi

# --- mixed: every answered request left one event; the verdicts -------------------
SUMMARY=$(grep '"kind":"summary"' "$OUT/soak.jsonl" | tail -1)
field() { grep -o "\"$1\":[^,}]*" <<<"$SUMMARY" | head -1 | cut -d: -f2; }
ANSWERED=$(field answered)
events() { psql -qXAt -d "$PG_DB" -c "SELECT count(*) FROM usage_events"; }
# The writer flushes in batches: wait until the count reaches the answered
# requests or stops changing for 10 s (at most FLUSH_WAIT s), then look again 2 s
# later (a duplicate would still be on its way).
deadline=$((SECONDS + FLUSH_WAIT)) last=-1 still=0
while :; do
    COUNTED=$(events)
    [ "$COUNTED" -ge "$ANSWERED" ] || [ "$SECONDS" -ge "$deadline" ] && break
    if [ "$COUNTED" = "$last" ]; then still=$((still + 1)); [ "$still" -ge 10 ] && break; else still=0; fi
    last=$COUNTED
    sleep 1
done
sleep 2
COUNTED=$(events)
DETAIL=$(psql -qXAt -F' ' -d "$PG_DB" -c "SELECT count(DISTINCT key_id), count(DISTINCT user_tag), count(*) FILTER (WHERE stream), count(*) FILTER (WHERE status >= 500), count(*) FILTER (WHERE status = 404), count(*) FILTER (WHERE attempts > 1 AND status = 200), count(*) - count(DISTINCT event_id) FROM usage_events")
read -r KEYS_SEEN USERS_SEEN STREAMED UPSTREAM_ERRORS REFUSED FAILED_OVER DUPLICATES <<<"$DETAIL"
printf '{"kind":"events","answered":%s,"counted":%s,"duplicates":%s,"keys":%s,"user_tags":%s,"streamed":%s,"upstream_errors":%s,"refused_404":%s,"failed_over":%s}\n' \
    "$ANSWERED" "$COUNTED" "$DUPLICATES" "$KEYS_SEEN" "$USERS_SEEN" "$STREAMED" "$UPSTREAM_ERRORS" "$REFUSED" "$FAILED_OVER" >>"$OUT/soak.jsonl"
cat "$OUT/cpu.jsonl" >>"$OUT/soak.jsonl"
VERDICT=0
"$BIN/soak" verdict --flat-max "$FLAT_MAX" "$OUT/soak.jsonl" | tee "$OUT/verdicts.txt" >&2 || VERDICT=1
log "results in $OUT/soak.jsonl and $OUT/verdicts.txt"
exit "$VERDICT"
