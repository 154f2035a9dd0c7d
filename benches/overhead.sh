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
BIN=$ROOT/target/release

log() { printf '== %s\n' "$*" >&2; }

# --- build and tools -------------------------------------------------------------
if [ -z "${NO_BUILD:-}" ]; then
    log "building (release)"
    cargo build --release -p gateway -p benches
fi
if ! command -v nginx >/dev/null 2>&1; then
    log "installing nginx"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y nginx >/dev/null || { apt-get update >/dev/null && apt-get install -y nginx >/dev/null; }
fi
NGINX=$(command -v nginx)

# Every process started from here on inherits this priority.
renice -n "$NICE" -p $$ >/dev/null 2>&1 || log "cannot renice to $NICE; running at the default priority"

# --- processes, cleaned up whatever happens -------------------------------------
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

# A loopback port nothing listens on.
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

# CPU clock ticks used so far by a process and its direct children (nginx workers).
cpu_ticks() {
    # Processes may exit between the glob and the read: cat's complaint is no error.
    { cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk -v root="$1" '{
        pid = $1; rest = $0; sub(/^.*\) /, "", rest); split(rest, f, " ");
        if (pid == root || f[2] == root) total += f[12] + f[13]
    } END { print total + 0 }'
}
HZ=$(getconf CLK_TCK)

# CPU clock ticks the whole machine has been busy (user, nice, system, irq, softirq, steal).
busy_ticks() {
    awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat
}

# Waits (up to QUIET_WAIT seconds) for a second in which the machine is almost idle:
# our servers are idle between runs, so what is busy is other work.
wait_quiet() {
    local deadline=$((SECONDS + QUIET_WAIT)) before after
    [ "$SECONDS" -lt "$BUDGET" ] || deadline=$SECONDS
    while :; do
        before=$(busy_ticks)
        sleep 1
        after=$(busy_ticks)
        if [ $((after - before)) -le $((HZ / 5)) ]; then
            return 0
        fi
        if [ "$SECONDS" -ge "$deadline" ]; then
            log "the machine is busy with other work ($(((after - before) * 100 / HZ))% of a core); measuring anyway"
            return 0
        fi
    done
}

export RUST_LOG=warn
MOCK_PORT=$(free_port)
NGINX_PORT=$(free_port)
GATEWAY_PORT=$(free_port)
while [ "$NGINX_PORT" = "$MOCK_PORT" ]; do NGINX_PORT=$(free_port); done
while [ "$GATEWAY_PORT" = "$MOCK_PORT" ] || [ "$GATEWAY_PORT" = "$NGINX_PORT" ]; do GATEWAY_PORT=$(free_port); done

log "mock provider on 127.0.0.1:$MOCK_PORT"
"$BIN/gateway" mock-provider --listen "127.0.0.1:$MOCK_PORT" 2>"$OUT/mock.log" &
MOCK_PID=$!
PIDS+=("$MOCK_PID")
wait_port "$MOCK_PORT" mock

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

log "gateway on 127.0.0.1:$GATEWAY_PORT"
"$BIN/gateway" keys create --tenant bench --id bench >"$WORK/key.txt"
LOADGEN_GATEWAY_KEY=$(sed -n 's/^key (shown once, store it now): //p' "$WORK/key.txt")
[ -n "$LOADGEN_GATEWAY_KEY" ] || { log "could not mint a key"; exit 1; }
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

$(sed -n '/^\[\[keys\]\]/,$p' "$WORK/key.txt")
EOF
export BENCH_MOCK_PROVIDER_KEY=sk-bench-upstream
"$BIN/gateway" check-config --config "$WORK/gateway.toml" >&2
"$BIN/gateway" serve --config "$WORK/gateway.toml" 2>"$OUT/gateway.log" &
GATEWAY_PID=$!
PIDS+=("$GATEWAY_PID")
wait_port "$GATEWAY_PORT" gateway

# --- the runs --------------------------------------------------------------------
RESULTS=$OUT/results.jsonl
: >"$RESULTS"
FAILED=0
printf '{"kind":"meta","date":"%s","nproc":%s,"cpu":"%s","kernel":"%s","gateway_commit":"%s","nginx":"%s"}\n' \
    "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$(nproc)" \
    "$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')" "$(uname -r)" \
    "$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)$(git -C "$ROOT" diff --quiet HEAD -- gateway 2>/dev/null || echo '+dirty')" \
    "$("$NGINX" -v 2>&1 | sed 's/.*: //')" >>"$RESULTS"

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
    local attempt server_before mock_before system_before others
    for attempt in $(seq 0 "$RETRIES"); do
        wait_quiet
        : >"$WORK/run.jsonl"
        server_before=$(cpu_ticks "$server")
        mock_before=$(cpu_ticks "$MOCK_PID")
        system_before=$(busy_ticks)
        if ! LOADGEN_KEY=$key timeout $((WARMUP + DURATION + 60)) "$BIN/loadgen" run \
            --label "$label" --mode "$mode" --round "$round" --url "$url" --model "$model" --rate "$rate" \
            --duration "$DURATION" --warmup "$WARMUP" --connections "$connections" >>"$WORK/run.jsonl"; then
            log "loadgen failed: $label $mode"
            FAILED=1
        fi
        # server: the process the load generator talks to (the mock itself for
        # direct); system: the whole machine. What is left once the server, the mock
        # and the load generator are taken away was used by other work.
        others=$(awk -v l="$label" -v m="$mode" -v s="$(cpu_ticks "$server")" -v s0="$server_before" \
            -v k="$(cpu_ticks "$MOCK_PID")" -v k0="$mock_before" -v y="$(busy_ticks)" -v y0="$system_before" \
            -v hz="$HZ" -v out="$WORK/run.jsonl" -v lg="$(grep -o '"loadgen_cpu_s":[0-9.]*' "$WORK/run.jsonl" | cut -d: -f2)" 'BEGIN {
            fmt = "{\"kind\":\"cpu\",\"label\":\"%s\",\"mode\":\"%s\",\"process\":\"%s\",\"cpu_s\":%.2f}\n";
            printf fmt, l, m, "server", (s - s0) / hz >>out;
            printf fmt, l, m, "mock", (k - k0) / hz >>out;
            printf fmt, l, m, "system", (y - y0) / hz >>out;
            mock = (l == "direct") ? 0 : k - k0;
            printf "%.2f\n", (y - y0 - (s - s0) - mock) / hz - lg }')
        if awk -v o="$others" -v max="$OTHERS_MAX" 'BEGIN { exit !(o <= max) }' ||
            [ "$attempt" -ge "$RETRIES" ] || [ "$SECONDS" -ge "$BUDGET" ]; then
            break
        fi
        log "other work used ${others}s of CPU during $label $mode: measuring again"
        cat "$WORK/run.jsonl" >>"$OUT/disturbed.jsonl"
    done
    cat "$WORK/run.jsonl" >>"$RESULTS"
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
