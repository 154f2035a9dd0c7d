#!/usr/bin/env bash
# The gateway's added latency and throughput, side by side with nginx as the floor.
#
# Starts, on loopback only: the mock provider, nginx proxying to it (upstream
# keep-alive, no buffering, no access log) and the gateway proxying to it (log level
# warn). Then, for each target {direct mock, nginx->mock, gateway->mock}, runs
# `loadgen` three ways: fixed rate (open loop), max throughput (closed loop) and
# streams at a fixed rate. Each run's JSON line goes to results.jsonl with the CPU
# the server processes used; the gateway's peak RSS (VmHWM, reset just before) is
# read after its throughput run. `loadgen report` turns the lines into report.md.
#
# Every run is repeated ROUNDS times, interleaved (round 1 of all nine runs, then
# round 2, ...), and the report gives the median of each figure: one disturbed run
# on a shared machine does not decide a result.
#
# Usage: benches/overhead.sh            (about 3-4 minutes after the build)
# Knobs (environment): ROUNDS=3 DURATION=5 WARMUP=1 RATE=1000 STREAM_RATE=200
#   FIXED_CONNECTIONS=16 MAX_CONNECTIONS=32 STREAM_CONNECTIONS=64
#   STREAM_MODEL='mock+chunk_delay_ms=5+words=16' OUT=benches/out/<time> NO_BUILD=1
#   PROFILE=1 (also records a perf profile of the gateway during an extra max run)
#   NICE=-10 (priority of every process of the benchmark; other work on the machine
#   competes less) QUIET_WAIT=30 (seconds to wait, before each run, for the rest of
#   the machine to be idle) OTHERS_MAX=0.5 RETRIES=2 (a run during which other
#   processes used more than OTHERS_MAX CPU seconds is measured again, up to RETRIES
#   times; the disturbed attempts go to disturbed.jsonl, and the CPU others used in
#   each kept run is in the report) BUDGET=900 (seconds after which the script stops
#   waiting and retrying, so that it always ends)
#   BIN=target/release (where the gateway and loadgen binaries are; with NO_BUILD=1,
#   e.g. BIN=target/debug for a quick check that everything answers)
# Helpers shared with translate_overhead.sh are in benches/lib.sh.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5}
WARMUP=${WARMUP:-1}
RATE=${RATE:-1000}
STREAM_RATE=${STREAM_RATE:-200}
FIXED_CONNECTIONS=${FIXED_CONNECTIONS:-16}
MAX_CONNECTIONS=${MAX_CONNECTIONS:-32}
STREAM_CONNECTIONS=${STREAM_CONNECTIONS:-64}
STREAM_MODEL=${STREAM_MODEL:-mock+chunk_delay_ms=5+words=16}
OUT=${OUT:-$ROOT/benches/out/$(date -u +%Y%m%dT%H%M%SZ)}
NICE=${NICE:--10}
QUIET_WAIT=${QUIET_WAIT:-30}
OTHERS_MAX=${OTHERS_MAX:-0.5}
RETRIES=${RETRIES:-2}
BUDGET=$((SECONDS + ${BUDGET:-900}))
BIN=${BIN:-$ROOT/target/release}
# shellcheck source=benches/lib.sh
. "$ROOT/benches/lib.sh"

# --- build and tools -------------------------------------------------------------
build_release
if ! command -v nginx >/dev/null 2>&1; then
    log "installing nginx"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y nginx >/dev/null || { apt-get update >/dev/null && apt-get install -y nginx >/dev/null; }
fi
NGINX=$(command -v nginx)

# --- processes, cleaned up whatever happens -------------------------------------
bench_init
export RUST_LOG=warn
pick_ports MOCK_PORT NGINX_PORT GATEWAY_PORT
start_mock

log "nginx on 127.0.0.1:$NGINX_PORT"
mkdir -p "$WORK/nginx"
cat >"$WORK/nginx/nginx.conf" <<EOF
worker_processes $(nproc);
pid $WORK/nginx/nginx.pid;
error_log $OUT/nginx-error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $WORK/nginx/body;
    proxy_temp_path $WORK/nginx/proxy;
    fastcgi_temp_path $WORK/nginx/fastcgi;
    uwsgi_temp_path $WORK/nginx/uwsgi;
    scgi_temp_path $WORK/nginx/scgi;
    upstream mock {
        server 127.0.0.1:$MOCK_PORT;
        keepalive 256;
        keepalive_requests 100000000;
    }
    server {
        listen 127.0.0.1:$NGINX_PORT;
        keepalive_requests 100000000;
        location / {
            proxy_pass http://mock;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
        }
    }
}
EOF
"$NGINX" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -g 'daemon off;' 2>>"$OUT/nginx-error.log" &
NGINX_PID=$!
PIDS+=("$NGINX_PID")
wait_port "$NGINX_PORT" nginx

mint_key
cat >"$WORK/gateway.toml" <<EOF
[server]
listen = "127.0.0.1:$GATEWAY_PORT"
log = "warn"

# The embedded usage store, kept out of the work tree.
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
name = "mock-stream"
provider = "mock"
upstream_model = "$STREAM_MODEL"

$(gateway_key_toml)
EOF
export BENCH_MOCK_PROVIDER_KEY=sk-bench-upstream
start_gateway "$WORK/gateway.toml"

# --- the runs --------------------------------------------------------------------
RESULTS=$OUT/results.jsonl
: >"$RESULTS"
FAILED=0
write_meta ",\"nginx\":\"$("$NGINX" -v 2>&1 | sed 's/.*: //')\""

# run LABEL MODE ROUND: one loadgen run against one target.
run() {
    local label=$1 mode=$2 round=$3 url model server key connections
    case $label in
        direct) url=http://127.0.0.1:$MOCK_PORT/v1/chat/completions; server=$MOCK_PID; key=sk-bench-direct ;;
        nginx) url=http://127.0.0.1:$NGINX_PORT/v1/chat/completions; server=$NGINX_PID; key=sk-bench-direct ;;
        gateway) url=http://127.0.0.1:$GATEWAY_PORT/v1/chat/completions; server=$GATEWAY_PID; key=$LOADGEN_GATEWAY_KEY ;;
    esac
    case $mode in
        fixed) model=mock; connections=$FIXED_CONNECTIONS ;;
        max) model=mock; connections=$MAX_CONNECTIONS ;;
        stream)
            connections=$STREAM_CONNECTIONS
            # The gateway maps its model `mock-stream` onto the same mock behaviour.
            if [ "$label" = gateway ]; then model=mock-stream; else model=$STREAM_MODEL; fi ;;
    esac
    local rate=$RATE
    [ "$mode" = stream ] && rate=$STREAM_RATE
    measure "$label" "$mode" "$round" "$server" "$key" \
        --url "$url" --model "$model" --rate "$rate" --connections "$connections"
}

for round in $(seq 1 "$ROUNDS"); do
    log "round $round of $ROUNDS"
    for mode in fixed max stream; do
        for label in direct nginx gateway; do
            if [ "$mode" = max ] && [ "$label" = gateway ]; then
                # Peak RSS of the throughput run alone: `5` resets VmHWM to the current RSS.
                echo 5 >"/proc/$GATEWAY_PID/clear_refs" 2>/dev/null || log "cannot reset VmHWM; the peak covers the whole run"
            fi
            run "$label" "$mode" "$round"
            if [ "$mode" = max ] && [ "$label" = gateway ]; then
                printf '{"kind":"rss","label":"gateway","round":%s,"vmhwm_kb":%s,"vmrss_kb":%s}\n' "$round" \
                    "$(awk '/^VmHWM/ {print $2}' "/proc/$GATEWAY_PID/status")" \
                    "$(awk '/^VmRSS/ {print $2}' "/proc/$GATEWAY_PID/status")" >>"$RESULTS"
            fi
        done
    done
done

if [ -n "${PROFILE:-}" ]; then
    log "profiling the gateway during a max-throughput run (perf, $OUT/perf.data)"
    # cpu-clock: this machine may expose no hardware counters. Flat profile: the
    # binaries have no frame pointers, and DWARF call graphs of a 12 s run are huge.
    perf record -e cpu-clock -F 999 -p "$GATEWAY_PID" -o "$OUT/perf.data" -- sleep $((WARMUP + DURATION)) 2>"$OUT/perf-record.log" &
    PERF_PID=$!
    PIDS+=("$PERF_PID")
    LOADGEN_KEY=$LOADGEN_GATEWAY_KEY "$BIN/loadgen" run --label gateway-profiled --mode max \
        --url "http://127.0.0.1:$GATEWAY_PORT/v1/chat/completions" --model mock \
        --duration "$DURATION" --warmup "$WARMUP" --connections "$MAX_CONNECTIONS" >/dev/null || true
    wait "$PERF_PID" || true
    perf report -i "$OUT/perf.data" --sort dso,symbol --stdio 2>/dev/null | grep -v '^#' | grep -v '^$' | head -60 >"$OUT/perf-top.txt" || true
fi

log "report"
"$BIN/loadgen" report --others-max "$OTHERS_MAX" "$RESULTS" | tee "$OUT/report.md"
log "results in $OUT"
exit "$FAILED"
