#!/usr/bin/env bash
# Builds and runs the libFuzzer targets in tests/fuzz/ (clang, from Debian).
#   scripts/fuzz.sh [--seconds N] [TARGET...]     default 60 s each, every target
# Each tests/fuzz/fuzz_NAME.c names the sources it links on a "fuzz-sources:"
# line and has its seed corpus in tests/fuzz/corpus/NAME/. New inputs go to
# build/fuzz/corpus/NAME/ (never into the repo); a crash leaves its input in
# build/fuzz/crashes/ and makes this script exit 1. Prints one line per
# target: executions, coverage, result.
set -uo pipefail
cd "$(dirname "$0")/.."

seconds=60
targets=()
while [ $# -gt 0 ]; do
    case "$1" in
    --seconds)
        seconds=${2:?--seconds needs a value}
        shift 2
        ;;
    -h | --help)
        sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
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

out=build/fuzz
mkdir -p "$out/crashes"
status=0
for t in "${targets[@]}"; do
    src=tests/fuzz/fuzz_$t.c
    if [ ! -f "$src" ]; then
        echo "fuzz.sh: no target $src" >&2
        exit 2
    fi
    read -r -a extra <<<"$(sed -n 's/.*fuzz-sources: *\([^*]*\).*/\1/p' "$src")"
    bin=$out/fuzz_$t
    if ! clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
        -D_GNU_SOURCE -Icommon -Iharness -o "$bin" "$src" "${extra[@]}" -lhttp_parser; then
        echo "fuzz.sh: cannot build $bin" >&2
        status=1
        continue
    fi
    mkdir -p "$out/corpus/$t"
    log=$out/fuzz_$t.log
    "$bin" -max_total_time="$seconds" -print_final_stats=1 -artifact_prefix="$out/crashes/$t-" \
        "$out/corpus/$t" "tests/fuzz/corpus/$t" >"$log" 2>&1
    rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    cov=$(grep -a -o 'cov: [0-9]*' "$log" | tail -1 | sed 's/cov: //')
    ft=$(grep -a -o 'ft: [0-9]*' "$log" | tail -1 | sed 's/ft: //')
    if [ $rc -eq 0 ]; then
        echo "fuzz $t: ok, ${runs:-?} executions in ${seconds} s, coverage ${cov:-?} edges, ${ft:-?} features"
    else
        echo "fuzz $t: FAILED (exit $rc) after ${runs:-?} executions; input in $out/crashes/, log $log"
        grep -a -E 'ERROR|SUMMARY|runtime error' "$log" | head -10
        status=1
    fi
done
exit $status
