#!/usr/bin/env bash
# What admission control adds to the request path: auth + shared limits + budget
# (one Redis round trip per request, settle after the answer) over the same path
# without limits, at 1,000 req/s (issue 10's target: < 0.1 ms p50 added).
#
# The real measurement (release build, on a quiet machine; 18 runs of WARMUP +
# DURATION s, about 3 minutes, more while it waits for quiet, up to BUDGET):
#
#     bash benches/admission.sh
#
# A smoke run that only proves every target answers (debug build, seconds):
#
#     NO_BUILD=1 BIN=target/debug ROUNDS=1 DURATION=1 WARMUP=0 QUIET_WAIT=0 RATE=50 \
#         bash benches/admission.sh
#
# Starts, on loopback only: the mock provider, a redis-server of its own (no
# persistence, a free port) and one gateway using that Redis for its real-time
# counters and its limits, with two keys in two tenants:
#
#   gw-plain     a key of a tenant without any limit or budget: today's path
#                (auth, routing, billing, counters in Redis), no admission
#   gw-limited   a key with rpm, tpm, max_concurrent and daily and monthly
#                budgets on the key, its team and its tenant (every scope, every
#                limit: the most the admission script does), all far too high
#                to refuse anything
#   direct       the mock called directly, for reference
#
# Both gateway targets ask for the same priced model of the same process, so the
# only difference between them is admission. Each target runs at a fixed rate
# (open loop, RATE req/s: the latency figures) and at max throughput (closed
# loop: the CPU per request), ROUNDS interleaved rounds, medians reported
# (benches/lib.sh, `loadgen run`, `loadgen report`, as overhead.sh). Two reports:
# against gw-plain (the figure of record: added p50 of gw-limited) and against
# direct (what each gateway path adds over the mock).
#
# Knobs (environment): ROUNDS=3 DURATION=5 WARMUP=1 RATE=1000 FIXED_CONNECTIONS=16
#   MAX_CONNECTIONS=32 OUT=benches/out/admission-<time> NO_BUILD=1 BIN=target/release
#   NICE=-10 QUIET_WAIT=30 OTHERS_MAX=0.5 RETRIES=2 BUDGET=900 (as in overhead.sh)
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5}
WARMUP=${WARMUP:-1}
RATE=${RATE:-1000}
FIXED_CONNECTIONS=${FIXED_CONNECTIONS:-16}
MAX_CONNECTIONS=${MAX_CONNECTIONS:-32}
OUT=${OUT:-$ROOT/benches/out/admission-$(date -u +%Y%m%dT%H%M%SZ)}
NICE=${NICE:--10}
QUIET_WAIT=${QUIET_WAIT:-30}
OTHERS_MAX=${OTHERS_MAX:-0.5}
RETRIES=${RETRIES:-2}
BUDGET=$((SECONDS + ${BUDGET:-900}))
BIN=${BIN:-$ROOT/target/release}
# shellcheck source=benches/lib.sh
. "$ROOT/benches/lib.sh"

command -v redis-server >/dev/null || { log "redis-server is needed"; exit 1; }
build_release
bench_init
export RUST_LOG=warn
pick_ports MOCK_PORT REDIS_PORT GATEWAY_PORT
start_mock

log "redis-server on 127.0.0.1:$REDIS_PORT"
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$WORK" \
    >"$OUT/redis.log" 2>&1 &
REDIS_PID=$!
PIDS+=("$REDIS_PID")
wait_port "$REDIS_PORT" redis

# key NAME: a fresh client key in KEY_<NAME> and its hash in HASH_<NAME>.
key() {
    local secret
    secret=sk-gw-bench-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
    printf -v "KEY_$1" '%s' "$secret"
    printf -v "HASH_$1" 'sha256:%s' "$(printf '%s' "$secret" | sha256sum | cut -d' ' -f1)"
}
key PLAIN
key LIMITED
# Every limit of every scope, none of which refuses at this load.
HIGH='rpm = 100000000
tpm = 1000000000000
max_concurrent = 100000
budget_daily_usd = "1000000"
budget_monthly_usd = "1000000"'

cat >"$WORK/gateway.toml" <<EOF
[server]
listen = "127.0.0.1:$GATEWAY_PORT"
log = "warn"

[limits]
replicas = 1
redis_prefix = "bench"

# Events in the embedded store, kept out of the work tree; counters and limits in Redis.
[analytics]
sqlite_path = "$WORK/analytics.sqlite"
spill_path = "$WORK/events.spill"
redis_url = "redis://127.0.0.1:$REDIS_PORT"

[[providers]]
name = "mock"
base_url = "http://127.0.0.1:$MOCK_PORT/v1"
api_key_env = "BENCH_MOCK_PROVIDER_KEY"

[[models]]
name = "mock"
provider = "mock"
upstream_model = "mock"
price = { input = "0.15", output = "0.60" }

[[tenants]]
id = "limited"
$HIGH

[[teams]]
tenant = "limited"
id = "limited-team"
$HIGH

[[keys]]
id = "bench-plain"
hash = "$HASH_PLAIN"
tenant = "plain"

[[keys]]
id = "bench-limited"
hash = "$HASH_LIMITED"
tenant = "limited"
team = "limited-team"
$HIGH
EOF
export BENCH_MOCK_PROVIDER_KEY=sk-bench-upstream
start_gateway "$WORK/gateway.toml"

RESULTS=$OUT/results.jsonl
: >"$RESULTS"
FAILED=0
write_meta ",\"redis\":\"$(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/')\""

# run LABEL MODE ROUND: one loadgen run against one target.
run() {
    local label=$1 mode=$2 round=$3 url server key connections
    case $label in
        direct) url=http://127.0.0.1:$MOCK_PORT/v1/chat/completions; server=$MOCK_PID; key=sk-bench-direct ;;
        gw-plain) url=http://127.0.0.1:$GATEWAY_PORT/v1/chat/completions; server=$GATEWAY_PID; key=$KEY_PLAIN ;;
        gw-limited) url=http://127.0.0.1:$GATEWAY_PORT/v1/chat/completions; server=$GATEWAY_PID; key=$KEY_LIMITED ;;
    esac
    case $mode in
        fixed) connections=$FIXED_CONNECTIONS ;;
        max) connections=$MAX_CONNECTIONS ;;
    esac
    measure "$label" "$mode" "$round" "$server" "$key" \
        --url "$url" --model mock --rate "$RATE" --connections "$connections"
}

for round in $(seq 1 "$ROUNDS"); do
    log "round $round of $ROUNDS"
    for mode in fixed max; do
        for label in direct gw-plain gw-limited; do
            run "$label" "$mode" "$round"
        done
    done
done

# Admission really ran: the limited key's scopes have state in Redis.
ADMISSION_KEYS=$(redis-cli -p "$REDIS_PORT" --scan --pattern 'bench:*' | wc -l)
log "limits keys in Redis after the runs: $ADMISSION_KEYS"
[ "$ADMISSION_KEYS" -gt 0 ] || { log "no limits state in Redis: admission did not run"; FAILED=1; }
# What Redis spent per command (the scripts' own time, apart from the round trip)
# and in all, for RESULTS.md's account of what bounds the added latency.
redis-cli -p "$REDIS_PORT" INFO commandstats >"$OUT/redis-commandstats.txt"
redis-cli -p "$REDIS_PORT" INFO cpu >"$OUT/redis-cpu.txt"
# Every admission went through Redis: one decided locally (a Redis round trip over
# [limits] redis_timeout_ms) would measure the local engine instead.
FALLBACKS=$(curl -s "http://127.0.0.1:$GATEWAY_PORT/metrics" |
    awk '/^gateway_limits_fallback_total/ { sum += $NF } END { print sum + 0 }')
log "admissions decided locally (Redis too slow or unreachable): $FALLBACKS"
[ "$FALLBACKS" = 0 ] || { log "some admissions fell back to local limits: the gw-limited figures are not all Redis's"; FAILED=1; }
if grep -q . "$OUT/gateway.log"; then log "the gateway logged (see $OUT/gateway.log)"; fi

log "report"
{
    echo "## Against gw-plain (what admission adds)"
    "$BIN/loadgen" report --baseline gw-plain --no-targets --summary --others-max "$OTHERS_MAX" "$RESULTS"
    echo
    echo "## Against direct (what each gateway path adds over the mock)"
    "$BIN/loadgen" report --no-targets --others-max "$OTHERS_MAX" "$RESULTS"
} | tee "$OUT/report.md"
if grep -q '"error_total":[1-9]' "$RESULTS"; then
    log "some requests failed: see the errors columns"
    FAILED=1
fi
log "results in $OUT"
exit "$FAILED"
