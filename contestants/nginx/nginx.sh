#!/usr/bin/env bash
# nginx as a contestant: one process, `return 200` with a body of a fixed size,
# access log off, on 127.0.0.1 and a port this script picks (nginx cannot take 0).
#
#   contestants/nginx/nginx.sh config DIR [--port P] [--bytes N] [--workers W]
#                                         [--graceful] [--grace-ms MS]
#       writes DIR/nginx.conf and prints three shell-quoted lines:
#         port=P  target=127.0.0.1:P  cmd='nginx ... (foreground)'
#       e.g.  eval "$(contestants/nginx/nginx.sh config /tmp/run)"
#             harness run --server-cmd "$cmd" --target "$target" --bytes 64 ...
#   contestants/nginx/nginx.sh exec DIR --port P [--bytes N] [--workers W] ...
#       writes the config, then becomes nginx in the foreground (exec, so the
#       PID a caller started is nginx's, or the stop wrapper's below): the form
#       `scripts/contestants.sh list` gives
#   contestants/nginx/nginx.sh port     prints a free port below the ephemeral range
#
# --workers W: worker_processes W (default 1). At 1 nginx runs as one process
# (master_process off), so the PID a caller starts is the one holding the
# connections; above 1 a master and W workers, measured as the process tree.
# The stop: nginx's graceful stop is SIGQUIT, and only a master process has
# one (one process alone exits at SIGQUIT as at SIGTERM, at once). With a
# master (W > 1, or --graceful, which keeps one even at W 1) the command is a
# small /bin/sh (DIR/quit-on-term.sh) that runs nginx and turns SIGTERM and
# SIGINT into SIGQUIT: nginx closes its listeners at once, closes idle
# keep-alive connections, finishes the requests in flight, and past
# --grace-ms MS (worker_shutdown_timeout; default 5000) closes what is left.
# nginx ignores the query string: it answers wait 0, work 0, and the --bytes of
# its config (default 64) whatever a request asks. Run it only at such points.
# Exit codes: 0 ok, 1 nginx missing or the folder not writable, 2 usage error.
set -euo pipefail

PROG=contestants/nginx/nginx.sh
RETURN_MAX=2048 # larger bodies come from a file: nginx caps a config token near 4 KiB

usage() {
    sed -n '2,29p' "$0" | sed 's/^# \{0,1\}//'
}

die() {
    echo "$PROG: $2" >&2
    exit "$1"
}

find_nginx() {
    if command -v nginx >/dev/null 2>&1; then
        command -v nginx
    elif [ -x /usr/sbin/nginx ]; then
        echo /usr/sbin/nginx
    else
        return 1
    fi
}

# A port below the ephemeral range (where the load generator's own connections
# take their source ports), not used by any socket now.
free_port() {
    local low used p
    low=$(awk '{print $1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
    [ "$low" -gt 10100 ] || low=65000
    # local ports of every TCP socket, in hex, from /proc/net/tcp and tcp6
    used=$(awk 'NR > 1 { split($2, a, ":"); print a[2] }' /proc/net/tcp /proc/net/tcp6 2>/dev/null |
        sort -u)
    for _ in $(seq 1 200); do
        p=$((10000 + RANDOM % (low - 10000)))
        if ! grep -qx "$(printf '%04X' "$p")" <<<"$used"; then
            echo "$p"
            return 0
        fi
    done
    return 1
}

# write_config DIR PORT BYTES WORKERS MASTER GRACE_MS: the nginx.conf of one run, and
# its body file.
write_config() {
    local dir=$1 port=$2 bytes=$3 workers=$4 master=$5 grace_ms=$6 nofile conns body temps=""
    mkdir -p "$dir/tmp" || die 1 "cannot create $dir/tmp"
    # One process holds every connection: as many as its fd limit allows,
    # less a few for the listener, logs and the body file.
    nofile=$(ulimit -n)
    [ "$nofile" = unlimited ] && nofile=1048576
    conns=$((nofile > 64 ? nofile - 32 : nofile))
    # Temp paths inside the run folder: the compiled-in /var/lib/nginx needs root.
    for m in client_body proxy fastcgi uwsgi scgi; do
        if [ "$m" = client_body ] || ! "$NGINX" -V 2>&1 | grep -q -- "--without-http_${m}_module"; then
            temps+="    ${m}_temp_path $dir/tmp/$m;"$'\n'
        fi
    done
    if [ "$bytes" -le "$RETURN_MAX" ]; then
        body="        return 200 \"$(head -c "$bytes" /dev/zero | tr '\0' x)\";"
    else
        head -c "$bytes" /dev/zero | tr '\0' x >"$dir/body"
        body="        root $dir;
        try_files /body =500;"
    fi
    # 0 would be no limit at all to nginx: the nearest cut it can make
    [ "$grace_ms" -eq 0 ] && grace_ms=1
    # A master started as root runs its workers as nobody, who may not read the run folder
    # (mkdtemp makes it 0700) or the body file in it: they run as root, as one process does.
    local user=""
    [ "$master" = on ] && [ "$(id -u)" -eq 0 ] && user="user root;"
    cat >"$dir/nginx.conf.tmp" <<EOF
# Written by $PROG for tasks-vs-threads: nginx as a contestant.
daemon off;
# One worker: one process that serves, so the PID the harness starts and
# measures is the one holding the connections (no master). More, or a graceful
# stop: a master and its workers, measured as the process tree.
master_process $master;
worker_processes $workers;
$user
# The graceful stop (SIGQUIT, with a master): how long requests in flight get.
worker_shutdown_timeout ${grace_ms}ms;
pid $dir/nginx.pid;
error_log stderr warn;

events {
    worker_connections $conns;
}

http {
    access_log off;
    server_tokens off;
    default_type text/plain;
    # A run's connections stay open for all of it, as with the C servers.
    keepalive_timeout 3600s;
    keepalive_requests 1000000000;
    open_file_cache max=16;
$temps
    server {
        listen 127.0.0.1:$port backlog=4096;
        location = / {
$body
        }
        location / {
            return 404;
        }
    }
}
EOF
    mv "$dir/nginx.conf.tmp" "$dir/nginx.conf"
}

# write_stop_wrapper DIR: DIR/quit-on-term.sh, which runs nginx (with a master) and turns
# SIGTERM and SIGINT into SIGQUIT, its graceful stop; it exits with nginx's status. A
# /bin/sh that waits: about 1.7 MB of RSS (0.1 MB its own) in the measured tree.
write_stop_wrapper() {
    local dir=$1
    cat >"$dir/quit-on-term.sh.tmp" <<EOF
#!/bin/sh
# Written by $PROG: nginx's graceful stop (SIGQUIT) for a SIGTERM or a SIGINT.
trap 'sig=1; kill -QUIT "\$pid" 2>/dev/null' TERM INT
"$NGINX" -p "$dir/" -e stderr -c "$dir/nginx.conf" &
pid=\$!
while :; do
    sig=0
    wait "\$pid"
    rc=\$?
    # wait returns at a trapped signal too (128 + its number): nginx is then still there,
    # or the shell has already collected its status, which a second wait returns
    if [ "\$sig" = 1 ]; then
        kill -0 "\$pid" 2>/dev/null && continue
        wait "\$pid"
        r2=\$?
        [ "\$r2" = 127 ] || rc=\$r2
    fi
    exit "\$rc"
done
EOF
    mv "$dir/quit-on-term.sh.tmp" "$dir/quit-on-term.sh"
}

parse_opts() {
    PORT="" BYTES=64 WORKERS=1 GRACEFUL=0 GRACE_MS=5000
    while [ $# -gt 0 ]; do
        case "$1" in
        --graceful) GRACEFUL=1; shift ;;
        --grace-ms) GRACE_MS=${2:?--grace-ms needs a value}; shift 2 ;;
        --grace-ms=*) GRACE_MS=${1#*=}; shift ;;
        --workers) WORKERS=${2:?--workers needs a value}; shift 2 ;;
        --workers=*) WORKERS=${1#*=}; shift ;;
        --port) PORT=${2:?--port needs a value}; shift 2 ;;
        --port=*) PORT=${1#*=}; shift ;;
        --bytes) BYTES=${2:?--bytes needs a value}; shift 2 ;;
        --bytes=*) BYTES=${1#*=}; shift ;;
        *) die 2 "unknown option '$1' (try --help)" ;;
        esac
    done
    if ! [[ "$BYTES" =~ ^[0-9]+$ ]] || [ "$BYTES" -gt 1048576 ]; then
        die 2 "--bytes '$BYTES' is not an integer from 0 to 1048576"
    fi
    if ! [[ "$WORKERS" =~ ^[0-9]+$ ]] || [ "$WORKERS" -lt 1 ] || [ "$WORKERS" -gt 1024 ]; then
        die 2 "--workers '$WORKERS' is not an integer from 1 to 1024"
    fi
    if ! [[ "$GRACE_MS" =~ ^[0-9]{1,6}$ ]] || [ "$GRACE_MS" -gt 600000 ]; then
        die 2 "--grace-ms '$GRACE_MS' is not an integer from 0 to 600000"
    fi
    MASTER=off
    if [ "$WORKERS" -gt 1 ] || [ "$GRACEFUL" = 1 ]; then
        MASTER=on
    fi
    if [ -n "$PORT" ]; then
        if ! [[ "$PORT" =~ ^[0-9]+$ ]] || [ "$PORT" -lt 1 ] || [ "$PORT" -gt 65535 ]; then
            die 2 "--port '$PORT' is not an integer from 1 to 65535 (nginx cannot pick a port)"
        fi
    fi
}

cmd=${1:-}
case "$cmd" in
-h | --help | help) usage; exit 0 ;;
port)
    free_port || die 1 "no free port found below the ephemeral range"
    exit 0
    ;;
config | exec) ;;
"") usage >&2; exit 2 ;;
*) die 2 "unknown command '$cmd' (try --help)" ;;
esac

dir=${2:-}
if [ -z "$dir" ] || [ "${dir#-}" != "$dir" ]; then
    die 2 "$cmd needs a run folder (try --help)"
fi
shift 2
parse_opts "$@"
NGINX=$(find_nginx) || die 1 "nginx not found: apt-get install nginx-light"
mkdir -p "$dir" || die 1 "cannot create the run folder $dir"
dir=$(cd "$dir" && pwd)
# The command goes through /bin/sh as one string: keep the path plain.
[[ "$dir" =~ ^[A-Za-z0-9._/+@:-]+$ ]] || die 2 "run folder '$dir' has characters a shell would split or quote"

if [ "$cmd" = exec ]; then
    [ -n "$PORT" ] || die 2 "exec needs --port (nginx cannot pick a port; see '$0 port')"
fi
[ -n "$PORT" ] || PORT=$(free_port) || die 1 "no free port found below the ephemeral range"
write_config "$dir" "$PORT" "$BYTES" "$WORKERS" "$MASTER" "$GRACE_MS"
# With a master, SIGTERM becomes nginx's graceful stop through the wrapper; one process
# alone has none, and is nginx itself.
if [ "$MASTER" = on ]; then
    write_stop_wrapper "$dir"
    run=(/bin/sh "$dir/quit-on-term.sh")
else
    run=("$NGINX" -p "$dir/" -e stderr -c "$dir/nginx.conf")
fi
if [ "$cmd" = exec ]; then
    exec "${run[@]}"
fi
printf "port=%s\ntarget=127.0.0.1:%s\ncmd='%s'\n" "$PORT" "$PORT" "${run[*]}"
