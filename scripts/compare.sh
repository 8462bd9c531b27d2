#!/usr/bin/env bash
# make compare: async_server vs nginx, and the harness vs wrk, measured in one sitting.
#   scripts/compare.sh [--rounds N] [--duration S] [--conns N] [--out DIR]
#     --rounds N    rounds, each measuring every contestant once (default 5)
#     --duration S  measured seconds of each run, a whole number (default 5)
#     --conns N     connections of the server comparison (default 100)
#     --out DIR     results folder (default results/latest/compare)
# 1. `harness run` of async_server and of nginx (contestants/nginx/nginx.sh: one process,
#    `return 200`), interleaved round by round, wait 0, 64 bytes, server on the first CPU,
#    generator on the second; the async/nginx ratio per round and its median (target
#    >= 1.0). The thread server and the contestants `scripts/contestants.sh list` gives
#    (Tokio, Go) run in the same rounds as extra rows. Runs warm up for min(1, S/5) s.
#    uring_server (when built) runs in the same rounds: uring/async of req/s and of server
#    CPU per request (target: CPU per request at or below the libev server's).
# 2. One async_server per round, loaded in turn by `wrk -t1 -c50 -dS` and by
#    `harness load --threads 1 --conns 50 --duration S --warmup 0` (wrk has no warm-up),
#    both on the generator CPU: the harness/wrk ratio per round and its median
#    (target >= 1.0, and within 10%).
# 3. Capacity at the same SLO (`harness run --capacity`, open loop): async_server and
#    nginx per round, their ratio.
# Prints every round, flags rounds whose generator was saturated or saw errors, writes
# DIR/compare.json (atomically) with every figure and the environment, and keeps each
# run's JSON in DIR/runs/ and its output in DIR/logs/. Programs from $TVT_BIN_DIR (bin).
# Exit: 0 measured (a missed target is printed as MISSED, not an error), 1 could not
# measure, 2 usage.
set -euo pipefail
cd "$(dirname "$0")/.."

PROG=scripts/compare.sh
usage() { sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; }
die() {
    echo "$PROG: $2" >&2
    exit "$1"
}

rounds=5 duration=5 conns=100 out=results/latest/compare
wrk_conns=50 bytes=64
need_arg() { [ $# -ge 2 ] || die 2 "$1 needs a value (try --help)"; }
while [ $# -gt 0 ]; do
    case "$1" in
    --rounds) need_arg "$@"; rounds=$2; shift 2 ;;
    --rounds=*) rounds=${1#*=}; shift ;;
    --duration) need_arg "$@"; duration=$2; shift 2 ;;
    --duration=*) duration=${1#*=}; shift ;;
    --conns) need_arg "$@"; conns=$2; shift 2 ;;
    --conns=*) conns=${1#*=}; shift ;;
    --out) need_arg "$@"; out=$2; shift 2 ;;
    --out=*) out=${1#*=}; shift ;;
    -h | --help) usage; exit 0 ;;
    *) die 2 "unknown argument '$1' (try --help)" ;;
    esac
done
# whole VALUE MIN MAX: true if VALUE is a whole number from MIN to MAX
whole() { [[ "$1" =~ ^[0-9]{1,9}$ ]] && [ "$1" -ge "$2" ] && [ "$1" -le "$3" ]; }
whole "$rounds" 1 100 || die 2 "--rounds '$rounds' is not a whole number from 1 to 100"
# wrk's -d takes whole seconds
whole "$duration" 1 3600 ||
    die 2 "--duration '$duration' is not a whole number of seconds from 1 to 3600"
whole "$conns" 1 1000000 || die 2 "--conns '$conns' is not a whole number from 1 to 1000000"
[ -n "$out" ] || die 2 "--out needs a folder"
out=${out%/}

bin=${TVT_BIN_DIR:-bin}
export TVT_BIN_DIR=$bin
for prog in harness async_server thread_server; do
    [ -x "$bin/$prog" ] ||
        die 1 "$bin/$prog not found: build with \`make\` (or set TVT_BIN_DIR to a build's bin/)"
done
for tool in python3 taskset timeout; do
    command -v "$tool" >/dev/null || die 1 "$tool not found; scripts/deps.sh installs what the suite needs"
done
PY=(python3 scripts/compare.py)
read -r scpu ccpu < <("${PY[@]}" cpus) || die 1 "cannot read the CPUs this process may use"
warmup=$(awk -v d="$duration" 'BEGIN { w = d / 5; if (w > 1) w = 1; printf "%g", w }')

# What runs, and what is skipped and why.
skips=()
nginx_cmd=""
others=(thread)
declare -A other_cmd=([thread]="")
list_err=$(mktemp) || die 1 "mktemp failed"
if ! lines=$(scripts/contestants.sh list --bin "$bin" 2>"$list_err"); then
    echo "$PROG: scripts/contestants.sh list failed: $(cat "$list_err"); only the C servers run" >&2
    lines=""
fi
rm -f "$list_err"
while IFS=$'\t' read -r name cmd _query; do
    [ -n "$name" ] || continue
    if [ "$name" = nginx ]; then
        nginx_cmd=$cmd
    else
        others+=("$name")
        other_cmd[$name]=$cmd
    fi
done <<<"$lines"
if [ -z "$nginx_cmd" ]; then
    if command -v nginx >/dev/null || [ -x /usr/sbin/nginx ]; then
        skips+=("skip.nginx=scripts/contestants.sh list does not offer nginx although it is installed")
    else
        skips+=("skip.nginx=nginx is not installed (apt-get install nginx-light, or scripts/deps.sh --contestants as root)")
    fi
fi
if [ -x "$bin/uring_server" ]; then
    others+=(uring)
    other_cmd[uring]=""
else
    skips+=("skip.uring=$bin/uring_server not built (make)")
fi
for want in tokio-current tokio-multi go; do
    [ -n "${other_cmd[$want]+x}" ] ||
        skips+=("skip.$want=not built in $bin (make contestants, or scripts/contestants.sh build --bin $bin)")
done
command -v wrk >/dev/null || skips+=("skip.wrk=wrk is not installed (apt-get install wrk)")
have_wrk=0
command -v wrk >/dev/null && have_wrk=1

# A folder holds one sitting: an older one's files go, so nothing stale sits beside new runs.
rm -rf "$out/runs" "$out/logs" "$out/servers" "$out/compare.json" "$out/params.json"
mkdir -p "$out/runs" "$out/logs" "$out/servers" || die 1 "cannot create $out"
index=$out/runs/index.tsv
printf 'round\tpart\tname\tfile\tloadavg_1m\tcommand\tserver_cpu_s\tcpu_pressure_pct\n' >"$index"

loadavg() { cut -d' ' -f1 /proc/loadavg; }
# CPU pressure (PSI, system-wide): "some" stall microseconds so far and the clock in us,
# so a run's share of time in which some task waited for a CPU is a difference.
psi_now() {
    local t
    t=$(sed -n 's/^some .*total=\([0-9]*\)$/\1/p' /proc/pressure/cpu 2>/dev/null)
    echo "${t:-x} $(($(date +%s%N) / 1000))"
}
psi_pct() { # "BEFORE" "AFTER" -> percent, or nothing without PSI
    awk -v a="$1" -v b="$2" 'BEGIN { split(a, x, " "); split(b, y, " ");
        if (x[1] != "x" && y[1] != "x" && y[2] > x[2]) printf "%.1f", 100 * (y[1] - x[1]) / (y[2] - x[2]) }'
}
load_start=$(loadavg)

# The server of part 2, stopped on any exit.
SRV_PID=""
stop_server() {
    if [ -n "$SRV_PID" ]; then
        kill -TERM "$SRV_PID" 2>/dev/null || true
        wait "$SRV_PID" 2>/dev/null || true
        SRV_PID=""
    fi
}
trap 'stop_server' EXIT
trap 'stop_server; echo "$PROG: interrupted; partial runs in $out/runs" >&2; exit 130' INT TERM

# Progress: each step's cost is estimated in seconds, so the ETA is elapsed time scaled.
run_cost=$((duration + 2)) # warm-up, idle baseline, start and stop
gen_cost=$((2 * duration + 2))
n_servers=$((1 + ${#others[@]} + (${#nginx_cmd} > 0 ? 1 : 0)))
n_cap=$((1 + (${#nginx_cmd} > 0 ? 1 : 0)))
cap_cost=$((duration + 8)) # the closed-loop phase, 8 steps of at least 0.5 s, settling
total_cost=$((rounds * (n_servers * run_cost + n_cap * cap_cost + have_wrk * gen_cost)))
total_steps=$((rounds * (n_servers + n_cap + 2 * have_wrk)))
done_cost=0 step=0 t0=$(date +%s)
fmt_s() { local s=$1; if [ "$s" -ge 60 ]; then printf '%dm%02ds' $((s / 60)) $((s % 60)); else printf '%ds' "$s"; fi; }
progress() { # ROUND NAME COST WHAT
    local el eta
    done_cost=$((done_cost + $3)) step=$((step + 1))
    el=$(($(date +%s) - t0))
    eta=$((done_cost > 0 ? el * (total_cost - done_cost) / done_cost : 0))
    printf 'compare: [round %d/%d, %d/%d] %-14s %s  (%s elapsed, ETA %s, load %s)\n' \
        "$1" "$rounds" "$step" "$total_steps" "$2" "$4" "$(fmt_s "$el")" "$(fmt_s "$eta")" "$(loadavg)"
}
record() { # ROUND PART NAME FILE LOAD COMMAND [SERVER_CPU_S [CPU_PRESSURE_PCT]]
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" "$6" "${7:-}" "${8:-}" \
        >>"$index"
}
describe() { # FILE -> "123,456.7 req/s" plus flags
    local rps err sat st
    read -r rps err sat st < <("${PY[@]}" harness "$1") || true
    if [ "$st" != ok ]; then
        echo "FAILED (see ${1/runs/logs} and its .log)"
        return
    fi
    printf "%'.1f req/s" "$rps"
    [ "$sat" = 1 ] && printf '  SATURATED generator'
    [ "$err" != 0 ] && printf '  %s errors' "$err"
    echo
}

common=(--conns "$conns" --duration "$duration" --warmup "$warmup" --wait-us 0 --work-us 0
    --bytes "$bytes" --server-cpu "$scpu" --client-cpu "$ccpu" --quiet)
limit=$((duration + 60)) # a run that outlives this is stuck

# run_server ROUND NAME [harness run flags...]: one harness run into runs/rR-NAME.json
run_server() {
    local r=$1 name=$2 f=runs/r$1-$2.json la p0
    shift 2
    la=$(loadavg)
    p0=$(psi_now)
    timeout -k 5 "$limit" "$bin/harness" run "${common[@]}" --name "$name" --out "$out/$f" "$@" \
        >"$out/logs/r$r-$name.log" 2>&1 || true
    record "$r" servers "$name" "$f" "$la" "harness run $*" "" "$(psi_pct "$p0" "$(psi_now)")"
    progress "$r" "$name" "$run_cost" "$(describe "$out/$f")"
}

# contestant_flags ROUND NAME COMMAND: fills cflags with --server-cmd (placeholders
# {port}, {dir}, {bytes} substituted) and --target when the command has a {port}.
contestant_flags() {
    local r=$1 name=$2 cmd=$3 dir port
    dir=$(cd "$out/servers" && pwd)/r$r-$name
    mkdir -p "$dir"
    cflags=()
    if [[ "$cmd" == *"{port}"* ]]; then
        port=$(contestants/nginx/nginx.sh port) || port=""
        [ -n "$port" ] || { echo "$PROG: no free port for $name" >&2; port=1; }
        cmd=${cmd//\{port\}/$port}
        cflags+=(--target "127.0.0.1:$port")
    fi
    cmd=${cmd//\{dir\}/$dir}
    cmd=${cmd//\{bytes\}/$bytes}
    cflags=(--server-cmd "$cmd" "${cflags[@]}")
}

# start_server ROUND: async_server on the server CPU for part 2; sets SRV_PID, SRV_PORT
start_server() {
    local so=$out/logs/r$1-gen-server.out se=$out/logs/r$1-gen-server.err
    : >"$so" # exists before the child opens it, for the poll below
    taskset -c "$scpu" "$bin/async_server" --host 127.0.0.1 --port 0 >"$so" 2>"$se" &
    SRV_PID=$!
    SRV_PORT=""
    for _ in $(seq 1 100); do
        SRV_PORT=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$so" | head -n1)
        [ -n "$SRV_PORT" ] && return 0
        kill -0 "$SRV_PID" 2>/dev/null || break
        sleep 0.1
    done
    stop_server
    echo "$PROG: async_server did not start for round $1: $(tail -c 300 "$se")" >&2
    return 1
}

# server_ticks: CPU clock ticks (user + system) the part-2 server has used so far; the
# fields after the ")" that closes its name, so a name with spaces cannot shift them
server_ticks() { sed 's/.*) //' "/proc/$SRV_PID/stat" 2>/dev/null | awk '{ print $12 + $13 }'; }
clk_tck=$(getconf CLK_TCK 2>/dev/null || echo 100)
ticks_to_s() { awk -v a="$1" -v b="$2" -v hz="$clk_tck" 'BEGIN { if (a != "" && b != "") printf "%.2f", (b - a) / hz }'; }

run_wrk() { # ROUND
    local r=$1 f=runs/r$1-wrk.json url rc=0 tf=$out/logs/r$1-wrk.time la wall cpu t1 p0
    url="http://127.0.0.1:$SRV_PORT/?wait_us=0&work_us=0&bytes=$bytes"
    la=$(loadavg)
    t1=$(server_ticks)
    p0=$(psi_now)
    local TIMEFORMAT='%R %U %S'
    { time timeout -k 5 "$limit" taskset -c "$ccpu" wrk -t1 -c"$wrk_conns" -d"${duration}s" \
        --latency "$url" >"$out/logs/r$r-wrk.log" 2>&1; } 2>"$tf" || rc=$?
    t1=$(ticks_to_s "$t1" "$(server_ticks)")
    p0=$(psi_pct "$p0" "$(psi_now)")
    wall=$(awk 'END { print $1 + 0 }' "$tf")
    cpu=$(awk 'END { print $2 + $3 }' "$tf")
    "${PY[@]}" wrk --text "$out/logs/r$r-wrk.log" --out "$out/$f" --cpu-s "$cpu" \
        --wall-s "$wall" --duration "$duration" --conns "$wrk_conns" --exit "$rc" \
        --command "taskset -c $ccpu wrk -t1 -c$wrk_conns -d${duration}s --latency $url" \
        >/dev/null || true
    record "$r" gen wrk "$f" "$la" "taskset -c $ccpu wrk -t1 -c$wrk_conns -d${duration}s --latency URL" "$t1" "$p0"
    progress "$r" wrk "$duration" "$(describe "$out/$f")"
}

run_load() { # ROUND
    local r=$1 f=runs/r$1-harness-load.json la t1 p0
    la=$(loadavg)
    t1=$(server_ticks)
    p0=$(psi_now)
    timeout -k 5 "$limit" "$bin/harness" load --target "127.0.0.1:$SRV_PORT" --threads 1 \
        --conns "$wrk_conns" --duration "$duration" --warmup 0 --wait-us 0 --work-us 0 \
        --bytes "$bytes" --client-cpu "$ccpu" --name harness-load --quiet --out "$out/$f" \
        >"$out/logs/r$r-harness-load.log" 2>&1 || true
    t1=$(ticks_to_s "$t1" "$(server_ticks)")
    p0=$(psi_pct "$p0" "$(psi_now)")
    record "$r" gen harness-load "$f" "$la" "harness load --threads 1 --conns $wrk_conns --duration $duration --warmup 0" "$t1" "$p0"
    progress "$r" harness-load "$((duration + 2))" "$(describe "$out/$f")"
}

echo "compare: $rounds rounds x ($n_servers servers + $((2 * have_wrk)) generator runs), $duration s each;" \
    "server CPU $scpu, generator CPU $ccpu; about $(fmt_s "$total_cost"); load average $load_start on $(nproc) CPUs"
for s in "${skips[@]}"; do
    s=${s#skip.}
    echo "compare: skipping ${s%%=*}: ${s#*=}"
done

for r in $(seq 1 "$rounds"); do
    run_server "$r" async --impl async
    if [ -n "$nginx_cmd" ]; then
        contestant_flags "$r" nginx "$nginx_cmd"
        run_server "$r" nginx "${cflags[@]}"
    fi
    for name in "${others[@]}"; do
        if [ "$name" = thread ] || [ "$name" = uring ]; then
            run_server "$r" "$name" --impl "$name"
        else
            contestant_flags "$r" "$name" "${other_cmd[$name]}"
            run_server "$r" "$name" "${cflags[@]}"
        fi
    done
    run_server "$r" cap-async --impl async --capacity --steps 8 --step-min-s 0.5
    if [ -n "$nginx_cmd" ]; then
        contestant_flags "$r" cap-nginx "$nginx_cmd"
        run_server "$r" cap-nginx "${cflags[@]}" --capacity --steps 8 --step-min-s 0.5
    fi
    if [ "$have_wrk" = 1 ]; then
        if start_server "$r"; then
            run_wrk "$r"
            run_load "$r"
            stop_server
        else
            record "$r" gen wrk "runs/r$r-wrk.json" "$(loadavg)" "server did not start"
            record "$r" gen harness-load "runs/r$r-harness-load.json" "$(loadavg)" "server did not start"
            progress "$r" "wrk+harness" "$gen_cost" "FAILED: async_server did not start"
        fi
    fi
done

"${PY[@]}" params --out "$out" rounds="$rounds" duration_s="$duration" warmup_s="$warmup" \
    conns="$conns" wrk_conns="$wrk_conns" bytes="$bytes" wait_us=0 work_us=0 \
    server_cpu="$scpu" client_cpu="$ccpu" bin="$bin" \
    loadavg_start="$load_start" loadavg_end="$(loadavg)" \
    harness_load_warmup_s=0 capacity=true elapsed_s="$(($(date +%s) - t0))" \
    others="$(
        IFS=,
        echo "${others[*]}"
    )" "${skips[@]}" ||
    die 1 "cannot write $out/params.json"
"${PY[@]}" summary --out "$out"
