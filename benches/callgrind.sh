#!/usr/bin/env bash
# Instructions per proxied request, counted by callgrind: repeatable whatever else
# the machine is doing, so it compares two builds on a busy machine.
#
# Runs the release gateway (the bench config shape of overhead.sh: the mock provider,
# one key, the embedded store, log warn) under `valgrind --tool=callgrind` twice, for
# 500 and for 2,000 requests at RATE req/s from loadgen, and prints the difference of
# the two totals over 1,500: start-up and shutdown cancel out (each run starts on an
# empty store, so neither rolls up the other's events at start). The callgrind outputs
# stay in OUT for `callgrind_annotate --inclusive=yes OUT/cg.2000`.
#
# Usage: benches/callgrind.sh [BIN] [OUT]   (defaults: target/release, benches/out/callgrind-<time>)
# Needs valgrind and a release build (cargo build --release -p gateway -p benches).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BIN=${1:-$ROOT/target/release}; RATE=${RATE:-250}
OUT=${2:-$ROOT/benches/out/callgrind-$(date -u +%Y%m%dT%H%M%SZ)}; rm -rf "$OUT"
NICE=0
. "$ROOT/benches/lib.sh"
bench_init
pick_ports MOCK_PORT GATEWAY_PORT
start_mock
mint_key
export BENCH_MOCK_PROVIDER_KEY=sk-bench-upstream RUST_LOG=warn
embedded_mock_config >"$OUT/gw.toml"
W=$OUT
for N in 500 2000; do
  DUR=$(python3 -c "print($N/$RATE)")
  # Each run starts on an empty store (no rollup of the other run's events at start).
  rm -f "$WORK"/analytics.sqlite* "$WORK"/events.spill*
  valgrind --tool=callgrind --callgrind-out-file="$W/cg.$N" "$BIN/gateway" serve --config "$W/gw.toml" 2>"$W/gw.$N.log" & G=$!
  for i in $(seq 1 600); do (echo >/dev/tcp/127.0.0.1/$GATEWAY_PORT) 2>/dev/null && break; sleep 0.2; done
  LOADGEN_KEY=$LOADGEN_GATEWAY_KEY "$BIN/loadgen" run --label g --url http://127.0.0.1:$GATEWAY_PORT/v1/chat/completions --model mock --mode fixed --rate $RATE --duration "$DUR" --warmup 0 --connections 16 >"$W/lg.$N.json" 2>"$W/lg.$N.err"
  kill -INT $G; wait $G || true
  sleep 1
done
python3 - "$W" <<'PY'
import sys,re,json
w=sys.argv[1]
def tot(n):
    for l in open(f"{w}/cg.{n}"):
        if l.startswith("summary:") or l.startswith("totals:"): return int(l.split()[1])
a,b=tot(500),tot(2000)
print("total 500:",a,"total 2000:",b,"Ir/request:",(b-a)/1500)
for n in (500,2000):
    print(n, open(f"{w}/lg.{n}.json").read()[:400])
PY
