#!/usr/bin/env bash
# make bench: the sweep of both servers, the head-of-line case, hyperfine, the
# microbenchmarks, then the plots and REPORT.md with its verdicts, in one results folder.
#   scripts/bench.sh [--profile smoke|quick|full] [--out DIR] [--server-cpus K]
#                    [--hosts FILE --server-on NAME --clients-on NAME[,NAME...]]
#     smoke  < 1 min, the tests' profile: 1-100 connections, waits 0 and 1 ms
#     quick  the default, < 5 min: 1-10k connections, waits 0, 1 and 10 ms
#     full   about an hour on 2 cores: 1 connection to one process's fd limit, 3 repeats;
#            Tokio, Go and nginx (those `make contestants` built) at every point; each
#            design's wall searched up to 1,000,000 connections (about 15 min; the thread
#            server's probes take every free pid of the machine for a few seconds each:
#            others' builds may fail meanwhile)
# --hosts runs every point across the hosts of FILE (harness run --hosts; make bench
# HOSTS=FILE SERVER_ON=NAME CLIENTS_ON=NAME,...): the server on one host, the generators on
# the others; the microbenchmarks stay on this machine.
# DIR defaults to results/latest; an existing results/latest first moves to results/previous
# (another DIR to DIR.previous). Programs come from $TVT_BIN_DIR (bin), contestants from there
# or bin/. The expected time is printed first.
# Exit: 0 done (failed points are data, listed at the end), 1 could not run, 2 usage.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/args.sh
. scripts/args.sh

usage() { sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; }
profile=quick
out=
server_cpus=${SERVER_CPUS:-}
hosts=${HOSTS:-}
server_on=${SERVER_ON:-}
clients_on=${CLIENTS_ON:-}
while [ $# -gt 0 ]; do
    case "$1" in
    --profile) profile=${2:-}; shift 2 || { usage >&2; exit 2; } ;;
    --profile=*) profile=${1#*=}; shift ;;
    --out) out=${2:-}; shift 2 || { usage >&2; exit 2; } ;;
    --out=*) out=${1#*=}; shift ;;
    --server-cpus) server_cpus=${2:-}; shift 2 || { usage >&2; exit 2; } ;;
    --server-cpus=*) server_cpus=${1#*=}; shift ;;
    --hosts) hosts=${2:-}; shift 2 || { usage >&2; exit 2; } ;;
    --server-on) server_on=${2:-}; shift 2 || { usage >&2; exit 2; } ;;
    --clients-on) clients_on=${2:-}; shift 2 || { usage >&2; exit 2; } ;;
    -h | --help) usage; exit 0 ;;
    *) args_unknown "$1" ;;
    esac
done
args_profile "$profile"
[ -n "$out" ] || out=results/latest
out=${out%/}
bin=${TVT_BIN_DIR:-bin}
sweep_args=(--profile "$profile" --out "$out" --bin "$bin")
if [ -n "$server_cpus" ]; then
    case "$server_cpus" in
    *[!0-9]* | 0) echo "bench.sh: --server-cpus (SERVER_CPUS) must be a whole number >= 1, not '$server_cpus'" >&2; exit 2 ;;
    esac
    sweep_args+=(--server-cpus "$server_cpus")
fi

if [ -n "$hosts$server_on$clients_on" ]; then
    if [ -z "$hosts" ] || [ -z "$server_on" ] || [ -z "$clients_on" ]; then
        echo "bench.sh: a run across hosts needs all three: HOSTS=FILE SERVER_ON=NAME CLIENTS_ON=NAME[,NAME...]" >&2
        exit 2
    fi
    [ -f "$hosts" ] || { echo "bench.sh: HOSTS=$hosts: no such file" >&2; exit 2; }
    sweep_args+=(--hosts "$hosts" --server-on "$server_on" --clients-on "$clients_on")
fi

for prog in harness async_server thread_server; do
    if [ ! -x "$bin/$prog" ]; then
        echo "bench.sh: $bin/$prog not found: build with \`make\` (or set TVT_BIN_DIR to a build's bin/)" >&2
        exit 1
    fi
done
for tool in python3 gnuplot taskset; do
    if ! command -v "$tool" >/dev/null; then
        echo "bench.sh: $tool not found; scripts/deps.sh installs what the suite needs" >&2
        exit 1
    fi
done

# A new run never mixes with an old one: the old one moves aside whole.
if [ -d "$out" ] && [ -n "$(ls -A "$out" 2>/dev/null)" ]; then
    if [ "$out" = results/latest ]; then prev=results/previous; else prev=$out.previous; fi
    rm -rf "$prev"
    mv "$out" "$prev"
    echo "bench.sh: the previous results moved to $prev"
fi
mkdir -p "$out/logs"
start=$(date +%s)

# The expected time, from the plan and per-run timings measured on a 2-core VM (the sweep
# refines its ETA as runs finish); microbenchmarks and plots added.
case "$profile" in smoke) micro_s=10 ;; quick) micro_s=60 ;; full) micro_s=200 ;; esac
if sweep_s=$(python3 scripts/sweep.py "${sweep_args[@]}" --estimate); then
    total_s=$((sweep_s + micro_s + 20))
    echo "bench.sh: profile $profile: expected about $((total_s / 60)) min $((total_s % 60)) s" \
        "(sweep $((sweep_s / 60)) min $((sweep_s % 60)) s, microbenchmarks ~${micro_s} s, plots ~20 s)"
fi

rc=0
python3 scripts/sweep.py "${sweep_args[@]}" || rc=$?
if [ "$rc" -ne 0 ]; then
    # 130: interrupted; what ran is kept, and plots.sh can still report it.
    echo "bench.sh: the sweep stopped (exit $rc); partial results in $out" >&2
    exit "$rc"
fi

# The microbenchmarks (spawn and switch cost), when this checkout has them.
if [ -x scripts/micro.sh ]; then
    echo "bench.sh: microbenchmarks (scripts/micro.sh --profile $profile)"
    mrc=0
    TVT_BIN_DIR=$bin scripts/micro.sh --profile "$profile" --out "$out" || mrc=$?
    if [ "$mrc" -ne 0 ]; then
        echo "scripts/micro.sh exited $mrc" >"$out/logs/micro.failed"
        echo "bench.sh: scripts/micro.sh exited $mrc; the report goes on without what it lacks" >&2
    fi
else
    echo "bench.sh: scripts/micro.sh not found; C1/C2/C5 use the server runs only" >&2
fi

scripts/plots.sh "$out"
echo "bench.sh: profile $profile done in $(($(date +%s) - start)) s: $out/REPORT.md"
