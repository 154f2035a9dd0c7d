#!/usr/bin/env bash
# Instructions per proxied request, counted by callgrind: repeatable whatever else
# the machine is doing, so it compares two builds on a busy machine.
#
# Runs the release gateway (the bench config shape of overhead.sh: the mock provider,
# one key, the embedded store, log warn) under `valgrind --tool=callgrind` twice, for
# 500 and for 2,000 requests at RATE req/s from loadgen, and prints the difference of
# the two totals over 1,500: start-up and shutdown cancel out. The callgrind outputs
# stay in OUT for `callgrind_annotate --inclusive=yes OUT/cg.2000`.
#
# Usage: benches/callgrind.sh [BIN] [OUT]   (defaults: target/release, benches/out/callgrind-<time>)
# Needs valgrind and a release build (cargo build --release -p gateway -p benches).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-$PWD/target/release}; RATE=${RATE:-250}
W=${2:-$PWD/benches/out/callgrind-$(date -u +%Y%m%dT%H%M%SZ)}; rm -rf "$W"; mkdir -p "$W"
MP=$((20000 + RANDOM % 10000)); GP=$((MP + 1))
"$BIN/gateway" mock-provider --listen 127.0.0.1:$MP 2>"$W/mock.log" & MOCK=$!
trap 'kill $MOCK 2>/dev/null || true' EXIT
"$BIN/gateway" keys create --tenant bench --id bench >"$W/key.txt"
KEY=$(sed -n 's/^key (shown once, store it now): //p' "$W/key.txt")
cat >"$W/gw.toml" <<T
[server]
listen = "127.0.0.1:$GP"
log = "warn"

[analytics]
sqlite_path = "$W/analytics.sqlite"
spill_path = "$W/events.spill"

[[providers]]
name = "mock"
base_url = "http://127.0.0.1:$MP/v1"
api_key_env = "BENCH_MOCK_PROVIDER_KEY"

[[models]]
name = "mock"
provider = "mock"
upstream_model = "mock"

$(sed -n '/^\[\[keys\]\]/,$p' "$W/key.txt")
T
export BENCH_MOCK_PROVIDER_KEY=sk-bench-upstream RUST_LOG=warn
for N in 500 2000; do
  DUR=$(python3 -c "print($N/$RATE)")
  valgrind --tool=callgrind --callgrind-out-file="$W/cg.$N" "$BIN/gateway" serve --config "$W/gw.toml" 2>"$W/gw.$N.log" & G=$!
  for i in $(seq 1 600); do (echo >/dev/tcp/127.0.0.1/$GP) 2>/dev/null && break; sleep 0.2; done
  LOADGEN_KEY=$KEY "$BIN/loadgen" run --label g --url http://127.0.0.1:$GP/v1/chat/completions --model mock --mode fixed --rate $RATE --duration "$DUR" --warmup 0 --connections 16 >"$W/lg.$N.json" 2>"$W/lg.$N.err"
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
