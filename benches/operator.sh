#!/usr/bin/env bash
# The operator's view over 1,000 tenants (issue 11): fills a throwaway Postgres
# database gw_bench_op_<random> with synthetic tenants (usage_daily rows of 60
# days, keys, teams, promises), then times the store read directly and the
# list through the HTTP API of a release build (benches/src/operator_bench.rs
# says what each figure is). Drops the database whatever happens; prints the
# Markdown table with the load average before and after (append it to
# benches/RESULTS.md by hand, with the machine's state).
#
# Usage: benches/operator.sh
# Knobs (environment): PGURL=postgres://postgres@127.0.0.1:5432 TENANTS=1000
#   DAYS=60 KEYS=4 TEAMS=2 MODELS=3 COLD_RUNS=20 RUNS=500 NICE=10 NO_BUILD=1
set -euo pipefail

cd "$(dirname "$0")/.."
PGURL=${PGURL:-postgres://postgres@127.0.0.1:5432}
NICE=${NICE:-10}

if [ -z "${NO_BUILD:-}" ]; then
    cargo build --release -p benches --bin operator_bench
fi
DB=gw_bench_op_$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')
admin() { psql "$PGURL/test" -v ON_ERROR_STOP=1 -qAt "$@"; }
cleanup() { admin -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || echo "drop $DB by hand" >&2; }
trap cleanup EXIT
admin -c "CREATE DATABASE $DB"

echo "commit $(git rev-parse --short HEAD); $(nproc) cores; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
nice -n "$NICE" ./target/release/operator_bench \
    --database-url "$PGURL/$DB" \
    --tenants "${TENANTS:-1000}" --days "${DAYS:-60}" --keys "${KEYS:-4}" \
    --teams "${TEAMS:-2}" --models "${MODELS:-3}" \
    --cold-runs "${COLD_RUNS:-20}" --runs "${RUNS:-500}"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
