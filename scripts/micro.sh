#!/usr/bin/env bash
# Runs the microbenchmarks (spawn and switch cost of tasks vs threads) at one
# profile and writes their JSON under OUTDIR.
#   scripts/micro.sh --profile smoke|quick|full --out OUTDIR [--bin DIR]
#     smoke  seconds: tiny N, to see that everything runs
#     quick  under a minute: tasks to 100k, threads to 2000
#     full   tasks to 1,000,000, threads to their wall (pid_max etc.; takes every free pid
#            of the machine for a moment: run it when nobody else needs threads)
#   --bin DIR   where spawn_bench and switch_bench are (default $TVT_BIN_DIR or bin)
#
# Writes (keys of every file: microbench/SCHEMA.md):
#   OUTDIR/micro/spawn_<kind>_<stack>.json   spawn_bench --json, one per kind and stack
#   OUTDIR/micro/switch_pinned.json          switch_bench --json, all units on one CPU
#   OUTDIR/micro/switch_unpinned.json        switch_bench --json, the scheduler's choice
#   OUTDIR/micro/perf_sched_pipe.json        the kernel's own figure, or why it is missing
#   OUTDIR/micro/spawn_tokio-*_<runtime>.json, spawn_std-thread.json, switch_tokio_*.json
#                                            bin/tokio_micro (make contestants), when built:
#                                            Tokio tasks and Rust threads, same keys
#   OUTDIR/micro/manifest.json               profile, files written, failures
#   OUTDIR/hyperfine/spawn_<N>.json          hyperfine --export-json: whole-process time
#                                            to create and tear down N tasks vs N threads
# Keys of the two files this script writes itself (the others: see their programs' headers):
#   perf_sched_pipe.json  {bench: "perf_sched_pipe", available, reason (null or why
#                          skipped), runs: [{placement: "pinned"|"unpinned", cpu (or null),
#                          loops, usecs_per_op (one round trip), ops_per_sec, total_sec,
#                          ns_per_switch (= usecs_per_op * 1000 / 2), command}]}
#   manifest.json         {bench: "micro_manifest", profile, date, pin_cpu, files: [paths
#                          relative to OUTDIR], failures: [names of steps that failed]}
# Exit: 0 all ran, 1 something failed (the rest still ran; see manifest.json), 2 usage.
set -uo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/args.sh
. "$here/scripts/args.sh"
profile=""
out=""
bin="${TVT_BIN_DIR:-bin}"

usage() { sed -n '2,29p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
    case "$1" in
    --profile) profile="${2:-}"; shift 2 ;;
    --out) out="${2:-}"; shift 2 ;;
    --bin) bin="${2:-}"; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) args_unknown "$1" ;;
    esac
done
args_profile "$profile"
[ -n "$out" ] || { echo "micro.sh: --out OUTDIR is required" >&2; exit 2; }
case "$bin" in /*) ;; *) bin="$here/$bin" ;; esac
for b in spawn_bench switch_bench; do
    [ -x "$bin/$b" ] || { echo "micro.sh: $bin/$b not found: run make (or pass --bin DIR)" >&2; exit 2; }
done

micro="$out/micro"
hf="$out/hyperfine"
mkdir -p "$micro" "$hf" || { echo "micro.sh: cannot create $micro" >&2; exit 1; }

# The first CPU this process may use: "pinned" runs go there.
cpu=$(awk '/^Cpus_allowed_list/ {split($2, a, /[-,]/); print a[1]}' /proc/self/status)
cpu=${cpu:-0}
# task-io takes two fds per task: stay under RLIMIT_NOFILE (read now, never assumed).
nofile=$(ulimit -n)
[ "$nofile" = unlimited ] && nofile=1048576
io_max=$(((nofile - 64) / 2))

# Profile: spawn counts per family, switch iterations, hyperfine N and runs, perf loops.
case "$profile" in
smoke)
    task_counts="1000,10000"; io_counts="200,1000"; thread_counts="100,300"
    until_failure=""; sw_iters=2000; sw_rings="2,50"
    hf_n=1000; hf_runs=3; perf_loops=10000; perf_loops_unpinned=2000 ;;
quick)
    task_counts="1000,10000,100000"; io_counts="1000,3000,$((io_max < 8000 ? io_max : 8000))"
    thread_counts="500,1000,2000"
    until_failure=""; sw_iters=50000; sw_rings="2,500"
    hf_n=2000; hf_runs=10; perf_loops=200000; perf_loops_unpinned=50000 ;;
full)
    # The last count is past every wall: creation stops at the first failure, which the
    # JSON reports with errno and the limit hit.
    task_counts="1000,10000,100000,1000000"; io_counts="1000,3000,$io_max,1000000"
    thread_counts="1000,3000,10000,1000000"
    until_failure="--until-failure"; sw_iters=200000; sw_rings="2,500"
    hf_n=10000; hf_runs=10; perf_loops=1000000; perf_loops_unpinned=200000 ;;
esac

failures=()
written=()
step=0
total=10
tokio=""
[ -x "$bin/tokio_micro" ] && tokio="$bin/tokio_micro" && total=$((total + 6))
# (contestants are built into bin/ even when the C programs come from elsewhere)
[ -z "$tokio" ] && [ -x "$here/bin/tokio_micro" ] && tokio="$here/bin/tokio_micro" && total=$((total + 6))
progress() { step=$((step + 1)); echo "micro.sh: [$step/$total] $*"; }

# run_json NAME CMD...: runs a benchmark that writes $micro/NAME.json.
run_json() {
    local name="$1"; shift
    if "$@" --json "$micro/$name.json"; then
        written+=("micro/$name.json")
    else
        echo "micro.sh: FAILED ($?): $*" >&2
        failures+=("$name")
        # A run that failed may still have written its JSON (ok: false): keep it.
        [ -f "$micro/$name.json" ] && written+=("micro/$name.json")
    fi
}

spawn() { # spawn NAME KIND COUNTS [STACK_KIB]
    local name="$1" kind="$2" counts="$3" stack="${4:-}"
    progress "spawn_bench $kind${stack:+ stack ${stack} KiB}: N=$counts"
    local extra=()
    [ -n "$stack" ] && extra+=(--stack-kib "$stack")
    [ -n "$until_failure" ] && extra+=("$until_failure")
    run_json "$name" "$bin/spawn_bench" --kind "$kind" --counts "$counts" "${extra[@]+"${extra[@]}"}"
}

spawn spawn_task-timer task-timer "$task_counts"
# task-io is capped by RLIMIT_NOFILE, so its wall is always allowed.
progress "spawn_bench task-io: N=$io_counts"
run_json spawn_task-io "$bin/spawn_bench" --kind task-io --counts "$io_counts" --until-failure
spawn spawn_thread-cond_default thread-cond "$thread_counts"
spawn spawn_thread-cond_64k thread-cond "$thread_counts" 64
spawn spawn_thread-pipe_default thread-pipe "$thread_counts"
spawn spawn_thread-pipe_64k thread-pipe "$thread_counts" 64

progress "switch_bench pinned to CPU $cpu: rings $sw_rings, $sw_iters passes"
run_json switch_pinned "$bin/switch_bench" --mech all --ring "$sw_rings" --iters "$sw_iters" --pin "$cpu"
progress "switch_bench unpinned: rings $sw_rings, $sw_iters passes"
run_json switch_unpinned "$bin/switch_bench" --mech all --ring "$sw_rings" --iters "$sw_iters"

# The same in Rust, when the contestants are built: Tokio tasks (both runtimes) and
# std::threads, in the C benchmarks' JSON, so the report and the plots read them alike.
if [ -n "$tokio" ]; then
    for rt in current multi; do
        progress "tokio_micro spawn tokio-timer ($rt runtime): N=$task_counts"
        run_json "spawn_tokio-timer_$rt" "$tokio" spawn --kind tokio-timer --runtime "$rt" \
            --counts "$task_counts"
    done
    progress "tokio_micro spawn tokio-chan (multi runtime): N=$task_counts"
    run_json spawn_tokio-chan_multi "$tokio" spawn --kind tokio-chan --runtime multi \
        --counts "$task_counts"
    progress "tokio_micro spawn std-thread: N=$thread_counts"
    run_json spawn_std-thread "$tokio" spawn --kind std-thread --counts "$thread_counts" \
        ${until_failure:+"$until_failure"}
    # the threads' rings once (with the current-thread runtime), the tasks' with both
    progress "tokio_micro switch (current runtime, and std threads) pinned to CPU $cpu: rings $sw_rings"
    run_json switch_tokio_current "$tokio" switch --runtime current --mech all \
        --ring "$sw_rings" --iters "$sw_iters" --pin "$cpu"
    progress "tokio_micro switch (multi runtime) pinned to CPU $cpu: rings $sw_rings"
    run_json switch_tokio_multi "$tokio" switch --runtime multi --kind task \
        --ring "$sw_rings" --iters "$sw_iters" --pin "$cpu"
fi

# Whole-command time is what C5 ("tasks are cheap to create") is about: process start,
# creation, teardown and exit, as a user would see them.
progress "hyperfine: create+teardown $hf_n tasks vs $hf_n threads, $hf_runs runs"
# task-io holds two fds per unit (a socketpair): keep it under this process's
# open-files limit, or it measures EMFILE instead of creation.
nofile=$(ulimit -n)
io_n=$hf_n
if [ "$nofile" != unlimited ] && [ $(((nofile - 64) / 2)) -lt "$hf_n" ]; then
    io_n=$(((nofile - 64) / 2))
fi
if command -v hyperfine >/dev/null 2>&1; then
    if hyperfine --style basic --shell=none --warmup 1 --runs "$hf_runs" \
        --export-json "$hf/spawn_$hf_n.json" \
        -n "task-timer $hf_n" "$bin/spawn_bench --kind task-timer --count $hf_n" \
        -n "task-io $io_n" "$bin/spawn_bench --kind task-io --count $io_n" \
        -n "thread-cond $hf_n" "$bin/spawn_bench --kind thread-cond --count $hf_n" \
        -n "thread-cond-64k $hf_n" "$bin/spawn_bench --kind thread-cond --stack-kib 64 --count $hf_n"; then
        written+=("hyperfine/spawn_$hf_n.json")
    else
        failures+=("hyperfine")
    fi
else
    echo "micro.sh: hyperfine not found (apt-get install hyperfine): skipped" >&2
    failures+=("hyperfine-missing")
fi

# perf bench sched pipe: two processes ping-pong through pipes; one op is a round trip,
# so two switches.
progress "perf bench sched pipe: pinned to CPU $cpu ($perf_loops loops), unpinned ($perf_loops_unpinned loops)"
perf_json="$micro/perf_sched_pipe.json"
perf_reason=""
if ! command -v perf >/dev/null 2>&1; then
    perf_reason="perf not found in PATH (apt-get install linux-perf)"
elif ! perf bench sched pipe -l 10 >/dev/null 2>&1; then
    perf_reason="perf bench sched pipe does not run here: $(perf bench sched pipe -l 10 2>&1 | tail -1)"
fi
json_str() { printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g' | tr -d '\n'; }
{
    printf '{\n  "bench": "perf_sched_pipe",\n'
    if [ -n "$perf_reason" ]; then
        printf '  "available": false,\n  "reason": "%s",\n  "runs": []\n}\n' "$(json_str "$perf_reason")"
    else
        printf '  "available": true,\n  "reason": null,\n  "runs": ['
        sep=""
        for placement in pinned unpinned; do
            if [ $placement = pinned ]; then
                loops=$perf_loops; cmd=(taskset -c "$cpu" perf bench sched pipe -l "$loops")
            else
                loops=$perf_loops_unpinned; cmd=(perf bench sched pipe -l "$loops")
            fi
            text=$("${cmd[@]}" 2>&1)
            usecs=$(printf '%s\n' "$text" | awk '/usecs\/op/ {print $1; exit}')
            ops=$(printf '%s\n' "$text" | awk '/ops\/sec/ {print $1; exit}')
            secs=$(printf '%s\n' "$text" | awk '/Total time/ {print $3; exit}')
            if [ -z "$usecs" ]; then
                echo "micro.sh: could not parse perf output: $text" >&2
                failures+=("perf_sched_pipe_$placement")
                continue
            fi
            nsw=$(awk -v u="$usecs" 'BEGIN {printf "%.1f", u * 1000 / 2}')
            printf '%s\n    {"placement": "%s", "cpu": %s, "loops": %s, "usecs_per_op": %s, "ops_per_sec": %s, "total_sec": %s, "ns_per_switch": %s, "command": "%s"}' \
                "$sep" "$placement" "$([ $placement = pinned ] && echo "$cpu" || echo null)" \
                "$loops" "$usecs" "${ops:-null}" "${secs:-null}" "$nsw" "$(json_str "${cmd[*]}")"
            sep=","
        done
        printf '\n  ]\n}\n'
    fi
} >"$perf_json.tmp" && mv "$perf_json.tmp" "$perf_json" && written+=("micro/perf_sched_pipe.json")
[ -n "$perf_reason" ] && echo "micro.sh: perf skipped: $perf_reason" >&2

# manifest.json: what this run wrote and what failed, for the report generator.
{
    printf '{\n  "bench": "micro_manifest",\n  "profile": "%s",\n' "$profile"
    printf '  "date": "%s",\n  "pin_cpu": %s,\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$cpu"
    printf '  "files": ['
    sep=""
    for f in "${written[@]}"; do printf '%s"%s"' "$sep" "$f"; sep=", "; done
    printf '],\n  "failures": ['
    sep=""
    for f in "${failures[@]+"${failures[@]}"}"; do printf '%s"%s"' "$sep" "$f"; sep=", "; done
    printf ']\n}\n'
} >"$micro/manifest.json.tmp" && mv "$micro/manifest.json.tmp" "$micro/manifest.json"

if [ ${#failures[@]} -gt 0 ]; then
    echo "micro.sh: done with failures: ${failures[*]} (see $micro/manifest.json)" >&2
    exit 1
fi
echo "micro.sh: done: $micro, $hf"
