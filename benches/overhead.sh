#!/usr/bin/env bash
# The gateway's added latency and throughput, side by side with nginx as the floor,
# with both usage stores: one run gives every row of issue 12's "Prove it".
#
# Starts, on loopback only: the mock provider, nginx proxying to it (upstream
# keep-alive, no buffering, no access log) and two gateways proxying to it (log
# level warn): `gateway` with the embedded SQLite store, `gateway-pg` with a fresh
# Postgres database (created here, migrated by the gateway, dropped at the end)
# and Redis (database REDIS_DB, emptied at the start and the end). Then, for each
# target {direct mock, nginx->mock, gateway->mock, gateway-pg->mock}, runs
# `loadgen` three ways: fixed rate (open loop), max throughput (closed loop) and
# streams at a fixed rate; then, for HIGH_TARGETS, a fixed HIGH_RATE (10,000
# req/s, series `fixed10k`), after which gateway-pg's usage events of that run are
# counted in Postgres (the run has its own key, `bench-10k`) and compared with
# the requests offered and answered. Each run's JSON line goes to results.jsonl
# with the CPU the server processes used; each gateway's peak RSS (VmHWM, reset
# just before) is read after its throughput run. `loadgen report` turns the lines
# into report.md, with one pass/MISS row per target and store.
#
# Every run is repeated ROUNDS times, interleaved (round 1 of all runs, then round
# 2, ...), and the report gives the median of each figure: one disturbed run on a
# shared machine does not decide a result.
#
# Usage: benches/overhead.sh            (about 10 minutes after the build)
# Knobs (environment): ROUNDS=3 DURATION=5 WARMUP=1 RATE=1000 STREAM_RATE=1000
#   FIXED_CONNECTIONS=16 MAX_CONNECTIONS=32 STREAM_CONNECTIONS=256
#   STREAM_MODEL='mock+chunk_delay_ms=5+words=16'
#   HIGH_RATE=10000 HIGH_DURATION=10 HIGH_CONNECTIONS=128 HIGH_THREADS=1
#   HIGH_TARGETS='direct nginx gateway-pg' FLUSH_WAIT=120 (most seconds to wait
#   for the writer to store a high-rate run's events)
#   PGHOST=127.0.0.1 PGPORT=5432 PGUSER=postgres (a superuser: it creates and
#   drops the database) REDIS_DB=13 (a Redis database only this benchmark uses: it
#   is emptied) NO_PG=1 (the embedded store only, as before)
#   OUT=benches/out/<time> NO_BUILD=1
#   PROFILE=1 (also records a perf profile of the embedded-store gateway during an
#   extra max run)
#   NICE=-10 (priority of every process of the benchmark; other work on the machine
#   competes less) QUIET_WAIT=30 (seconds to wait, before each run, for the rest of
#   the machine to be idle) OTHERS_MAX=0.5 RETRIES=2 (a run during which other
#   processes used more than OTHERS_MAX CPU seconds is measured again, up to RETRIES
#   times; the disturbed attempts go to disturbed.jsonl, and the CPU others used in
#   each kept run is in the report; gateway-pg's high-rate run is never repeated,
#   since its events are counted) BUDGET=1800 (seconds after which the script stops
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
STREAM_RATE=${STREAM_RATE:-1000}
FIXED_CONNECTIONS=${FIXED_CONNECTIONS:-16}
MAX_CONNECTIONS=${MAX_CONNECTIONS:-32}
STREAM_CONNECTIONS=${STREAM_CONNECTIONS:-256}
STREAM_MODEL=${STREAM_MODEL:-mock+chunk_delay_ms=5+words=16}
HIGH_RATE=${HIGH_RATE:-10000}
HIGH_DURATION=${HIGH_DURATION:-10}
HIGH_CONNECTIONS=${HIGH_CONNECTIONS:-128}
HIGH_THREADS=${HIGH_THREADS:-1}
FLUSH_WAIT=${FLUSH_WAIT:-120}
export PGHOST=${PGHOST:-127.0.0.1} PGPORT=${PGPORT:-5432} PGUSER=${PGUSER:-postgres}
REDIS_DB=${REDIS_DB:-13}
OUT=${OUT:-$ROOT/benches/out/$(date -u +%Y%m%dT%H%M%SZ)}
NICE=${NICE:--10}
QUIET_WAIT=${QUIET_WAIT:-30}
OTHERS_MAX=${OTHERS_MAX:-0.5}
RETRIES=${RETRIES:-2}
BUDGET=$((SECONDS + ${BUDGET:-1800}))
BIN=${BIN:-$ROOT/target/release}
if [ -n "${NO_PG:-}" ]; then
    TARGETS="direct nginx gateway"
    HIGH_TARGETS=${HIGH_TARGETS:-}
    SUBJECTS=gateway
else
    TARGETS="direct nginx gateway gateway-pg"
    HIGH_TARGETS=${HIGH_TARGETS:-direct nginx gateway-pg}
    SUBJECTS=gateway,gateway-pg
fi
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
pick_ports MOCK_PORT NGINX_PORT GATEWAY_PORT PG_GATEWAY_PORT
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

# The providers and models both gateways serve.
models_toml() {
    mock_model_toml
    cat <<EOF

[[models]]
name = "mock-stream"
provider = "mock"
upstream_model = "$STREAM_MODEL"
EOF
}

mint_key
export BENCH_MOCK_PROVIDER_KEY=sk-bench-upstream
embedded_mock_config models_toml >"$WORK/gateway.toml"
start_gateway "$WORK/gateway.toml"
SQLITE_GATEWAY_PID=$GATEWAY_PID

if [ -z "${NO_PG:-}" ]; then
    PG_DB=bench_overhead_$(date -u +%Y%m%d%H%M%S)_$$
    log "Postgres database $PG_DB on $PGHOST:$PGPORT; Redis database $REDIS_DB"
    psql -qX -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE $PG_DB" >&2
    bench_cleanup_hook() {
        psql -qX -d postgres -c "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >&2 || log "could not drop $PG_DB"
        redis-cli -n "$REDIS_DB" FLUSHDB >/dev/null || log "could not empty Redis database $REDIS_DB"
    }
    redis-cli -n "$REDIS_DB" FLUSHDB >/dev/null
    mint_key bench-10k LOADGEN_HIGH_KEY
    cat >"$WORK/gateway-pg.toml" <<EOF
[server]
listen = "127.0.0.1:$PG_GATEWAY_PORT"
log = "warn"

# Postgres (a single login, which migrates) and Redis; the spill file out of the work tree.
[analytics]
database_url = "postgres://$PGUSER@$PGHOST:$PGPORT/$PG_DB"
redis_url = "redis://127.0.0.1:6379/$REDIS_DB"
spill_path = "$WORK/events-pg.spill"

$(models_toml)

$(gateway_key_toml)

$(gateway_key_toml bench-10k)
EOF
    GATEWAY_PORT=$PG_GATEWAY_PORT start_gateway "$WORK/gateway-pg.toml" gateway-pg
    PG_GATEWAY_PID=$GATEWAY_PID
fi

# Usage events of the high-rate key in Postgres (the superuser reads past row security).
high_events() {
    psql -qXAt -d "$PG_DB" -c "SELECT count(*) FROM usage_events WHERE key_id = 'bench-10k'"
}

# wait_events BEFORE EXPECTED: waits until the high-rate key's events reach BEFORE
# + EXPECTED, stop changing for 10 s, or FLUSH_WAIT passes; then, 2 s later (a
# duplicate would still be on its way), prints the count.
wait_events() {
    local before=$1 expected=$2 deadline=$((SECONDS + FLUSH_WAIT)) count last=-1 still=0
    while :; do
        count=$(high_events) || count=$last
        if [ "$count" -ge $((before + expected)) ] || [ "$SECONDS" -ge "$deadline" ]; then
            break
        fi
        if [ "$count" = "$last" ]; then
            still=$((still + 1))
            [ "$still" -ge 10 ] && break
        else
            still=0
        fi
        last=$count
        sleep 1
    done
    sleep 2
    high_events
}

# --- the runs --------------------------------------------------------------------
RESULTS=$OUT/results.jsonl
: >"$RESULTS"
FAILED=0
write_meta ",\"nginx\":\"$("$NGINX" -v 2>&1 | sed 's/.*: //')\",\"high_rate\":$HIGH_RATE"

# run LABEL MODE ROUND: one loadgen run against one target. MODE fixed10k is a
# fixed-rate run at HIGH_RATE, reported as its own series.
run() {
    local label=$1 mode=$2 round=$3 url model server key connections
    case $label in
        direct) url=http://127.0.0.1:$MOCK_PORT/v1/chat/completions; server=$MOCK_PID; key=sk-bench-direct ;;
        nginx) url=http://127.0.0.1:$NGINX_PORT/v1/chat/completions; server=$NGINX_PID; key=sk-bench-direct ;;
        gateway) url=http://127.0.0.1:$GATEWAY_PORT/v1/chat/completions; server=$SQLITE_GATEWAY_PID; key=$LOADGEN_GATEWAY_KEY ;;
        gateway-pg) url=http://127.0.0.1:$PG_GATEWAY_PORT/v1/chat/completions; server=$PG_GATEWAY_PID; key=$LOADGEN_GATEWAY_KEY ;;
    esac
    local rate=$RATE loadgen_mode=$mode duration=$DURATION series= extra=()
    case $mode in
        fixed) model=mock; connections=$FIXED_CONNECTIONS ;;
        fixed10k)
            model=mock; connections=$HIGH_CONNECTIONS; rate=$HIGH_RATE; loadgen_mode=fixed
            duration=$HIGH_DURATION series=fixed10k
            extra=(--threads "$HIGH_THREADS")
            [ "$label" = gateway-pg ] && key=$LOADGEN_HIGH_KEY ;;
        max) model=mock; connections=$MAX_CONNECTIONS ;;
        stream)
            connections=$STREAM_CONNECTIONS; rate=$STREAM_RATE
            # The gateways map their model `mock-stream` onto the same mock behaviour.
            case $label in gateway*) model=mock-stream ;; *) model=$STREAM_MODEL ;; esac ;;
    esac
    DURATION=$duration SERIES=$series measure "$label" "$loadgen_mode" "$round" "$server" "$key" \
        --url "$url" --model "$model" --rate "$rate" --connections "$connections" "${extra[@]}"
}

# high_rate_run ROUND: the fixed HIGH_RATE on every HIGH_TARGET; for gateway-pg,
# its events counted before and after, and an `events` line in RESULTS.
high_rate_run() {
    local round=$1 label before after line answered unanswered offered
    for label in $HIGH_TARGETS; do
        if [ "$label" != gateway-pg ]; then
            run "$label" fixed10k "$round"
            continue
        fi
        before=$(high_events)
        # Its events are counted: a repeated attempt would add to them.
        RETRIES=0 run "$label" fixed10k "$round"
        line=$(grep '"kind":"run"' "$RESULTS" | tail -1)
        answered=$(grep -o '"answered_all":[0-9]*' <<<"$line" | cut -d: -f2)
        unanswered=$(grep -o '"unanswered_all":[0-9]*' <<<"$line" | cut -d: -f2)
        offered=$(awk -v r="$HIGH_RATE" -v w="$WARMUP" -v d="$HIGH_DURATION" 'BEGIN { printf "%.0f", r * (w + d) }')
        after=$(wait_events "$before" "${answered:-0}")
        log "gateway-pg at $HIGH_RATE req/s: $offered offered, ${answered:-?} answered, ${unanswered:-?} sent without an answer, $((after - before)) events stored"
        printf '{"kind":"events","label":"gateway-pg","mode":"fixed10k","round":%s,"offered":%s,"answered":%s,"unanswered":%s,"counted":%s}\n' \
            "$round" "$offered" "${answered:-null}" "${unanswered:-null}" "$((after - before))" >>"$RESULTS"
    done
}

for round in $(seq 1 "$ROUNDS"); do
    log "round $round of $ROUNDS"
    for mode in fixed max stream; do
        for label in $TARGETS; do
            pid=
            if [ "$mode" = max ]; then
                case $label in gateway) pid=$SQLITE_GATEWAY_PID ;; gateway-pg) pid=$PG_GATEWAY_PID ;; esac
            fi
            if [ -n "$pid" ]; then
                # Peak RSS of the throughput run alone: `5` resets VmHWM to the current RSS.
                echo 5 >"/proc/$pid/clear_refs" 2>/dev/null || log "cannot reset VmHWM; the peak covers the whole run"
            fi
            run "$label" "$mode" "$round"
            if [ -n "$pid" ]; then
                printf '{"kind":"rss","label":"%s","round":%s,"vmhwm_kb":%s,"vmrss_kb":%s}\n' "$label" "$round" \
                    "$(awk '/^VmHWM/ {print $2}' "/proc/$pid/status")" \
                    "$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status")" >>"$RESULTS"
            fi
        done
    done
    high_rate_run "$round"
done

if [ -n "${PROFILE:-}" ]; then
    log "profiling the gateway during a max-throughput run (perf, $OUT/perf.data)"
    # cpu-clock: this machine may expose no hardware counters. Flat profile: the
    # binaries have no frame pointers, and DWARF call graphs of a 12 s run are huge.
    perf record -e cpu-clock -F 999 -p "$SQLITE_GATEWAY_PID" -o "$OUT/perf.data" -- sleep $((WARMUP + DURATION)) 2>"$OUT/perf-record.log" &
    PERF_PID=$!
    PIDS+=("$PERF_PID")
    LOADGEN_KEY=$LOADGEN_GATEWAY_KEY "$BIN/loadgen" run --label gateway-profiled --mode max \
        --url "http://127.0.0.1:$GATEWAY_PORT/v1/chat/completions" --model mock \
        --duration "$DURATION" --warmup "$WARMUP" --connections "$MAX_CONNECTIONS" >/dev/null || true
    wait "$PERF_PID" || true
    perf report -i "$OUT/perf.data" --sort dso,symbol --stdio 2>/dev/null | grep -v '^#' | grep -v '^$' | head -60 >"$OUT/perf-top.txt" || true
fi

log "report"
"$BIN/loadgen" report --subject "$SUBJECTS" --others-max "$OTHERS_MAX" "$RESULTS" | tee "$OUT/report.md"
log "results in $OUT"
exit "$FAILED"
