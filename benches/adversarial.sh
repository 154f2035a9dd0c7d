#!/usr/bin/env bash
# Normal traffic's latency through the gateway while adversarial prompts are counted.
#
# Starts, on loopback only, the mock provider and the gateway (release build) with
# two models: `mock` (normal traffic; no context window, never counted) and
# `big-window` (the mock, priced and limited as openai/gpt-4.1: a 1,047,576-token
# window, so a 1-4 MB prompt's byte bound is "near" it and the gateway counts the
# prompt's tokens exactly). Then, for each round:
#   direct: RATE req/s of normal chat requests to the mock itself (the floor);
#   quiet:  the same through the gateway;
#   loaded: the same through the gateway while CLIENTS clients send adversarial
#           1-4 MB prompts back to back (`loadgen adversarial`: one word, punctuation,
#           mixed scripts, whitespace), each checked for a clear answer.
# After the rounds it reads the gateway's token-count metrics, counts panics in its
# log and checks it still answers /healthz. `loadgen adversarial-report` turns the
# JSON lines into report.md; it exits non-zero if an adversarial prompt got no clear
# answer or the p99 added by the adversarial clients exceeds 1 ms.
#
# Usage: benches/adversarial.sh        (about 2 minutes after the build)
# Knobs (environment): ROUNDS=3 DURATION=10 WARMUP=2 RATE=500 CONNECTIONS=16
#   CLIENTS=4 MIN_BYTES=1000000 MAX_BYTES=4000000 NICE=-10 NO_BUILD=1
#   PROFILE=1 (a perf profile of the gateway during the last loaded run, perf-top.txt)
#   GATEWAY_EXTRA='' (TOML appended to the gateway's [routing] section, e.g.
#   'token_count_threads = 2') OUT=benches/out/adversarial-<time>
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
RATE=${RATE:-500}
CONNECTIONS=${CONNECTIONS:-16}
CLIENTS=${CLIENTS:-4}
MIN_BYTES=${MIN_BYTES:-1000000}
MAX_BYTES=${MAX_BYTES:-4000000}
NICE=${NICE:--10}
GATEWAY_EXTRA=${GATEWAY_EXTRA:-}
OUT=${OUT:-$ROOT/benches/out/adversarial-$(date -u +%Y%m%dT%H%M%SZ)}
BIN=$ROOT/target/release

log() { printf '== %s\n' "$*" >&2; }

if [ -z "${NO_BUILD:-}" ]; then
    log "building (release)"
    cargo build --release -p gateway -p benches
fi

renice -n "$NICE" -p $$ >/dev/null 2>&1 || log "cannot renice to $NICE; running at the default priority"

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

# CPU clock ticks used so far by one process.
cpu_ticks() {
    awk '{ sub(/^.*\) /, ""); split($0, f, " "); print f[12] + f[13] }' "/proc/$1/stat" 2>/dev/null || echo 0
}
# CPU clock ticks used so far by the threads of process $1 whose name starts with $2.
thread_ticks() {
    local task total=0 name
    for task in /proc/"$1"/task/*; do
        name=$(cat "$task/comm" 2>/dev/null || true)
        case $name in
            "$2"*) total=$((total + $(awk '{ sub(/^.*\) /, ""); split($0, f, " "); print f[12] + f[13] }' "$task/stat" 2>/dev/null || echo 0))) ;;
        esac
    done
    echo "$total"
}
# CPU clock ticks the whole machine has been busy.
busy_ticks() {
    awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat
}
HZ=$(getconf CLK_TCK)

export RUST_LOG=warn
MOCK_PORT=$(free_port)
GATEWAY_PORT=$(free_port)
while [ "$GATEWAY_PORT" = "$MOCK_PORT" ]; do GATEWAY_PORT=$(free_port); done

log "mock provider on 127.0.0.1:$MOCK_PORT"
"$BIN/gateway" mock-provider --listen "127.0.0.1:$MOCK_PORT" 2>"$OUT/mock.log" &
MOCK_PID=$!
PIDS+=("$MOCK_PID")
wait_port "$MOCK_PORT" mock

"$BIN/gateway" keys create --tenant bench --id bench >"$WORK/key.txt"
KEY=$(sed -n 's/^key (shown once, store it now): //p' "$WORK/key.txt")
[ -n "$KEY" ] || { log "could not mint a key"; exit 1; }
cat >"$WORK/gateway.toml" <<EOF
[server]
listen = "127.0.0.1:$GATEWAY_PORT"
log = "warn"
max_body_bytes = 8388608

[routing]
$GATEWAY_EXTRA

[analytics]
sqlite_path = "$WORK/analytics.sqlite"
spill_path = "$WORK/events.spill"

[[providers]]
name = "mock"
base_url = "http://127.0.0.1:$MOCK_PORT/v1"
api_key_env = "BENCH_MOCK_PROVIDER_KEY"

[[models]]
name = "mock"
provider = "mock"
upstream_model = "mock"

[[models]]
name = "big-window"
provider = "mock"
upstream_model = "mock"
price_as = "openai/gpt-4.1"

$(sed -n '/^\[\[keys\]\]/,$p' "$WORK/key.txt")
EOF
export BENCH_MOCK_PROVIDER_KEY=sk-bench-upstream
"$BIN/gateway" check-config --config "$WORK/gateway.toml" >&2
log "gateway on 127.0.0.1:$GATEWAY_PORT"
"$BIN/gateway" serve --config "$WORK/gateway.toml" 2>"$OUT/gateway.log" &
GATEWAY_PID=$!
PIDS+=("$GATEWAY_PID")
wait_port "$GATEWAY_PORT" gateway

RESULTS=$OUT/results.jsonl
: >"$RESULTS"
printf '{"kind":"meta","date":"%s","nproc":%s,"cpu":"%s","kernel":"%s","gateway_commit":"%s","loadavg_before":"%s"}\n' \
    "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$(nproc)" \
    "$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')" "$(uname -r)" \
    "$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)$(git -C "$ROOT" diff --quiet HEAD -- gateway pricing 2>/dev/null || echo '+dirty')" \
    "$(cut -d' ' -f1-3 /proc/loadavg)" >>"$RESULTS"

GATEWAY_URL=http://127.0.0.1:$GATEWAY_PORT/v1/chat/completions
MOCK_URL=http://127.0.0.1:$MOCK_PORT/v1/chat/completions

# normal LABEL URL KEY ROUND: RATE req/s of normal traffic; one JSON line, plus
# the machine's busy CPU and the gateway's and mock's during the run.
normal() {
    local label=$1 url=$2 key=$3 round=$4 busy0 gw0 mock0 count0 workers0
    busy0=$(busy_ticks); gw0=$(cpu_ticks "$GATEWAY_PID"); mock0=$(cpu_ticks "$MOCK_PID")
    count0=$(thread_ticks "$GATEWAY_PID" token-count); workers0=$(thread_ticks "$GATEWAY_PID" tokio-r)
    LOADGEN_KEY=$key "$BIN/loadgen" run --label "$label" --mode fixed --round "$round" --url "$url" \
        --model mock --rate "$RATE" --duration "$DURATION" --warmup "$WARMUP" \
        --connections "$CONNECTIONS" >>"$RESULTS"
    printf '{"kind":"cpu","label":"%s","round":%s,"machine_busy_s":%s,"gateway_s":%s,"gateway_workers_s":%s,"gateway_counting_s":%s,"mock_s":%s,"wall_s":%s}\n' \
        "$label" "$round" \
        "$(awk -v a="$(busy_ticks)" -v b="$busy0" -v hz="$HZ" 'BEGIN { printf "%.2f", (a - b) / hz }')" \
        "$(awk -v a="$(cpu_ticks "$GATEWAY_PID")" -v b="$gw0" -v hz="$HZ" 'BEGIN { printf "%.2f", (a - b) / hz }')" \
        "$(awk -v a="$(thread_ticks "$GATEWAY_PID" tokio-r)" -v b="$workers0" -v hz="$HZ" 'BEGIN { printf "%.2f", (a - b) / hz }')" \
        "$(awk -v a="$(thread_ticks "$GATEWAY_PID" token-count)" -v b="$count0" -v hz="$HZ" 'BEGIN { printf "%.2f", (a - b) / hz }')" \
        "$(awk -v a="$(cpu_ticks "$MOCK_PID")" -v b="$mock0" -v hz="$HZ" 'BEGIN { printf "%.2f", (a - b) / hz }')" \
        "$((WARMUP + DURATION))" >>"$RESULTS"
}

FAILED=0
for round in $(seq 1 "$ROUNDS"); do
    log "round $round of $ROUNDS: direct"
    normal direct "$MOCK_URL" sk-bench-direct "$round" || FAILED=1
    log "round $round of $ROUNDS: gateway, quiet"
    normal quiet "$GATEWAY_URL" "$KEY" "$round" || FAILED=1
    log "round $round of $ROUNDS: gateway, with $CLIENTS adversarial clients"
    LOADGEN_KEY=$KEY "$BIN/loadgen" adversarial --url "$GATEWAY_URL" --model big-window \
        --clients "$CLIENTS" --min-bytes "$MIN_BYTES" --max-bytes "$MAX_BYTES" --round "$round" \
        --duration $((WARMUP + DURATION + 2)) >>"$RESULTS" &
    ADVERSARIAL_PID=$!
    sleep 1
    PERF_PID=
    if [ -n "${PROFILE:-}" ] && [ "$round" = "$ROUNDS" ]; then
        # cpu-clock: this machine may expose no hardware counters; flat profile by
        # thread (comm) and symbol.
        perf record -e cpu-clock -F 999 -p "$GATEWAY_PID" -o "$OUT/perf.data" -- sleep $((WARMUP + DURATION)) \
            2>"$OUT/perf-record.log" &
        PERF_PID=$!
    fi
    normal loaded "$GATEWAY_URL" "$KEY" "$round" || FAILED=1
    wait "$ADVERSARIAL_PID" || FAILED=1
    if [ -n "$PERF_PID" ]; then
        wait "$PERF_PID" || true
        perf report -i "$OUT/perf.data" --sort comm,dso,symbol --stdio 2>/dev/null | grep -v '^#' | grep -v '^$' \
            | head -60 >"$OUT/perf-top.txt" || true
    fi
done

log "gateway state after the runs"
COUNTS=$(curl -s --max-time 10 "http://127.0.0.1:$GATEWAY_PORT/metrics" | sed -n 's/^gateway_token_counts_total{outcome="\([a-z_]*\)"} \([0-9]*\)$/"\1":\2/p' | paste -sd, -)
ALIVE=false
if kill -0 "$GATEWAY_PID" 2>/dev/null && [ "$(curl -s --max-time 5 "http://127.0.0.1:$GATEWAY_PORT/healthz")" = ok ]; then
    ALIVE=true
fi
PANICS=$(grep -c 'panicked' "$OUT/gateway.log" || true)
printf '{"kind":"gateway","token_counts":{%s},"panics":%s,"alive":%s,"loadavg_after":"%s"}\n' \
    "$COUNTS" "$PANICS" "$ALIVE" "$(cut -d' ' -f1-3 /proc/loadavg)" >>"$RESULTS"

log "report"
"$BIN/loadgen" adversarial-report "$RESULTS" | tee "$OUT/report.md" || FAILED=1
log "results in $OUT"
exit "$FAILED"
