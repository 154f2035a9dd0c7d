#!/usr/bin/env bash
# The gateway's memory at start and at peak in a throughput run, with its CPU per
# request: a quick A/B of two builds, or of one build under two allocator or kernel
# settings, without the whole of overhead.sh.
#
# Starts the mock provider and the release gateway on the embedded store (the bench
# config shape of overhead.sh: one key, log warn), reads RSS from smaps_rollup 2 s
# after start (anonymous and huge-page parts too), resets VmHWM, runs `loadgen
# --mode max --connections 32` for DURATION s after 1 s of warm-up, then prints the
# peak (VmHWM), the answers per second, the gateway's CPU per answered request and
# its context switches per request, and the RSS 3 s after the load.
#
# Usage: benches/rss.sh [BIN]   (default target/release; needs `gateway` and `loadgen`)
# Knobs: DURATION=6 ROUNDS=1; any MIMALLOC_* variable is passed to the gateway.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BIN=${1:-$ROOT/target/release}
DURATION=${DURATION:-6}
ROUNDS=${ROUNDS:-1}
NICE=0
OUT=$(mktemp -d)
. "$ROOT/benches/lib.sh"
bench_init
bench_cleanup_hook() { rm -rf "$OUT"; }
pick_ports MOCK_PORT GATEWAY_PORT
start_mock
mint_key
export BENCH_MOCK_PROVIDER_KEY=sk-bench-upstream RUST_LOG=warn
embedded_mock_config >"$WORK/gw.toml"

memory() {
    printf '%s kB RSS, %s kB anonymous, %s kB huge pages' \
        "$(awk '/^Rss:/ {print $2}' "/proc/$1/smaps_rollup")" \
        "$(awk '/^Anonymous:/ {print $2}' "/proc/$1/smaps_rollup")" \
        "$(awk '/^AnonHugePages:/ {print $2}' "/proc/$1/smaps_rollup")"
}
switches() { cat /proc/"$1"/task/*/status | awk '/ctxt_switches/ {s += $2} END {print s}'; }

for round in $(seq 1 "$ROUNDS"); do
    rm -f "$WORK"/analytics.sqlite* "$WORK"/events.spill*
    start_gateway "$WORK/gw.toml" 2>/dev/null
    G=$GATEWAY_PID
    sleep 2
    echo "round $round, start: $(memory $G)"
    echo 5 >"/proc/$G/clear_refs"
    c0=$(cpu_ticks $G); s0=$(switches $G)
    LOADGEN_KEY=$LOADGEN_GATEWAY_KEY "$BIN/loadgen" run --label gateway \
        --url "http://127.0.0.1:$GATEWAY_PORT/v1/chat/completions" \
        --model mock --mode max --duration "$DURATION" --warmup 1 --connections 32 >"$WORK/run.json"
    c1=$(cpu_ticks $G); s1=$(switches $G)
    answered=$(grep -o '"answered_all":[0-9]*' "$WORK/run.json" | cut -d: -f2)
    python3 - "$WORK/run.json" "$answered" "$((c1 - c0))" "$((s1 - s0))" "$(getconf CLK_TCK)" \
        "$(awk '/^VmHWM/ {print $2}' "/proc/$G/status")" <<'PY'
import json, sys
run = json.load(open(sys.argv[1]))
answered, ticks, switches, hz, peak = (int(a) for a in sys.argv[2:7])
print(f"round peak: {peak} kB (VmHWM); {run['ok_per_s']:.0f} answers/s; "
      f"{ticks / hz / answered * 1e6:.0f} µs gateway CPU and {switches / answered:.2f} context switches per request")
PY
    sleep 3
    echo "3 s after: $(memory $G)"
    kill -INT "$G"; wait "$G" || true
done
