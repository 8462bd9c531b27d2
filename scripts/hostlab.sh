#!/usr/bin/env bash
# A lab of hosts on this one machine for multi-host runs: network namespaces on a bridge.
#
#   scripts/hostlab.sh up DIR [--ssh] [--clients N] [--prefix P] [--subnet A.B.C]
#                             [--port N] [--replace]
#       Hosts PREFIX-srv, PREFIX-c1 .. PREFIX-cN (default tvt, N 2) as network namespaces,
#       each with loopback up and a veth into a bridge that lives in PREFIX-br; addresses
#       A.B.C.1 (srv), .2 (c1), .3 (c2) ... on A.B.C.0/24 (default 10.213.7), and .254 on
#       a veth PREFIX-lab from this namespace, so that programs here reach the hosts.
#       Refuses a subnet that clashes with this machine's addresses or routes, and names
#       that exist (--replace first takes down the lab that holds them, found by its DIR).
#       --ssh: one sshd per host inside its namespace (port 22 or --port), a key pair and
#       host key under DIR/ssh/; waits until each answers. A session's HOME is DIR/ssh/home,
#       so that root's shell start-up files stay out of it. Writes DIR/hosts, a line a host:
#       `NAME ADDRESS COMMAND...`, COMMAND running a program there (`ssh ... root@ADDRESS`
#       with --ssh, else `ip netns exec NS`); and DIR/lab.env, what it made, in order.
#       DIR must be absent or empty; it is the lab's, and `down` removes it whole.
#   scripts/hostlab.sh down DIR
#       Undoes what DIR/lab.env records, last first: stops the sshds by their PID files,
#       kills what still runs in the lab's namespaces, deletes them and the veth, removes
#       DIR. Idempotent; a failed `up` runs it.
#   scripts/hostlab.sh drop NAME DIR
#       Host NAME disappears as a powered-off host would: its bridge port goes down first,
#       so no FIN or RST gets out, then everything running in its namespace is killed.
#   scripts/hostlab.sh check [--ssh]
#       Exit 0 if namespaces, veths and bridges can be made here (and with --ssh, sshd
#       runs), else exit 1 with the reason on stdout, for tests to skip on.
# Env TVT_HOSTLAB_FAIL_AT=STEP makes `up` fail right after that step (netns-NAME, link,
# sshd-NAME, hosts), to test that a failed `up` leaves nothing behind.
set -euo pipefail

ME=hostlab.sh
SSHD=/usr/sbin/sshd
NETNS_DIR=/run/netns
PRIVSEP_DIR=/run/sshd # sshd's compiled-in chroot for its unprivileged child
ALIAS_TAG=tvt-hostlab # alias of the root veth and of each namespace's lo: "tvt-hostlab DIR"
WAIT_S=10             # for each sshd to answer

die() {
    echo "$ME: $*" >&2
    exit 1
}
warn() { echo "$ME: $*" >&2; }
usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; }

# ---- the machine's IPv4 addresses and routes, for clashes -----------------------------

ip2int() {
    local IFS=.
    # shellcheck disable=SC2086
    set -- $1
    echo $((($1 << 24) | ($2 << 16) | ($3 << 8) | $4))
}

# overlaps NET/LEN NET/LEN: one prefix holds the other
overlaps() {
    local la=${1#*/} lb=${2#*/} l mask
    l=$((la < lb ? la : lb))
    mask=$(((0xffffffff << (32 - l)) & 0xffffffff))
    [ $(($(ip2int "${1%/*}") & mask)) -eq $(($(ip2int "${2%/*}") & mask)) ]
}

# Prints the first address or route of this namespace that overlaps subnet, or nothing.
clash_of() {
    local subnet=$1 dev fam addr rest first second prefix
    while read -r _ dev fam addr rest; do
        [ "$fam" = inet ] || continue
        if overlaps "$subnet" "$addr"; then
            echo "address $addr on $dev"
            return
        fi
    done < <(ip -4 -o addr show)
    while read -r first second rest; do
        case "$first" in
        default) continue ;;
        [0-9]*) prefix=$first ;;
        *) prefix=$second ;; # "local 127.0.0.1 ...", "broadcast ..."
        esac
        [ "$prefix" != default ] || continue
        case "$prefix" in */*) ;; *) prefix=$prefix/32 ;; esac
        if overlaps "$subnet" "$prefix"; then
            echo "route $first $second $rest"
            return
        fi
    done < <(ip -4 route show table all)
}

# ---- lab.env: what up made ------------------------------------------------------------

# record DIR KEY=VALUE: appended before the next thing is made
record() { printf '%s\n' "$2" >>"$1/lab.env"; }

# lab_get DIR KEY: the values of KEY, one a line, in order
lab_get() { sed -n "s/^$2=//p" "$1/lab.env"; }

fail_point() {
    if [ "${TVT_HOSTLAB_FAIL_AT:-}" = "$1" ]; then
        die "failing after step $1 (TVT_HOSTLAB_FAIL_AT)"
    fi
}

# The lab DIR that owns namespace ns or link, from its alias; nothing if none.
owner_of_netns() {
    { ip netns exec "$1" cat /sys/class/net/lo/ifalias 2>/dev/null || true; } |
        sed -n "s/^$ALIAS_TAG //p"
}
owner_of_link() {
    sed -n "s/^$ALIAS_TAG //p" "/sys/class/net/$1/ifalias" 2>/dev/null || true
}

# ---- processes ------------------------------------------------------------------------

# A zombie is gone too: its parent may be killed with it, and init may reap it late.
alive() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [ "${stat%% *}" != Z ]
}

# kill_wait SIGNAL PID...: sends it, waits up to 2 s for them to be gone
kill_wait() {
    local sig=$1 p left i
    shift
    [ $# -gt 0 ] || return 0
    kill "-$sig" "$@" 2>/dev/null || true
    for i in $(seq 20); do
        left=0
        for p in "$@"; do
            alive "$p" && left=1
        done
        [ "$left" -eq 0 ] && return 0
        sleep 0.1
    done
    return 1
}

# kill_netns NS SIGNAL: every process in the namespace (on TERM, KILL what outlives it)
kill_netns() {
    local ns=$1 sig=$2 pids
    [ -e "$NETNS_DIR/$ns" ] || return 0
    mapfile -t pids < <(ip netns pids "$ns" 2>/dev/null)
    [ ${#pids[@]} -gt 0 ] || return 0
    kill_wait "$sig" "${pids[@]}" || kill_wait KILL "${pids[@]}" ||
        warn "processes ${pids[*]} in $ns would not die"
}

# Whether any sshd at all runs on the machine (zombies left for init to reap do not).
sshd_runs() {
    local p
    for p in $(pgrep -x sshd); do
        alive "$p" && return 0
    done
    return 1
}

# stop_sshd NS PIDFILE: the daemon of the pid file, if it still runs in that namespace
stop_sshd() {
    local ns=$1 pidfile=$2 pid
    [ -s "$pidfile" ] || return 0
    pid=$(cat "$pidfile")
    # a stale pid file may name a process that is not ours any more
    alive "$pid" && [ "$(ip netns identify "$pid" 2>/dev/null)" = "$ns" ] || return 0
    kill_wait TERM "$pid" || kill_wait KILL "$pid" || warn "sshd $pid in $ns would not die"
}

# ---- down -----------------------------------------------------------------------------

cmd_down() {
    [ $# -eq 1 ] || die "usage: down DIR (try --help)"
    local dir=$1 line key val i ns left=0
    [ -e "$dir" ] || return 0
    [ -f "$dir/lab.env" ] || die "$dir has no lab.env: not a lab folder, left alone"
    local made=()
    mapfile -t made < <(lab_get "$dir" MADE)
    for ((i = ${#made[@]} - 1; i >= 0; i--)); do
        read -r key val <<<"${made[i]}"
        case "$key" in
        sshd) stop_sshd "${val%% *}" "${val#* }" ;;
        netns)
            kill_netns "$val" TERM
            if [ -e "$NETNS_DIR/$val" ] && ! ip netns del "$val"; then
                warn "could not delete namespace $val"
            fi
            ;;
        link)
            if [ -e "/sys/class/net/$val" ] && ! ip link del "$val"; then
                warn "could not delete link $val"
            fi
            ;;
        privsep) # only while no sshd at all needs it
            if ! sshd_runs; then rmdir "$val" 2>/dev/null || true; fi
            ;;
        netnsdir) # iproute2's folder, made by this lab's first namespace: only if empty
            if [ -d "$val" ] && [ -z "$(ls -A "$val")" ]; then
                umount "$val" 2>/dev/null || true
                rmdir "$val" 2>/dev/null || true
            fi
            ;;
        *) warn "lab.env: unknown record '${made[i]}', skipped" ;;
        esac
    done
    # what must be gone now
    for line in "${made[@]}"; do
        read -r key val <<<"$line"
        case "$key" in
        netns) [ ! -e "$NETNS_DIR/$val" ] || left=1 ;;
        link) [ ! -e "/sys/class/net/$val" ] || left=1 ;;
        esac
    done
    [ "$left" -eq 0 ] || die "down $dir: some of the lab is left (above); lab.env kept"
    rm -rf "$dir"
}

# ---- check ----------------------------------------------------------------------------

# Prints why namespaces (and with ssh=1, sshd) cannot be had here; nothing if they can.
why_not() {
    local ssh=$1 probe="tvt-check-$$" out had_dir=0 failed=1
    if [ "$(id -u)" -ne 0 ]; then
        echo "the host lab needs root (it makes network namespaces); this is uid $(id -u)"
        return
    fi
    command -v ip >/dev/null || {
        echo "no ip command (Debian's iproute2)"
        return
    }
    [ -d "$NETNS_DIR" ] && had_dir=1
    if ! out=$(ip netns add "$probe" 2>&1); then
        echo "ip netns add fails here: $out"
    elif ! out=$(ip -n "$probe" link add name probe0 type veth peer name probe1 2>&1 &&
        ip -n "$probe" link add name probe2 type bridge 2>&1); then
        echo "namespaces work but veths or bridges do not: $out"
    else
        failed=0
    fi
    ip netns del "$probe" 2>/dev/null || true
    if [ "$had_dir" -eq 0 ] && [ -d "$NETNS_DIR" ] && [ -z "$(ls -A "$NETNS_DIR")" ]; then
        umount "$NETNS_DIR" 2>/dev/null || true
        rmdir "$NETNS_DIR" 2>/dev/null || true
    fi
    [ "$failed" -eq 0 ] && [ "$ssh" -eq 1 ] || return 0
    why_not_ssh
}

why_not_ssh() {
    local t
    [ -x "$SSHD" ] || {
        echo "no $SSHD (Debian's openssh-server; scripts/deps.sh installs it)"
        return
    }
    for t in ssh ssh-keygen; do
        command -v "$t" >/dev/null || {
            echo "no $t (Debian's openssh-client)"
            return
        }
    done
    getent passwd sshd >/dev/null || {
        echo "no user sshd (sshd's privilege separation; reinstall openssh-server)"
        return
    }
    # without PAM, sshd refuses an account whose password field is locked with '!'
    if grep -q '^root:!' /etc/shadow 2>/dev/null; then
        echo "root's password is locked ('!' in /etc/shadow): sshd without PAM refuses" \
            "it; \`usermod -p '*' root\` unlocks it for keys only"
    fi
}

cmd_check() {
    local ssh=0 reason
    case "${1:-}" in
    --ssh) ssh=1 ;;
    "") ;;
    *) die "check: unknown option '$1' (try --help)" ;;
    esac
    reason=$(why_not "$ssh")
    if [ -n "$reason" ]; then
        echo "$reason"
        exit 1
    fi
    echo "network namespaces, veths and bridges work here$([ "$ssh" -eq 0 ] || echo ', and sshd')"
}

# ---- up -------------------------------------------------------------------------------

# The ssh command that reaches addr: the hosts file's COMMAND.
ssh_command() {
    local dir=$1 addr=$2 port=$3
    local cmd="ssh -F none -o BatchMode=yes -o StrictHostKeyChecking=yes"
    cmd+=" -o UserKnownHostsFile=$dir/ssh/known_hosts -o IdentitiesOnly=yes"
    cmd+=" -o ConnectTimeout=5 -i $dir/ssh/id_ed25519"
    [ "$port" -eq 22 ] || cmd+=" -p $port"
    echo "$cmd root@$addr"
}

sshd_config() {
    local dir=$1 name=$2 addr=$3 port=$4
    cat <<EOF
# sshd of lab host $name: the only way in is this lab's key, as root
Port $port
ListenAddress $addr
AddressFamily inet
HostKey $dir/ssh/host_ed25519
PidFile $dir/ssh/sshd_$name.pid
AuthorizedKeysFile $dir/ssh/authorized_keys
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
# The hosts share this machine's files: root's shell start-up files (~/.bashrc, which bash
# reads for ssh sessions) would run in every session, and a host dropped mid-session could
# leave their state half done for all (a lock under ~/.pyenv, say). A home of the lab's own
# has none.
SetEnv HOME=$dir/ssh/home
# the lab's folder is usually under /tmp, world-writable, which the owner checks refuse
StrictModes no
UseDNS no
PrintMotd no
PrintLastLog no
X11Forwarding no
LogLevel ERROR
# a run opens a session per program, several at once
MaxStartups 100
MaxSessions 100
EOF
}

# refuse_taken REPLACE NAME KIND: a namespace or link of the lab's names that exists
refuse_taken() {
    local replace=$1 what=$2 kind=$3 owner
    if [ "$kind" = netns ]; then owner=$(owner_of_netns "$what"); else owner=$(owner_of_link "$what"); fi
    if [ -n "$owner" ] && [ -f "$owner/lab.env" ]; then
        if [ "$replace" -eq 1 ]; then
            warn "replacing the lab of $owner, which holds $what"
            cmd_down "$owner"
            return
        fi
        die "$kind $what is taken by the lab of $owner: \`$0 down $owner\` (or up --replace)"
    fi
    local del="ip link del $what"
    [ "$kind" = link ] || del="ip netns del $what"
    die "$kind $what exists${owner:+ (its lab $owner has no lab.env left)}: pick another" \
        "--prefix, or delete it ($del)"
}

undo_failed_up() {
    [ "$1" -ne 0 ] || return 0
    set +e
    warn "up failed; undoing it"
    cmd_down "$UP_DIR"
}

cmd_up() {
    local dir="" ssh=0 clients=2 prefix=tvt subnet=10.213.7 port=22 replace=0
    while [ $# -gt 0 ]; do
        case "$1" in
        --ssh) ssh=1 ;;
        --replace) replace=1 ;;
        --clients | --prefix | --subnet | --port)
            [ $# -ge 2 ] || die "up: $1 needs a value"
            case "$1" in
            --clients) clients=$2 ;;
            --prefix) prefix=$2 ;;
            --subnet) subnet=$2 ;;
            --port) port=$2 ;;
            esac
            shift
            ;;
        -*) die "up: unknown option '$1' (try --help)" ;;
        *)
            [ -z "$dir" ] || die "up: one DIR only ('$dir', then '$1')"
            dir=$1
            ;;
        esac
        shift
    done
    [ -n "$dir" ] || die "usage: up DIR [--ssh] [--clients N] [--prefix P] (try --help)"
    if ! [[ "$clients" =~ ^[0-9]+$ ]] || [ "$clients" -lt 1 ] || [ "$clients" -gt 200 ]; then
        die "up: --clients $clients: want 1 to 200"
    fi
    # PREFIX-lab must fit a link name (15 bytes)
    [[ "$prefix" =~ ^[a-z][a-z0-9]{0,10}$ ]] ||
        die "up: --prefix $prefix: want a lowercase letter, then up to 10 letters or digits"
    if ! [[ "$subnet" =~ ^([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})$ ]] ||
        [ "${BASH_REMATCH[1]}" -gt 255 ] || [ "${BASH_REMATCH[2]}" -gt 255 ] ||
        [ "${BASH_REMATCH[3]}" -gt 255 ]; then
        die "up: --subnet $subnet: want three numbers, A.B.C, for A.B.C.0/24"
    fi
    if ! [[ "$port" =~ ^[0-9]+$ ]] || [ "$port" -lt 1 ] || [ "$port" -gt 65535 ]; then
        die "up: --port $port: want 1 to 65535"
    fi
    case "$dir" in *[[:space:]]*) die "up: DIR '$dir' has white space: the hosts file is split on it" ;; esac
    if [ -e "$dir" ] && { [ ! -d "$dir" ] || [ -n "$(ls -A "$dir")" ]; }; then
        die "up: $dir exists and is not an empty folder (down removes DIR whole)"
    fi

    local reason
    reason=$(why_not "$ssh")
    [ -z "$reason" ] || die "up: $reason"

    # the plan: names, addresses
    local br="$prefix-br" link="$prefix-lab" names=(srv) i
    for ((i = 1; i <= clients; i++)); do names+=("c$i"); done
    local ns
    for ns in "$br" "${names[@]/#/$prefix-}"; do
        [ ! -e "$NETNS_DIR/$ns" ] || refuse_taken "$replace" "$ns" netns
    done
    [ ! -e "/sys/class/net/$link" ] || refuse_taken "$replace" "$link" link
    local clash
    clash=$(clash_of "$subnet.0/24")
    [ -z "$clash" ] || die "up: $subnet.0/24 clashes with this machine's $clash: pick another" \
        "with --subnet A.B.C"

    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd -P)
    {
        echo "# scripts/hostlab.sh up: the lab's plan, then what it made (MADE), in order;"
        echo "# \`scripts/hostlab.sh down $dir\` undoes the MADE lines last first."
        echo "PREFIX=$prefix"
        echo "SUBNET=$subnet.0/24"
        echo "SSH=$ssh"
        for ((i = 0; i < ${#names[@]}; i++)); do
            echo "HOST=${names[i]} $subnet.$((i + 1)) $prefix-${names[i]}"
        done
    } >"$dir/lab.env"
    # from here on, a failure undoes what was made
    UP_DIR=$dir
    trap 'undo_failed_up $?' EXIT
    trap 'exit 130' INT TERM

    [ -d "$NETNS_DIR" ] || record "$dir" "MADE=netnsdir $NETNS_DIR"
    if [ "$ssh" -eq 1 ] && [ ! -d "$PRIVSEP_DIR" ]; then
        mkdir -m 0755 "$PRIVSEP_DIR"
        record "$dir" "MADE=privsep $PRIVSEP_DIR"
    fi

    # the bridge, in a namespace of its own, and this namespace's way onto it
    ip netns add "$br"
    record "$dir" "MADE=netns $br"
    ip -n "$br" link set lo alias "$ALIAS_TAG $dir" up
    ip -n "$br" link add br0 type bridge
    ip -n "$br" link set br0 up
    fail_point "netns-br"
    ip link add "$link" type veth peer name p-root netns "$br"
    record "$dir" "MADE=link $link"
    ip link set "$link" alias "$ALIAS_TAG $dir"
    ip -n "$br" link set p-root master br0 up
    ip addr add "$subnet.254/24" dev "$link"
    ip link set "$link" up
    fail_point link

    # the hosts: their veths live and die with their namespaces
    local name addr
    for ((i = 0; i < ${#names[@]}; i++)); do
        name=${names[i]} ns="$prefix-${names[i]}" addr="$subnet.$((i + 1))"
        ip netns add "$ns"
        record "$dir" "MADE=netns $ns"
        ip -n "$ns" link set lo alias "$ALIAS_TAG $dir" up
        ip -n "$br" link add "p-$name" type veth peer name eth0 netns "$ns"
        ip -n "$br" link set "p-$name" master br0 up
        ip -n "$ns" addr add "$addr/24" dev eth0
        ip -n "$ns" link set eth0 up
        fail_point "netns-$name"
    done

    local commands=()
    if [ "$ssh" -eq 1 ]; then
        local s="$dir/ssh" key
        mkdir -m 0700 "$s" "$s/home"
        ssh-keygen -q -t ed25519 -N '' -C "$ALIAS_TAG client" -f "$s/id_ed25519"
        ssh-keygen -q -t ed25519 -N '' -C "$ALIAS_TAG host" -f "$s/host_ed25519"
        cp "$s/id_ed25519.pub" "$s/authorized_keys"
        key=$(cut -d' ' -f1,2 "$s/host_ed25519.pub")
        : >"$s/known_hosts"
        for ((i = 0; i < ${#names[@]}; i++)); do
            addr="$subnet.$((i + 1))"
            if [ "$port" -eq 22 ]; then echo "$addr $key"; else echo "[$addr]:$port $key"; fi
        done >>"$s/known_hosts"
        for ((i = 0; i < ${#names[@]}; i++)); do
            name=${names[i]} ns="$prefix-${names[i]}" addr="$subnet.$((i + 1))"
            sshd_config "$dir" "$name" "$addr" "$port" >"$s/sshd_config_$name"
            [ "$i" -gt 0 ] || "$SSHD" -t -f "$s/sshd_config_$name"
            # recorded first: the pid file is the lab's own, whatever happens next
            record "$dir" "MADE=sshd $ns $s/sshd_$name.pid"
            ip netns exec "$ns" "$SSHD" -f "$s/sshd_config_$name" -E "$s/sshd_$name.log" \
                </dev/null >/dev/null 2>&1
            fail_point "sshd-$name"
        done
        for ((i = 0; i < ${#names[@]}; i++)); do
            name=${names[i]} addr="$subnet.$((i + 1))"
            local cmd t0=$SECONDS
            cmd=$(ssh_command "$dir" "$addr" "$port")
            # shellcheck disable=SC2086
            until $cmd true </dev/null >/dev/null 2>"$s/wait_$name.err"; do
                [ $((SECONDS - t0)) -lt "$WAIT_S" ] || die "up: the sshd of $name ($addr)" \
                    "did not answer in $WAIT_S s: $(cat "$s/wait_$name.err")" \
                    "$(cat "$s/sshd_$name.log" 2>/dev/null)"
                sleep 0.1
            done
            rm -f "$s/wait_$name.err"
            commands+=("$cmd")
        done
    else
        for name in "${names[@]}"; do commands+=("ip netns exec $prefix-$name"); done
    fi

    for ((i = 0; i < ${#names[@]}; i++)); do
        echo "${names[i]} $subnet.$((i + 1)) ${commands[i]}"
    done >"$dir/hosts.tmp"
    mv "$dir/hosts.tmp" "$dir/hosts"
    fail_point hosts
    trap - EXIT INT TERM
    local summary=""
    for ((i = 0; i < ${#names[@]}; i++)); do summary+=" ${names[i]} $subnet.$((i + 1))"; done
    echo "$ME: up:$summary$([ "$ssh" -eq 0 ] || echo ", sshd on port $port");" \
        "this namespace is $subnet.254; hosts file $dir/hosts"
}

# ---- drop -----------------------------------------------------------------------------

cmd_drop() {
    [ $# -eq 2 ] || die "usage: drop NAME DIR (try --help)"
    local want=$1 dir=$2 prefix line name addr ns n
    [ -f "$dir/lab.env" ] || die "drop: $dir has no lab.env: no lab there"
    prefix=$(lab_get "$dir" PREFIX)
    while read -r name addr ns; do
        [ "$name" = "$want" ] || [ "$ns" = "$want" ] || continue
        [ -e "$NETNS_DIR/$ns" ] || die "drop: $name's namespace $ns is gone"
        # the cable first, so that nothing the kills make (FIN, RST) gets out
        ip -n "$prefix-br" link set "p-$name" down
        n=$(ip netns pids "$ns" | wc -l)
        kill_netns "$ns" KILL
        record "$dir" "DROPPED=$name"
        echo "$ME: dropped $name ($addr): its link is down, what ran there killed ($n processes)"
        return 0
    done < <(lab_get "$dir" HOST)
    die "drop: no host $want in $dir/lab.env (its hosts: $(lab_get "$dir" HOST | cut -d' ' -f1 | xargs))"
}

# ---- main -----------------------------------------------------------------------------

[ $# -gt 0 ] || {
    usage >&2
    exit 2
}
sub=$1
shift
case "$sub" in
up) cmd_up "$@" ;;
down) cmd_down "$@" ;;
drop) cmd_drop "$@" ;;
check) cmd_check "$@" ;;
-h | --help | help) usage ;;
*) die "unknown command '$sub' (try --help)" ;;
esac
