# Shared by the load benchmarks (`overhead.sh`, `translate_overhead.sh`, `rss.sh`,
# `callgrind.sh`); sourced,
# not run. It holds what every such benchmark does the same way: building, the
# work directory and the processes cleaned up on exit, loopback ports, the mock
# provider, a gateway key, CPU accounting from /proc, waiting for a quiet machine
# and one measured `loadgen run` with its retries. What a benchmark measures
# (targets, modes, configs, the report's options) stays in its own script.
#
# The caller sets, before sourcing: ROOT (repository root), OUT (output directory),
# BIN (directory of the gateway and loadgen binaries), NICE, QUIET_WAIT, OTHERS_MAX,
# RETRIES, BUDGET (an absolute $SECONDS deadline), WARMUP, DURATION.

log() { printf '== %s\n' "$*" >&2; }

# Release binaries of the gateway and the load generator, unless NO_BUILD is set.
build_release() {
    if [ -z "${NO_BUILD:-}" ]; then
        log "building (release)"
        cargo build --release -p gateway -p benches
    fi
}

# The work directory (WORK), OUT, and the cleanup of every process in PIDS on exit.
# Every process started afterwards inherits the priority NICE.
bench_init() {
    renice -n "$NICE" -p $$ >/dev/null 2>&1 || log "cannot renice to $NICE; running at the default priority"
    WORK=$(mktemp -d)
    mkdir -p "$OUT"
    PIDS=()
    trap bench_cleanup EXIT
    trap 'exit 130' INT TERM
}

bench_cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    # A benchmark's own clean-up once its processes are gone (e.g. dropping a
    # database the gateway was connected to).
    if declare -F bench_cleanup_hook >/dev/null; then
        bench_cleanup_hook || true
    fi
    rm -rf "$WORK"
}

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

# pick_ports NAME...: sets each variable to a free loopback port, all different.
pick_ports() {
    local name port taken=" "
    for name in "$@"; do
        port=$(free_port)
        while [[ $taken == *" $port "* ]]; do port=$(free_port); done
        taken+="$port "
        printf -v "$name" '%s' "$port"
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

# The mock provider on MOCK_PORT (MOCK_PID); it speaks every format the gateway does.
start_mock() {
    log "mock provider on 127.0.0.1:$MOCK_PORT"
    # The mock keeps its default runtime whatever the gateway is given to try.
    env -u TOKIO_WORKER_THREADS "$BIN/gateway" mock-provider --listen "127.0.0.1:$MOCK_PORT" 2>"$OUT/mock.log" &
    MOCK_PID=$!
    PIDS+=("$MOCK_PID")
    wait_port "$MOCK_PORT" mock
}

# A gateway key for the load generator (LOADGEN_GATEWAY_KEY); its `[[keys]]` TOML
# is printed by `gateway_key_toml`. `mint_key ID VAR` mints another key with id
# ID into the variable VAR; `gateway_key_toml ID` prints its TOML.
mint_key() {
    local id=${1:-bench} var=${2:-LOADGEN_GATEWAY_KEY} key
    "$BIN/gateway" keys create --tenant bench --id "$id" >"$WORK/key-$id.txt"
    key=$(sed -n 's/^key (shown once, store it now): //p' "$WORK/key-$id.txt")
    [ -n "$key" ] || { log "could not mint a key"; exit 1; }
    printf -v "$var" '%s' "$key"
}

gateway_key_toml() {
    sed -n '/^\[\[keys\]\]/,$p' "$WORK/key-${1:-bench}.txt"
}

# The mock provider at MOCK_PORT (its key in BENCH_MOCK_PROVIDER_KEY) and its model
# `mock`, as config TOML.
mock_model_toml() {
    cat <<EOF
[[providers]]
name = "mock"
base_url = "http://127.0.0.1:$MOCK_PORT/v1"
api_key_env = "BENCH_MOCK_PROVIDER_KEY"

[[models]]
name = "mock"
provider = "mock"
upstream_model = "mock"
EOF
}

# The config of a gateway on the embedded store in WORK (log warn, listening on
# GATEWAY_PORT, with `mint_key`'s key) serving the models that the function named
# $1 prints (default `mock_model_toml`).
embedded_mock_config() {
    local models=${1:-mock_model_toml}
    cat <<EOF
[server]
listen = "127.0.0.1:$GATEWAY_PORT"
log = "warn"

[analytics]
sqlite_path = "$WORK/analytics.sqlite"
spill_path = "$WORK/events.spill"

$("$models")

$(gateway_key_toml)
EOF
}

# The gateway with config file $1, checked first, listening on GATEWAY_PORT
# (GATEWAY_PID); its log in $OUT/$2.log (default gateway.log).
start_gateway() {
    log "gateway on 127.0.0.1:$GATEWAY_PORT"
    "$BIN/gateway" check-config --config "$1" >&2
    "$BIN/gateway" serve --config "$1" 2>"$OUT/${2:-gateway}.log" &
    GATEWAY_PID=$!
    PIDS+=("$GATEWAY_PID")
    wait_port "$GATEWAY_PORT" gateway
}

# The first line of RESULTS: when, where and what was measured; $1: more JSON
# fields, e.g. `,"nginx":"1.22.1"`.
write_meta() {
    printf '{"kind":"meta","date":"%s","nproc":%s,"cpu":"%s","kernel":"%s","gateway_commit":"%s"%s}\n' \
        "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$(nproc)" \
        "$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')" "$(uname -r)" \
        "$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)$(git -C "$ROOT" diff --quiet HEAD -- gateway 2>/dev/null || echo '+dirty')" \
        "${1:-}" >>"$RESULTS"
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

# measure LABEL MODE ROUND SERVER_PID KEY [loadgen run options...]: one loadgen
# run against one target, its JSON line and the CPU lines appended to RESULTS.
# With SERIES set, the run and its CPU lines are reported under that name instead
# of MODE (e.g. a fixed-rate run at another rate: MODE fixed, SERIES fixed10k).
# SERVER_PID is the process the load generator talks to (MOCK_PID for the mock
# called directly). A run during which other processes used more than OTHERS_MAX
# CPU seconds is measured again, up to RETRIES times, while BUDGET lasts; the
# disturbed attempts go to disturbed.jsonl. Sets FAILED=1 if loadgen fails.
measure() {
    local label=$1 mode=$2 round=$3 server=$4 key=$5 series=${SERIES:-$2}
    shift 5
    local named=()
    [ -n "${SERIES:-}" ] && named=(--series "$SERIES")
    local attempt server_before mock_before system_before others
    for attempt in $(seq 0 "$RETRIES"); do
        wait_quiet
        : >"$WORK/run.jsonl"
        server_before=$(cpu_ticks "$server")
        mock_before=$(cpu_ticks "$MOCK_PID")
        system_before=$(busy_ticks)
        if ! LOADGEN_KEY=$key timeout $((WARMUP + DURATION + 60)) "$BIN/loadgen" run \
            --label "$label" --mode "$mode" --round "$round" \
            --duration "$DURATION" --warmup "$WARMUP" "${named[@]}" "$@" >>"$WORK/run.jsonl"; then
            log "loadgen failed: $label $mode"
            FAILED=1
        fi
        # server: the process the load generator talks to (the mock itself for
        # direct); system: the whole machine. What is left once the server, the mock
        # and the load generator are taken away was used by other work.
        others=$(awk -v l="$label" -v m="$series" -v s="$(cpu_ticks "$server")" -v s0="$server_before" \
            -v k="$(cpu_ticks "$MOCK_PID")" -v k0="$mock_before" -v y="$(busy_ticks)" -v y0="$system_before" \
            -v direct="$([ "$server" = "$MOCK_PID" ] && echo 1 || echo 0)" \
            -v hz="$HZ" -v out="$WORK/run.jsonl" -v lg="$(grep -o '"loadgen_cpu_s":[0-9.]*' "$WORK/run.jsonl" | cut -d: -f2)" 'BEGIN {
            fmt = "{\"kind\":\"cpu\",\"label\":\"%s\",\"mode\":\"%s\",\"process\":\"%s\",\"cpu_s\":%.2f}\n";
            printf fmt, l, m, "server", (s - s0) / hz >>out;
            printf fmt, l, m, "mock", (k - k0) / hz >>out;
            printf fmt, l, m, "system", (y - y0) / hz >>out;
            mock = direct ? 0 : k - k0;
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
