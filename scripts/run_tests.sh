#!/usr/bin/env bash
# The whole test suite, what `make test` runs:
#   1. release build with -Werror; every test binary (unit + integration); meanwhile the
#      ASan+UBSan and TSan builds compile in the background, at the lowest priority
#   2. every test binary again against the ASan+UBSan programs, but for the end-to-end
#      ones of RELEASE_ONLY
#   3. the integration tests (release test binaries) against the TSan thread server,
#      harness and microbenchmarks, and the file-wait tests against the libev server (its
#      file-read pool); meanwhile every libFuzzer target runs for TVT_FUZZ_SECONDS
#      (default 10) seconds, at the lowest priority
#   4. the analysis package's pytest suite (tests/python: the rules on synthetic result
#      sets), make format-check, and the fuzzers' results
# Each test binary's line gives its count and seconds; each step when it began. A failing
# binary's whole log is kept in build/test-logs/.
# Criterion runs a binary's tests JOBS at a time, each in a session of its own. Tests that
# drive the harness pin processes to CPUs: they run one at a time (SERIAL), since with the
# kernel's autogroups a pinned server can be starved by pinned work in another session. The
# others mostly wait (timeouts, sleeps) and run several at once. test_hostlab runs one at a
# time too: its labs (network namespaces of fixed names) are made one at a time.
# A sanitizer report makes the sanitized program exit non-zero, and every
# integration test checks its servers' exit status, so a report fails a test.
# Prints one closing line "tests: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."

JOBS=${TVT_TEST_JOBS:-$(($(nproc) + 2))}
SERIAL=" test_bench test_compare test_harness test_harness_capacity test_harness_guards "
SERIAL+="test_harness_io test_harness_out test_harness_placement test_harness_server_fails "
SERIAL+="test_harness_sweep test_harness_valgrind test_micro test_tokio_micro test_contestants test_contestants_c7 "
SERIAL+="test_contestants_io test_hostlab test_harness_hosts test_harness_stop "

passed=0
failed=0
failures=()
logdir=$(mktemp -d "${TMPDIR:-/tmp}/tvt-tests.XXXXXX")
keep=build/test-logs
bg_pids=()
trap 'rm -rf "$logdir"; for p in "${bg_pids[@]}"; do kill -- -"$p" 2>/dev/null; done' EXIT
rm -rf "$keep"

step() { printf '\n== %s (at %d s)\n' "$*" "$SECONDS"; }

build() {
    if ! make --no-print-directory -s -j"$(nproc)" WERROR=-Werror "$@" programs tests; then
        echo "run_tests: build failed: make $* (see the compiler output above)" >&2
        exit 1
    fi
}

# background NAME COMMAND...: runs the command at the lowest priority, in a session of its
# own whose autogroup is niced too (nice alone does not reach across the sessions the
# tests run in), output in $logdir/NAME.log; `await NAME` waits for it.
declare -A bg_of
background() {
    local name=$1
    shift
    setsid bash -c 'echo 19 >/proc/self/autogroup 2>/dev/null; exec nice -n 19 "$@"' _ "$@" \
        >"$logdir/$name.log" 2>&1 &
    bg_of[$name]=$!
    bg_pids+=("$!")
}
await() {
    local name=$1
    wait "${bg_of[$name]}"
}

# run_one LABEL BINARY [VAR=VALUE...]: runs a Criterion binary with those
# variables set, adds its counts to the totals.
run_one() {
    local label=$1 bin=$2 log
    shift 2
    log="$logdir/$(echo "$label" | tr '/ ' '__').log"
    local t0=$SECONDS
    local jobs=$JOBS
    case "$SERIAL" in *" $(basename "$bin") "*) jobs=1 ;; esac
    env "$@" "$bin" --jobs "$jobs" >"$log" 2>&1
    local rc=$? took=$((SECONDS - t0))
    # Criterion's last line: "[====] Synthesis: Tested: T | Passing: P | Failing: F | Crashing: C"
    local synth tested passing
    synth=$(grep -a 'Synthesis:' "$log" | tail -1)
    tested=$(sed -n 's/.*Tested: \([0-9]*\).*/\1/p' <<<"$synth")
    passing=$(sed -n 's/.*Passing: \([0-9]*\).*/\1/p' <<<"$synth")
    if [ -z "$tested" ]; then
        tested=1
        passing=0
    fi
    passed=$((passed + passing))
    failed=$((failed + tested - passing))
    if [ "$rc" -ne 0 ] || [ "$passing" -ne "$tested" ]; then
        failures+=("$label")
        echo "FAIL $label ($passing/$tested, ${took} s; its log: $keep/$(basename "$log"))"
        grep -a -E '\[(FAIL|----)\]|Warning|ERROR|Sanitizer|runtime error|Assertion' "$log" | head -40
        mkdir -p "$keep"
        cp "$log" "$keep/"
    else
        echo "ok   $label ($passing/$tested, ${took} s)"
    fi
}

# The test binaries of a build folder, from the sources (a binary whose source is gone
# may linger in the folder and must not run): unit, integration or both.
test_bins() {
    local testdir=$1 kinds=$2 src kind
    for kind in $kinds; do
        for src in tests/$kind/test_*.c; do
            [ -e "$src" ] || continue
            echo "$testdir/$kind/$(basename "$src" .c)"
        done
    done
}

# End-to-end tests that drive whole sweeps, comparisons or programs built by other
# toolchains: they run once, against the release build. The sanitized passes run every
# other test, which between them reach every line of C these drive.
# The open-loop capacity curves too: under ASan test_capacity checks their step code. And the
# host lab's test, which checks this machine (namespaces, sshd), not a build.
RELEASE_ONLY=" test_bench test_compare test_contestants test_contestants_c7 test_contestants_io test_tokio_micro "
RELEASE_ONLY+="test_harness_capacity test_hostlab test_harness_hosts "
# Under TSan also left out: the io_uring server (one thread, no TSan build), the idle-RSS
# figures, and the harness's wait kinds (the generator's threads are those test_harness
# runs; the thread server's waits on a backend and a file, test_net_wait and
# test_file_wait).
NOT_UNDER_TSAN=" test_uring test_uring_startup test_idle_memory test_harness_io "

# run_set LABEL TESTDIR KINDS SKIP [VAR=VALUE...]: every test binary of those kinds whose
# name is not in SKIP.
run_set() {
    local label=$1 testdir=$2 kinds=$3 skip=$4 bin
    shift 4
    for bin in $(test_bins "$testdir" "$kinds"); do
        [ -x "$bin" ] || continue
        case "$skip" in *" $(basename "$bin") "*) continue ;; esac
        run_one "$label/$(basename "$bin")" "$bin" "$@"
    done
}

start=$(date +%s)

step "release build (-Werror)"
build
step "contestants (Tokio, Go, nginx) where their toolchains are installed"
scripts/contestants.sh build || echo "run_tests: contestants build failed; their tests will say so"
background sanitizers bash -c "make --no-print-directory -s -j$(nproc) WERROR=-Werror \
    SANITIZER=address programs tests && make --no-print-directory -s -j$(nproc) \
    WERROR=-Werror SANITIZER=thread programs"
step "tests against the release build (the sanitizer builds compile meanwhile)"
run_set release build/release/tests "unit integration" "" TVT_BIN_DIR=bin TVT_SANITIZER=

step "ASan+UBSan and TSan builds"
if ! await sanitizers; then
    cat "$logdir/sanitizers.log" >&2
    echo "run_tests: a sanitizer build failed (the compiler output above)" >&2
    exit 1
fi
step "tests under ASan+UBSan"
run_set address build/address/tests "unit integration" "$RELEASE_ONLY" TVT_BIN_DIR=build/address/bin TVT_SANITIZER=address \
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=23 \
    LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp:print_suppressions=0 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

fuzz_s=${TVT_FUZZ_SECONDS:-10}
background fuzz scripts/fuzz.sh --seconds "$fuzz_s"
step "integration tests of the threaded code under TSan (fuzz targets, $fuzz_s s each, meanwhile)"
run_set thread build/release/tests integration "$RELEASE_ONLY$NOT_UNDER_TSAN" TVT_BIN_DIR=build/thread/bin TVT_SANITIZER=thread \
    TVT_IMPLS=thread TSAN_OPTIONS=exitcode=66:second_deadlock_stack=1
# the libev server's one threaded part: its file-read pool (test_file_wait runs every mode)
run_one thread/test_file_wait-async build/release/tests/integration/test_file_wait \
    TVT_BIN_DIR=build/thread/bin TVT_SANITIZER=thread TVT_IMPLS=async,async-lean \
    TSAN_OPTIONS=exitcode=66:second_deadlock_stack=1

step "analysis package (pytest tests/python)"
# Debian's python3-pytest lives with /usr/bin/python3; a python3 earlier on PATH may lack it.
py=""
for cand in python3 /usr/bin/python3; do
    if command -v "$cand" >/dev/null && "$cand" -c 'import pytest' 2>/dev/null; then
        py=$cand
        break
    fi
done
if [ -z "$py" ]; then
    echo "FAIL pytest: no python3 with pytest (scripts/deps.sh installs python3-pytest)"
    failed=$((failed + 1))
    failures+=("pytest")
else
    "$py" -m pytest -q -p no:cacheprovider tests/python >"$logdir/pytest.log" 2>&1
    prc=$?
    pline=$(grep -E '[0-9]+ (passed|failed)' "$logdir/pytest.log" | tail -1)
    pp=$(sed -n 's/.* \([0-9]*\) passed.*/\1/p; s/^\([0-9]*\) passed.*/\1/p' <<<"$pline" | head -1)
    pf=$(sed -n 's/.* \([0-9]*\) failed.*/\1/p; s/^\([0-9]*\) failed.*/\1/p' <<<"$pline" | head -1)
    pe=$(sed -n 's/.* \([0-9]*\) errors\{0,1\}.*/\1/p' <<<"$pline" | head -1)
    passed=$((passed + ${pp:-0}))
    failed=$((failed + ${pf:-0} + ${pe:-0}))
    if [ "$prc" -ne 0 ]; then
        [ -n "$pf$pe" ] || failed=$((failed + 1))
        failures+=("pytest")
        echo "FAIL pytest (${pline:-no summary})"
        grep -a -E '^(FAILED|ERROR)|Error' "$logdir/pytest.log" | head -30
    else
        echo "ok   pytest ($pline)"
    fi
fi

step "formatting (make format-check)"
if make --no-print-directory -s format-check >"$logdir/format.log" 2>&1; then
    echo "ok   format-check"
    passed=$((passed + 1))
else
    echo "FAIL format-check (run make format; first differences below)"
    grep -a -m 10 'error:' "$logdir/format.log"
    failed=$((failed + 1))
    failures+=("format-check")
fi

step "fuzz targets"
await fuzz
frc=$?
failed_before=$failed
while read -r line; do
    echo "$line"
    case "$line" in
    "fuzz "*": ok,"*) passed=$((passed + 1)) ;;
    "fuzz "*": FAILED"*)
        failed=$((failed + 1))
        failures+=("${line%%:*}")
        ;;
    esac
done < <(grep -a -v '^$' "$logdir/fuzz.log")
if [ "$frc" -ne 0 ] && [ "$failed" -eq "$failed_before" ]; then
    failed=$((failed + 1))
    failures+=("fuzz.sh (exit $frc)")
fi

echo
if [ ${#failures[@]} -gt 0 ]; then
    echo "failed: ${failures[*]}"
fi
echo "took $(($(date +%s) - start)) s"
echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ ${#failures[@]} -eq 0 ]
