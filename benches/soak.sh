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
# Usage: benches/soak.sh          (one hour)
# Knobs (environment): DURATION=3600 RATE=200 KEYS=1000 TENANTS=50 SAMPLE=60
#   WARMUP=600 CONNECTIONS=16 OUT=benches/out/soak-<time> NO_BUILD=1
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
DURATION=${DURATION:-3600}
RATE=${RATE:-200}
KEYS=${KEYS:-1000}
TENANTS=${TENANTS:-50}
SAMPLE=${SAMPLE:-60}
WARMUP=${WARMUP:-600}
CONNECTIONS=${CONNECTIONS:-16}
OUT=${OUT:-$ROOT/benches/out/soak-$(date -u +%Y%m%dT%H%M%SZ)}
BIN=$ROOT/target/release

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
log "mock provider on 127.0.0.1:$MOCK_PORT"
"$BIN/gateway" mock-provider --listen "127.0.0.1:$MOCK_PORT" 2>"$OUT/mock.log" &
PIDS+=("$!")
wait_port "$MOCK_PORT" mock

"$BIN/soak" config --listen "127.0.0.1:$GATEWAY_PORT" --mock "http://127.0.0.1:$MOCK_PORT/v1" \
    --data-dir "$WORK" --keys-file "$WORK/keys.txt" --keys "$KEYS" --tenants "$TENANTS" >"$WORK/gateway.toml"
"$BIN/gateway" check-config --config "$WORK/gateway.toml" >&2
log "gateway on 127.0.0.1:$GATEWAY_PORT (no Redis: in-process counters)"
"$BIN/gateway" serve --config "$WORK/gateway.toml" 2>"$OUT/gateway.log" &
GATEWAY_PID=$!
PIDS+=("$GATEWAY_PID")
wait_port "$GATEWAY_PORT" gateway

printf '{"kind":"meta","date":"%s","nproc":%s,"gateway_commit":"%s","duration_s":%s,"rate":%s,"keys":%s,"tenants":%s}\n' \
    "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$(nproc)" \
    "$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)$(git -C "$ROOT" diff --quiet HEAD -- gateway analytics 2>/dev/null || echo '+dirty')" \
    "$DURATION" "$RATE" "$KEYS" "$TENANTS" >"$OUT/soak.jsonl"
"$BIN/soak" run --gateway "http://127.0.0.1:$GATEWAY_PORT" --keys-file "$WORK/keys.txt" \
    --pid "$GATEWAY_PID" --rate "$RATE" --duration "$DURATION" --sample "$SAMPLE" \
    --warmup "$WARMUP" --connections "$CONNECTIONS" | tee -a "$OUT/soak.jsonl"
log "events in the store: $(sqlite3 "$WORK/analytics.sqlite" 'select count(*) from usage_events' 2>/dev/null || echo '?')"
log "results in $OUT/soak.jsonl"
