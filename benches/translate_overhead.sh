#!/usr/bin/env bash
# What translating between wire formats adds: latency and gateway CPU per request of
# every client API -> upstream format pair, next to the passthrough pairs.
#
# The real measurement (release build, on a quiet machine; 72 runs of WARMUP +
# DURATION s, at least 10 minutes, more while it waits for quiet, up to BUDGET):
#
#     bash benches/translate_overhead.sh
#
# A smoke run that only proves every target answers (debug build, seconds):
#
#     NO_BUILD=1 BIN=target/debug ROUNDS=1 DURATION=1 WARMUP=0 QUIET_WAIT=0 \
#         RATE=50 STREAM_RATE=20 bash benches/translate_overhead.sh
#
# Starts, on loopback only: one mock provider (it answers OpenAI chat at
# /v1/chat/completions, Anthropic at /v1/messages, Gemini at /v1beta/models/...) and
# one gateway with three providers on it, one per upstream format, each serving its
# own priced model (`via-openai`, `via-anthropic`, `via-gemini`, and `-stream`
# variants on STREAM_MODEL), so routing is fixed. Targets, as client API -> upstream:
#
#   direct-chat            mock, OpenAI chat (the baseline of every chat target)
#   direct-messages        mock, Anthropic Messages (the baseline of every messages target)
#   gw-chat-openai         chat -> OpenAI (passthrough)
#   gw-chat-anthropic      chat -> Anthropic (translated)
#   gw-chat-gemini         chat -> Gemini (translated)
#   gw-messages-anthropic  messages -> Anthropic (passthrough)
#   gw-messages-openai     messages -> OpenAI (translated)
#   gw-messages-gemini     messages -> Gemini (translated)
#
# Each target runs three ways, as in overhead.sh (whose runs, harness and report
# this shares: benches/lib.sh, `loadgen run --api`, `loadgen report`): fixed rate
# (open loop), max throughput (closed loop) and streams at a fixed rate; ROUNDS
# interleaved rounds, medians reported. The report (report.md) compares each gw-*
# target with the direct target of its client API (added p50/p99, added TTFB,
# req/s at max and its ratio), and gives the gateway's CPU per request and the
# mock's: the mock's own cost differs by format, so it is reported per target
# for a reader to subtract. No pass/MISS targets: these figures are reported, not
# judged. The OpenAI passthrough figures of record stay overhead.sh's.
#
# Knobs (environment): ROUNDS=3 DURATION=5 WARMUP=1 RATE=1000 STREAM_RATE=200
#   FIXED_CONNECTIONS=16 MAX_CONNECTIONS=32 STREAM_CONNECTIONS=64
#   STREAM_MODEL='mock+chunk_delay_ms=5+words=16' OUT=benches/out/translate-<time>
#   NO_BUILD=1 BIN=target/release NICE=-10 QUIET_WAIT=30 OTHERS_MAX=0.5 RETRIES=2
#   BUDGET=2400 (as in overhead.sh)
#   TARGETS='direct-chat gw-chat-gemini ...' (a subset, in this order; default all)
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
OUT=${OUT:-$ROOT/benches/out/translate-$(date -u +%Y%m%dT%H%M%SZ)}
NICE=${NICE:--10}
QUIET_WAIT=${QUIET_WAIT:-30}
OTHERS_MAX=${OTHERS_MAX:-0.5}
RETRIES=${RETRIES:-2}
BUDGET=$((SECONDS + ${BUDGET:-2400}))
BIN=${BIN:-$ROOT/target/release}
TARGETS=${TARGETS:-direct-chat direct-messages gw-chat-openai gw-chat-anthropic gw-chat-gemini gw-messages-anthropic gw-messages-openai gw-messages-gemini}
# shellcheck source=benches/lib.sh
. "$ROOT/benches/lib.sh"

build_release
bench_init
export RUST_LOG=warn
pick_ports MOCK_PORT GATEWAY_PORT
start_mock

# One provider per upstream format, all on the mock, and one model per provider
# with the same explicit price (the billing work is the same on every path).
mint_key
{
    cat <<EOF
[server]
listen = "127.0.0.1:$GATEWAY_PORT"
log = "warn"

# The embedded usage store, kept out of the work tree.
[analytics]
sqlite_path = "$WORK/analytics.sqlite"
spill_path = "$WORK/events.spill"
EOF
    for flavor in openai anthropic gemini; do
        base_url=http://127.0.0.1:$MOCK_PORT/v1
        # The Gemini adapter adds its API version (/v1beta) itself.
        [ "$flavor" = gemini ] && base_url=http://127.0.0.1:$MOCK_PORT
        cat <<EOF

[[providers]]
name = "mock-$flavor"
flavor = "$flavor"
base_url = "$base_url"
api_key_env = "BENCH_MOCK_PROVIDER_KEY"

[[models]]
name = "via-$flavor"
provider = "mock-$flavor"
upstream_model = "mock"
price = { input = "0.15", output = "0.60" }

[[models]]
name = "via-$flavor-stream"
provider = "mock-$flavor"
upstream_model = "$STREAM_MODEL"
price = { input = "0.15", output = "0.60" }
EOF
    done
    echo
    gateway_key_toml
} >"$WORK/gateway.toml"
export BENCH_MOCK_PROVIDER_KEY=sk-bench-upstream
start_gateway "$WORK/gateway.toml"

RESULTS=$OUT/results.jsonl
: >"$RESULTS"
FAILED=0
write_meta

# run LABEL MODE ROUND: one loadgen run against one target.
run() {
    local label=$1 mode=$2 round=$3 api upstream url server key model connections rate=$RATE
    case $label in
        direct-*) api=${label#direct-}; url=http://127.0.0.1:$MOCK_PORT; server=$MOCK_PID; key=sk-bench-direct ;;
        gw-*)
            api=${label#gw-}; upstream=${api#*-}; api=${api%%-*}
            url=http://127.0.0.1:$GATEWAY_PORT; server=$GATEWAY_PID; key=$LOADGEN_GATEWAY_KEY ;;
        *) log "unknown target $label"; exit 2 ;;
    esac
    case $mode in
        fixed) connections=$FIXED_CONNECTIONS ;;
        max) connections=$MAX_CONNECTIONS ;;
        stream) connections=$STREAM_CONNECTIONS; rate=$STREAM_RATE ;;
    esac
    # The mock is asked for its behaviour by name; the gateway's models map onto it.
    case $label:$mode in
        direct-*:stream) model=$STREAM_MODEL ;;
        direct-*) model=mock ;;
        *:stream) model=via-$upstream-stream ;;
        *) model=via-$upstream ;;
    esac
    measure "$label" "$mode" "$round" "$server" "$key" \
        --api "$api" --url "$url" --model "$model" --rate "$rate" --connections "$connections"
}

for round in $(seq 1 "$ROUNDS"); do
    log "round $round of $ROUNDS"
    for mode in fixed max stream; do
        for label in $TARGETS; do
            run "$label" "$mode" "$round"
        done
    done
done

log "report"
"$BIN/loadgen" report --baseline 'direct-{api}' --no-targets --summary --others-max "$OTHERS_MAX" \
    "$RESULTS" | tee "$OUT/report.md"
# A failed request anywhere fails the script, as a failed run does.
if grep -q '"error_total":[1-9]' "$RESULTS"; then
    log "some requests failed: see the errors columns"
    FAILED=1
fi
log "results in $OUT"
exit "$FAILED"
