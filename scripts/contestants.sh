#!/usr/bin/env bash
# Builds and lists the contestants: Tokio, Rust std::thread, Go and nginx servers
# that speak the suite's protocol, each optional, each built only where its
# toolchain is.
#
#   scripts/contestants.sh build [--bin DIR] [--build DIR] [--strict]
#       builds the Rust workspace contestants/rust (cargo, offline, from Debian's
#       crates in /usr/share/cargo/registry): bin/tokio_server,
#       bin/rust_thread_server, bin/tokio_micro; and bin/go_server (go, standard
#       library only); checks that nginx is there, and says plainly what it
#       skipped and why. Exits 0 when something was skipped or failed (the C
#       suite does not need them); with --strict a failed build (toolchain
#       present) exits 1.
#   scripts/contestants.sh list [--bin DIR]
#       one line per contestant that is ready to run: NAME<TAB>COMMAND<TAB>QUERY
#       COMMAND runs through `harness run --server-cmd 'COMMAND'` from the repo
#       root. Without {port} it prints `listening on HOST:PORT` itself.
#       Placeholders the caller substitutes:
#         {workers}  the CPUs the server gets (K; export TVT_SERVER_CPUS=K too),
#                    where a runtime is sized by it: tokio-multi's worker
#                    threads, Go's GOMAXPROCS, nginx's worker_processes
#         {port}     a free port (nginx cannot take 0; e.g. from
#                    `contestants/nginx/nginx.sh port`); pass --target
#                    127.0.0.1:{port} too
#         {dir}      an empty run folder of the caller's
#         {bytes}    the body size
#       QUERY is `query` when the server honours wait_us, work_us, bytes, io and
#       file_kib per request, `fixed` when it answers wait 0, work 0 and {bytes}
#       whatever is asked (nginx): run those at such points only.
#   scripts/contestants.sh --help
#
# Defaults: --bin bin, --build build/contestants; JOBS (default 2) parallel jobs.
# Exit codes: 0 ok, 1 failure (list: none available is not one), 2 usage error.
set -euo pipefail

cd "$(dirname "$0")/.."

BIN=bin
BUILD=build/contestants
STRICT=0
JOBS=${JOBS:-2}

usage() {
    sed -n '2,31p' "$0" | sed 's/^# \{0,1\}//'
}

die() {
    echo "contestants.sh: $2" >&2
    exit "$1"
}

cmd=${1:-}
[ $# -gt 0 ] && shift
while [ $# -gt 0 ]; do
    case "$1" in
    --bin) BIN=${2:?--bin needs a folder}; shift 2 ;;
    --build) BUILD=${2:?--build needs a folder}; shift 2 ;;
    --strict) STRICT=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) die 2 "unknown option '$1' (try --help)" ;;
    esac
done

built=() skipped=() failed=()

# install_bin SRC NAME: copies a fresh binary into BIN without leaving a
# half-written one for a run that starts meanwhile.
install_bin() {
    mkdir -p "$BIN"
    cp "$1" "$BIN/.$2.tmp"
    mv -f "$BIN/.$2.tmp" "$BIN/$2"
}

# The Rust workspace (contestants/rust): the Tokio server, the std::thread
# server and the Tokio microbenchmark, sharing the protocol crate.
RUST_BINS=(tokio_server rust_thread_server tokio_micro)
RUST_CRATES=(tokio-1 httparse-1 libc-0.2)
RUST_APT="apt-get install cargo librust-tokio-dev librust-httparse-dev librust-libc-dev"

build_rust() {
    local cargo log crate b reg=/usr/share/cargo/registry
    if ! cargo=$(command -v cargo); then
        skipped+=("rust (tokio_server, rust_thread_server, tokio_micro): no cargo on PATH ($RUST_APT)")
        return
    fi
    local missing=()
    for crate in "${RUST_CRATES[@]}"; do
        compgen -G "$reg/$crate.*" >/dev/null || missing+=("$crate")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        skipped+=("rust: Debian's crates ${missing[*]} are not in $reg ($RUST_APT)")
        return
    fi
    local target
    mkdir -p "$BUILD/rust"
    target=$(cd "$BUILD/rust" && pwd)
    log=$target/../rust.log
    echo "CARGO contestants/rust ($("$cargo" --version 2>/dev/null || echo cargo), offline)"
    # Cargo.lock is not kept: cargo 1.83+ writes a version 4 lock file that
    # Debian's cargo 1.65 cannot read, and the crate folder pins every version.
    # The version strings go into tokio_micro's JSON (env.git_commit, cc_version,
    # tokio_version).
    if (cd contestants/rust && rm -f Cargo.lock &&
        TVT_VERSION=$(git describe --always --dirty 2>/dev/null || echo unknown) \
            TVT_RUSTC_VERSION=$(rustc --version 2>/dev/null || echo rustc) \
            TVT_TOKIO_VERSION=$(cd "$reg" && ls -d tokio-1.* 2>/dev/null | head -n 1 | sed 's/^tokio-//') \
            CARGO_TARGET_DIR="$target" "$cargo" build --release --offline --jobs "$JOBS" &&
        rm -f Cargo.lock) >"$log" 2>&1; then
        for b in "${RUST_BINS[@]}"; do
            install_bin "$target/release/$b" "$b"
            built+=("$BIN/$b")
        done
    else
        rm -f contestants/rust/Cargo.lock
        tail -n 25 "$log" >&2
        failed+=("rust: cargo build failed (full log: $log)")
    fi
}

build_go() {
    local go log out
    if ! go=$(command -v go) && ! go=$(ls /usr/lib/go/bin/go 2>/dev/null); then
        skipped+=("go: no go on PATH (apt-get install golang-go)")
        return
    fi
    mkdir -p "$BUILD/go"
    out=$(cd "$BUILD/go" && pwd)
    log=$out/go.log
    echo "GO contestants/go ($("$go" version 2>/dev/null | awk '{print $3}'), standard library only)"
    # Caches under the build folder; no module proxy, no toolchain download.
    if (cd contestants/go &&
        GOCACHE="$out/cache" GOPATH="$out/path" GOPROXY=off GOTOOLCHAIN=local GOFLAGS='' \
            GO111MODULE=on "$go" build -trimpath -p "$JOBS" -o "$out/go_server" .) >"$log" 2>&1; then
        install_bin "$out/go_server" go_server
        built+=("$BIN/go_server")
    else
        tail -n 25 "$log" >&2
        failed+=("go: go build failed (full log: $log)")
    fi
}

check_nginx() {
    local ngx
    if ngx=$(command -v nginx) || ngx=$(ls /usr/sbin/nginx 2>/dev/null); then
        built+=("nginx ($("$ngx" -v 2>&1 | sed 's/.*version: //'), nothing to build: contestants/nginx/nginx.sh)")
    else
        skipped+=("nginx: not installed (apt-get install nginx-light)")
    fi
}

has_nginx() {
    command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]
}

case "$cmd" in
build)
    build_rust
    build_go
    check_nginx
    for b in "${built[@]}"; do echo "contestants: ready: $b"; done
    for s in "${skipped[@]}"; do echo "contestants: SKIPPED $s"; done
    for f in "${failed[@]}"; do echo "contestants: FAILED $f" >&2; done
    if [ ${#failed[@]} -gt 0 ] && [ "$STRICT" -eq 1 ]; then
        exit 1
    fi
    exit 0
    ;;
list)
    # tokio-current and rust-threads are not sized: one thread runs every task,
    # and threads spread over whatever CPUs there are (the models the claims
    # describe); their --workers would be processes, as the C servers'.
    if [ -x "$BIN/tokio_server" ]; then
        printf 'tokio-current\t%s --runtime current --port 0\tquery\n' "$BIN/tokio_server"
        printf 'tokio-multi\t%s --runtime multi --workers {workers} --port 0\tquery\n' "$BIN/tokio_server"
    fi
    if [ -x "$BIN/rust_thread_server" ]; then
        printf 'rust-threads\t%s --port 0\tquery\n' "$BIN/rust_thread_server"
    fi
    if [ -x "$BIN/go_server" ]; then
        printf 'go\t%s --workers {workers} --port 0\tquery\n' "$BIN/go_server"
    fi
    if has_nginx; then
        printf 'nginx\tcontestants/nginx/nginx.sh exec {dir} --port {port} --bytes {bytes} --workers {workers}\tfixed\n'
    fi
    exit 0
    ;;
-h | --help | help) usage; exit 0 ;;
"") usage >&2; exit 2 ;;
*) die 2 "unknown command '$cmd' (try --help)" ;;
esac
