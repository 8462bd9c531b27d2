#!/usr/bin/env bash
# Builds and runs the libFuzzer targets in tests/fuzz/ (clang, from Debian), in parallel, one
# per CPU.
#   scripts/fuzz.sh [--runs N] [--seconds S] [--coverage] [TARGET...]
#     --runs N     each target stops after N executions (default: when its time is up)
#     --seconds S  each target runs at most S seconds (default 60; with --runs, the cap)
#     --coverage   then replays each corpus through a coverage build (llvm-cov) and prints
#                  the lines and branches of the target's sources that it reached
# Each tests/fuzz/fuzz_NAME.c names the sources it links on a "fuzz-sources:" line and has
# its seed corpus in tests/fuzz/corpus/NAME/. The corpus grows in results/fuzz/corpus/NAME/,
# kept from run to run (never in the repository, and `make clean` leaves it); a crash
# leaves its input in build/fuzz/crashes/ and makes this script exit 1. Prints one line per
# target: executions, rate, coverage edges and features, result.
set -uo pipefail
cd "$(dirname "$0")/.."

seconds=60
runs=0
coverage=0
targets=()
while [ $# -gt 0 ]; do
    case "$1" in
    --seconds | --runs)
        case "${2:-}" in
        '' | *[!0-9]*)
            echo "fuzz.sh: $1 needs a whole number, not '${2:-}'" >&2
            exit 2
            ;;
        esac
        if [ "$1" = --seconds ]; then seconds=$2; else runs=$2; fi
        shift 2
        ;;
    --coverage)
        coverage=1
        shift
        ;;
    -h | --help)
        sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    -*)
        echo "fuzz.sh: unknown option '$1' (try --help)" >&2
        exit 2
        ;;
    *)
        targets+=("$1")
        shift
        ;;
    esac
done
if [ ${#targets[@]} -eq 0 ]; then
    for f in tests/fuzz/fuzz_*.c; do
        targets+=("$(basename "$f" .c | sed 's/^fuzz_//')")
    done
fi
if ! command -v clang >/dev/null; then
    echo "fuzz.sh: clang not found; as root run scripts/deps.sh (it installs clang and libclang-rt-dev)" >&2
    exit 1
fi
for t in "${targets[@]}"; do
    if [ ! -f "tests/fuzz/fuzz_$t.c" ]; then
        echo "fuzz.sh: no target tests/fuzz/fuzz_$t.c" >&2
        exit 2
    fi
done

out=build/fuzz
corpora=results/fuzz/corpus
mkdir -p "$out/crashes" "$corpora"

sources_of() { sed -n 's/.*fuzz-sources: *\([^*]*\).*/\1/p' "tests/fuzz/fuzz_$1.c"; }

# fuzz_one NAME: builds and runs one target; its summary line goes to $out/fuzz_NAME.result.
fuzz_one() {
    local t=$1 src=tests/fuzz/fuzz_$1.c bin=$out/fuzz_$1 log=$out/fuzz_$1.log extra
    read -r -a extra <<<"$(sources_of "$t")"
    if ! clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
        -D_GNU_SOURCE -Icommon -Iharness -o "$bin" "$src" "${extra[@]}" -lhttp_parser \
        >"$log" 2>&1; then
        echo "fuzz $t: FAILED to build $bin (see $log)" >"$out/fuzz_$t.result"
        return 1
    fi
    mkdir -p "$corpora/$t"
    local limits=(-max_total_time="$seconds")
    [ "$runs" -gt 0 ] && limits+=(-runs="$runs")
    local t0=$SECONDS
    "$bin" "${limits[@]}" -print_final_stats=1 -artifact_prefix="$out/crashes/$t-" \
        "$corpora/$t" "tests/fuzz/corpus/$t" >"$log" 2>&1
    local rc=$? took=$((SECONDS - t0))
    local n cov ft rate inputs
    n=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    cov=$(grep -a -o 'cov: [0-9]*' "$log" | tail -1 | sed 's/cov: //')
    ft=$(grep -a -o 'ft: [0-9]*' "$log" | tail -1 | sed 's/ft: //')
    inputs=$(find "$corpora/$t" -type f | wc -l)
    if [ $rc -eq 0 ]; then
        local short=""
        [ "$runs" -gt 0 ] && [ "${n:-0}" -lt "$runs" ] && short=" (time ran out before $runs)"
        echo "fuzz $t: ok, ${n:-?} executions in ${took} s (${rate:-?}/s)$short, coverage" \
            "${cov:-?} edges, ${ft:-?} features; corpus $inputs inputs in $corpora/$t" \
            >"$out/fuzz_$t.result"
    else
        {
            echo "fuzz $t: FAILED (exit $rc) after ${n:-?} executions; input in $out/crashes/, log $log"
            grep -a -E 'ERROR|SUMMARY|runtime error' "$log" | head -10
        } >"$out/fuzz_$t.result"
        return 1
    fi
}

# coverage_of NAME: replays the corpus through a coverage build; prints the lines and branches
# of the target's sources (not the target itself, nor libhttp_parser) it reached.
coverage_of() {
    local t=$1 dir=$out/cov/$1 extra
    read -r -a extra <<<"$(sources_of "$t")"
    mkdir -p "$dir"
    if ! clang -g -O1 -fsanitize=fuzzer -fprofile-instr-generate -fcoverage-mapping \
        -D_GNU_SOURCE -Icommon -Iharness -o "$dir/bin" "tests/fuzz/fuzz_$t.c" "${extra[@]}" \
        -lhttp_parser >"$dir/build.log" 2>&1; then
        echo "fuzz $t: coverage: cannot build (see $dir/build.log)"
        return 1
    fi
    LLVM_PROFILE_FILE="$dir/run.profraw" "$dir/bin" -runs=0 "$corpora/$t" "tests/fuzz/corpus/$t" \
        >"$dir/run.log" 2>&1
    if ! llvm-profdata merge -sparse -o "$dir/run.profdata" "$dir/run.profraw" 2>"$dir/merge.log"; then
        echo "fuzz $t: coverage: llvm-profdata failed (see $dir/merge.log)"
        return 1
    fi
    # a row: file, regions, missed, cover, functions, missed, executed, lines, missed, cover,
    # branches, missed, cover
    llvm-cov report "$dir/bin" -instr-profile="$dir/run.profdata" "${extra[@]}" 2>/dev/null |
        awk -v t="$t" 'NF == 13 && $1 != "Filename" {
            f = $1; sub(".*/", "", f); if (f == "TOTAL") f = "all its sources"
            printf "fuzz %s: coverage of %s: lines %s (%d of %d), branches %s (%d of %d)\n",
                t, f, $10, $8 - $9, $8, $13, $11 - $12, $11 }'
}

status=0
max=$(nproc)
for ((i = 0; i < ${#targets[@]}; i += max)); do
    pids=()
    for t in "${targets[@]:i:max}"; do
        fuzz_one "$t" &
        pids+=($!)
    done
    for p in "${pids[@]}"; do
        wait "$p" || status=1
    done
done
for t in "${targets[@]}"; do
    cat "$out/fuzz_$t.result"
done
if [ "$coverage" -eq 1 ] && [ "$status" -eq 0 ]; then
    if ! command -v llvm-cov >/dev/null || ! command -v llvm-profdata >/dev/null; then
        echo "fuzz.sh: --coverage needs llvm-cov and llvm-profdata (Debian's llvm, which clang brings)" >&2
        exit 1
    fi
    for t in "${targets[@]}"; do
        coverage_of "$t" || status=1
    done
fi
exit $status
