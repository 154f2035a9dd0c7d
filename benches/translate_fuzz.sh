#!/usr/bin/env bash
# Fuzz and property run over the gateway's format translators (issue 9, "Prove it").
#
# Builds `translate_fuzz` in release and runs it: N seeded cases spread evenly over
# every translator of gateway/src/formats (requests, answers and streams of OpenAI
# chat, Anthropic, Gemini and the Responses API, valid and damaged; the gateway's
# own values through every renderer and encoder) and the OpenAI -> Anthropic ->
# OpenAI round trip of gateway/tests/translate_round_trip.rs. It prints a Markdown
# table of counts per translator and exits non-zero on any panic or broken round
# trip, with the seed, case and input of the first few (replay one with
# `translate_fuzz --seed SEED --case CASE`).
#
# Usage: benches/translate_fuzz.sh            (about 3-6 minutes on 2 cores)
# Knobs (environment): N=1000000 SEED=1 THREADS=<cores> NO_BUILD=1
#   CARGO_TARGET_DIR (default: target/ of this checkout)
set -euo pipefail

cd "$(dirname "$0")/.."
target_dir="${CARGO_TARGET_DIR:-target}"
# Overflow checks on, as in debug builds: an overflow that release code would
# wrap silently is a failure here (it found TokenUsage::total overflowing on
# absurd provider counts, which a release run without checks reported clean).
export CARGO_PROFILE_RELEASE_OVERFLOW_CHECKS=true
if [[ -z "${NO_BUILD:-}" ]]; then
    cargo build --release -p benches --bin translate_fuzz
fi
args=(--n "${N:-1000000}" --seed "${SEED:-1}")
if [[ -n "${THREADS:-}" ]]; then
    args+=(--threads "$THREADS")
fi
echo "command: translate_fuzz ${args[*]}"
exec "$target_dir/release/translate_fuzz" "${args[@]}"
