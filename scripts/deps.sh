#!/usr/bin/env bash
# Installs the Debian packages the suite needs, or says exactly how to.
#
# As root: apt-get update once, then apt-get install of whatever is missing.
# Otherwise: prints the apt-get line and exits 1. Exits 0 at once when
# nothing is missing, so `make` pays one dpkg-query per run.
#   scripts/deps.sh                build + test + bench packages
#   scripts/deps.sh --contestants  also the Tokio, Go and nginx toolchains
#   scripts/deps.sh --check        only report, never install
set -euo pipefail

PKGS=(
    build-essential pkg-config
    libev-dev libhttp-parser-dev libjansson-dev   # servers, harness
    liburing-dev                                  # uring_server, async_server --file-io uring
    libcriterion-dev                              # unit + integration tests
    curl wrk                                      # cross-checks in the tests
    hyperfine gnuplot-nox python3                 # make bench: timing, plots, report
    python3-pytest                                # the analysis package's tests
    pmccabe                                       # C7: cyclomatic complexity of the servers
    linux-perf                                    # perf bench sched pipe, perf_event
    clang libclang-rt-dev                         # libFuzzer targets (make fuzz)
    clang-format                                  # make format-check, part of make test
    util-linux procps                             # taskset, ps
    openssh-server                                # the host lab's sshd (scripts/hostlab.sh --ssh)
)
# make contestants: Debian's crates build the Tokio server offline.
CONTESTANT_PKGS=(
    cargo librust-tokio-dev librust-httparse-dev librust-libc-dev
    golang-go nginx-light
)

check_only=0
for arg in "$@"; do
    case "$arg" in
    --check) check_only=1 ;;
    --contestants) PKGS+=("${CONTESTANT_PKGS[@]}") ;;
    -h | --help)
        sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    *)
        echo "deps.sh: unknown option '$arg' (try --help)" >&2
        exit 2
        ;;
    esac
done

missing=()
for p in "${PKGS[@]}"; do
    # "install ok installed" is the only state that means usable.
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done

[ ${#missing[@]} -eq 0 ] && exit 0

line="apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$check_only" -eq 1 ] || [ "$(id -u)" -ne 0 ]; then
    echo "deps.sh: missing Debian packages: ${missing[*]}" >&2
    echo "deps.sh: as root, run: apt-get update && $line" >&2
    exit 1
fi

echo "deps.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
if ! apt-get update -qq >&2; then
    echo "deps.sh: apt-get update failed; check the Debian mirror in /etc/apt/sources.list" >&2
    exit 1
fi
if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2; then
    echo "deps.sh: apt-get install failed for: ${missing[*]}" >&2
    exit 1
fi
echo "deps.sh: done" >&2
