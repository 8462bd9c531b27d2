/* test_hostlab: the host lab that multi-host runs are tested in (scripts/hostlab.sh, through
 * tests/support/hostlab.h), checked on its own: up makes a server host and two client hosts
 * that reach each other and this namespace by address, each with its loopback up, and
 * nothing else (a listener here on 127.0.0.1 is out of their reach); with --ssh each host's
 * sshd answers, by key and checked host key, and runs programs inside that host, bytes
 * passing both ways; a dropped host goes silent; up refuses names and subnets that are
 * taken; and down, after a good up or a failed one, leaves no namespace, veth, process or
 * file behind. It tests the machine, not a build: scripts/run_tests.sh runs it once, one
 * test at a time (it makes namespaces). Skipped, saying why, when not root. */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../support/child_proc.h"
#include "../support/files.h"
#include "../support/hostlab.h"
#include "../support/test_env.h"

#define IO_MS      3000 /* a connect or read that must work, on this machine */
#define SILENT_MS  500  /* a connect that must get no answer at all waits this long */
#define SSH_MS     15000
#define PIPE_BYTES 1000000 /* through an ssh session's stdin and back as a count */

static void fini(void)
{
    hostlab_down();
    tfile_scratch_remove();
}

TestSuite(hostlab, .init = tfile_scratch_make, .fini = fini, .timeout = 60);

static struct child run; /* its output buffer is large for a stack */

/* ---- sockets in the lab's namespaces ---------------------------------------------------- */

static struct sockaddr_in sin_of(const char *addr, int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    cr_assert_eq(inet_pton(AF_INET, addr, &sa.sin_addr), 1, "bad address %s", addr);
    return sa;
}

/* A listener in netns (NULL: here) on addr, port picked by the kernel into *port. */
static int listen_in(const char *netns, const char *addr, int *port)
{
    int fd = hostlab_socket(netns, SOCK_STREAM);
    cr_assert(fd >= 0, "socket in %s: %s", netns ? netns : "this namespace", strerror(errno));
    struct sockaddr_in sa = sin_of(addr, 0);
    socklen_t len = sizeof sa;
    cr_assert(bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 && listen(fd, 8) == 0 &&
                  getsockname(fd, (struct sockaddr *)&sa, &len) == 0,
              "listen on %s in %s: %s", addr, netns ? netns : "this namespace", strerror(errno));
    *port = ntohs(sa.sin_port);
    return fd;
}

/* Connects from netns (NULL: here) to addr:port within wait_ms: 0 when it did, else the
   errno (ETIMEDOUT when nothing answered). The connected fd in *out if out, else closed. */
static int connect_from(const char *netns, const char *addr, int port, int wait_ms, int *out)
{
    int fd = hostlab_socket(netns, SOCK_STREAM | SOCK_NONBLOCK);
    cr_assert(fd >= 0, "socket in %s: %s", netns ? netns : "this namespace", strerror(errno));
    struct sockaddr_in sa = sin_of(addr, port);
    int err = 0;
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        err = errno;
        if (err == EINPROGRESS) {
            struct pollfd p = {fd, POLLOUT, 0};
            socklen_t len = sizeof err;
            if (poll(&p, 1, wait_ms) == 1)
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
            else
                err = ETIMEDOUT;
        }
    }
    if (out && err == 0)
        *out = fd;
    else
        close(fd);
    return err;
}

/* Accepts one connection within IO_MS; returns it. */
static int accept_one(int lfd, const char *what)
{
    struct pollfd p = {lfd, POLLIN, 0};
    cr_assert_eq(poll(&p, 1, IO_MS), 1, "%s: no connection came", what);
    int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    cr_assert(fd >= 0, "%s: accept: %s", what, strerror(errno));
    return fd;
}

/* Reads into buf (NUL-terminated) until it holds want or IO_MS passes. */
static void read_some(int fd, char *buf, size_t len, const char *want, const char *what)
{
    size_t got = 0;
    double deadline = tenv_now_ms() + IO_MS;
    buf[0] = '\0';
    while (!strstr(buf, want) && got < len - 1 && tenv_now_ms() < deadline) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 50) != 1)
            continue;
        ssize_t n = read(fd, buf + got, len - 1 - got);
        if (n <= 0)
            break;
        got += (size_t)n;
        buf[got] = '\0';
    }
    cr_assert(strstr(buf, want), "%s: read '%s', want '%s'", what, buf, want);
}

/* ---- the lab's traces on the machine ---------------------------------------------------- */

static ino_t netns_inode(const char *netns)
{
    char path[64];
    struct stat st;
    snprintf(path, sizeof path, "/run/netns/%s", netns);
    cr_assert_eq(stat(path, &st), 0, "namespace %s: %s", netns, strerror(errno));
    return st.st_ino;
}

/* A process still running (zombies left for init to reap are not) whose command line holds
   needle (NULL: any; "^..." at its start), or that is in one of the namespaces inos, or
   with both, both; its PID, or -1. */
static pid_t live_process(const char *needle, const ino_t *inos, int ninos, bool both)
{
    DIR *d = opendir("/proc");
    pid_t pid, found = -1;
    cr_assert_not_null(d);
    while (found < 0 && (pid = child_proc_next(d)) > 0) {
        char path[300], buf[4096];
        if (pid == getpid())
            continue;
        child_proc_read(pid, "stat", buf, sizeof buf);
        char *close_paren = strrchr(buf, ')');
        if (!close_paren || close_paren[2] == 'Z')
            continue; /* gone, or a zombie */
        ssize_t n = child_proc_read(pid, "cmdline", buf, sizeof buf);
        for (ssize_t i = 0; i < n; i++)
            if (buf[i] == '\0')
                buf[i] = ' ';
        bool by_cmd =
            needle && (needle[0] == '^' ? strncmp(buf, needle + 1, strlen(needle + 1)) == 0
                                        : strstr(buf, needle) != NULL);
        bool by_ns = false;
        struct stat st;
        snprintf(path, sizeof path, "/proc/%d/ns/net", pid);
        for (int i = 0; i < ninos && !by_ns; i++)
            by_ns = stat(path, &st) == 0 && st.st_ino == inos[i];
        if (both ? by_cmd && by_ns : by_cmd || by_ns)
            found = pid;
    }
    closedir(d);
    return found;
}

/* After down: no namespace of the lab's prefix, no veth, no folder, no process that names
   the folder or runs in one of the lab's namespaces (inos, taken while it was up). */
static void expect_nothing_left(const char *dir, const ino_t *inos, int ninos, const char *when)
{
    DIR *d = opendir("/run/netns");
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL)
        cr_expect(strncmp(e->d_name, HOSTLAB_PREFIX "-", strlen(HOSTLAB_PREFIX) + 1) != 0,
                  "%s: namespace %s is left", when, e->d_name);
    if (d)
        closedir(d);
    cr_expect(access("/sys/class/net/" HOSTLAB_LINK, F_OK) != 0, "%s: link %s is left", when,
              HOSTLAB_LINK);
    cr_expect(access(dir, F_OK) != 0, "%s: %s is left", when, dir);
    /* killed processes may take a moment to go */
    pid_t pid = -1;
    for (double end = tenv_now_ms() + IO_MS; tenv_now_ms() < end; tenv_sleep_ms(50))
        if ((pid = live_process(dir, inos, ninos, false)) < 0)
            break;
    cr_expect(pid < 0, "%s: process %d is left (it names %s or runs in the lab)", when, pid, dir);
}

/* The namespace inodes of the lab that is up, for expect_nothing_left. */
static int lab_inodes(ino_t *inos)
{
    int n;
    const struct hostlab_host *h = hostlab_hosts(&n);
    for (int i = 0; i < n; i++)
        inos[i] = netns_inode(h[i].netns);
    inos[n] = netns_inode(HOSTLAB_PREFIX "-br");
    return n + 1;
}

/* hostlab_down, then nothing is left, and a second down is a no-op. */
static void down_and_expect_clean(const char *what)
{
    char dir[256];
    ino_t inos[HOSTLAB_HOSTS + 1];
    int ninos = lab_inodes(inos);
    snprintf(dir, sizeof dir, "%s", hostlab_dir());
    hostlab_down();
    expect_nothing_left(dir, inos, ninos, what);
    const char *again[] = {HOSTLAB_SCRIPT, "down", dir, NULL};
    int code = child_run(&run, again, NULL, IO_MS);
    cr_expect_eq(code, 0, "a second down %s: exit %d: %s", dir, code, run.out);
}

/* ---- a lab without ssh ------------------------------------------------------------------ */

/* Each host is in its namespace, with its loopback up and its address on eth0, and its
   hosts-file line runs programs there; every host and this namespace reach every other by
   address; a client reaches a listener on the server through its hosts-file command. */
Test(hostlab, hosts_reach_each_other)
{
    const char *hosts = hostlab_up(tfile_scratch, false);
    int n;
    const struct hostlab_host *h = hostlab_hosts(&n);
    cr_assert_eq(n, HOSTLAB_HOSTS, "%s: %d hosts", hosts, n);
    const char *names[] = {"srv", "c1", "c2"};
    for (int i = 0; i < n; i++) {
        char want[64], addr[32];
        cr_expect_str_eq(h[i].name, names[i], "%s: line %d", hosts, i + 1);
        snprintf(addr, sizeof addr, "%s.%d", HOSTLAB_SUBNET, i + 1);
        cr_expect_str_eq(h[i].addr, addr, "%s: %s's address", hosts, h[i].name);
        snprintf(want, sizeof want, "ip netns exec %s", h[i].netns);
        cr_expect_str_eq(h[i].command, want, "%s: %s's command", hosts, h[i].name);
        /* loopback up: a listener on 127.0.0.1 there is reached from there */
        int port, lfd = listen_in(h[i].netns, "127.0.0.1", &port);
        int err = connect_from(h[i].netns, "127.0.0.1", port, IO_MS, NULL);
        cr_expect_eq(err, 0, "[%s] 127.0.0.1 in its own namespace: %s", h[i].name, strerror(err));
        close(lfd);
        /* the line runs programs in that host */
        const char *args[] = {"ip", "-4", "-o", "addr", "show", "dev", "eth0", NULL};
        int code = hostlab_run(&h[i], args, &run, IO_MS);
        snprintf(want, sizeof want, "inet %s/24", h[i].addr);
        cr_expect(code == 0 && strstr(run.out, want), "[%s] `%s ip addr`: exit %d, '%s'", h[i].name,
                  h[i].command, code, run.out);
    }

    /* the mesh: from every host and from here (NULL) to every other */
    const char *from_ns[HOSTLAB_HOSTS + 1], *to_addr[HOSTLAB_HOSTS + 1];
    for (int i = 0; i < n; i++) {
        from_ns[i] = h[i].netns;
        to_addr[i] = h[i].addr;
    }
    from_ns[n] = NULL;
    to_addr[n] = HOSTLAB_HERE_ADDR;
    for (int to = 0; to <= n; to++) {
        int port, lfd = listen_in(from_ns[to], to_addr[to], &port);
        for (int from = 0; from <= n; from++) {
            if (from == to)
                continue;
            const char *who = from < n ? h[from].name : "here";
            int fd = -1, err = connect_from(from_ns[from], to_addr[to], port, IO_MS, &fd);
            cr_expect_eq(err, 0, "%s -> %s:%d: %s", who, to_addr[to], port, strerror(err));
            if (err == 0) {
                close(accept_one(lfd, to_addr[to]));
                close(fd);
            }
        }
        close(lfd);
    }

    /* as the harness will: a program run through c1's line talks to a listener on srv */
    const struct hostlab_host *srv = hostlab_host("srv"), *c1 = hostlab_host("c1");
    int port, lfd = listen_in(srv->netns, srv->addr, &port);
    char script[160];
    snprintf(script, sizeof script, "exec 3<>/dev/tcp/%s/%d && echo hello from c1 >&3", srv->addr,
             port);
    const char *args[] = {"bash", "-c", script, NULL};
    int code = hostlab_run(c1, args, &run, IO_MS);
    cr_expect_eq(code, 0, "[c1] bash /dev/tcp to srv: exit %d: %s", code, run.out);
    int fd = accept_one(lfd, "srv from c1");
    char buf[64];
    read_some(fd, buf, sizeof buf, "hello from c1", "srv from c1");
    close(fd);
    close(lfd);

    down_and_expect_clean("down");
}

/* A host reaches this namespace only by its lab address: a listener here on every address
   is out of its reach on 127.0.0.1 (its own loopback answers) and on this machine's other
   addresses (no route), and reached on HOSTLAB_HERE_ADDR. */
Test(hostlab, hosts_are_isolated)
{
    hostlab_up(tfile_scratch, false);
    const struct hostlab_host *c1 = hostlab_host("c1"), *srv = hostlab_host("srv");
    int port, lfd = listen_in(NULL, "0.0.0.0", &port);

    int err = connect_from(c1->netns, "127.0.0.1", port, IO_MS, NULL);
    cr_expect_eq(err, ECONNREFUSED, "c1 -> 127.0.0.1:%d (a listener of this namespace): %s", port,
                 err ? strerror(err) : "connected");
    struct ifaddrs *ifs, *i;
    int others = 0;
    cr_assert_eq(getifaddrs(&ifs), 0);
    for (i = ifs; i; i = i->ifa_next) {
        if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET)
            continue;
        char addr[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, addr, sizeof addr);
        if (strncmp(addr, "127.", 4) == 0 || strcmp(addr, HOSTLAB_HERE_ADDR) == 0)
            continue;
        others++;
        err = connect_from(c1->netns, addr, port, SILENT_MS, NULL);
        cr_expect_neq(err, 0, "c1 -> %s:%d (%s, not the lab's): connected", addr, port,
                      i->ifa_name);
    }
    freeifaddrs(ifs);
    cr_log_info("%d other addresses of this namespace out of the hosts' reach", others);
    err = connect_from(c1->netns, HOSTLAB_HERE_ADDR, port, IO_MS, NULL);
    cr_expect_eq(err, 0, "c1 -> %s:%d: %s", HOSTLAB_HERE_ADDR, port, strerror(err));
    if (err == 0)
        close(accept_one(lfd, "here from c1"));
    close(lfd);
    /* srv is there; nothing listens on that port */
    err = connect_from(c1->netns, srv->addr, port, IO_MS, NULL);
    cr_expect_eq(err, ECONNREFUSED, "c1 -> srv %s:%d, no listener: %s", srv->addr, port,
                 err ? strerror(err) : "connected");

    down_and_expect_clean("down");
}

/* ---- a lab with ssh --------------------------------------------------------------------- */

/* The sshd of each host runs in that host's namespace, answers here on port 22, and its
   hosts-file line (ssh with the lab's key, host key checked) runs programs in that host;
   1 MB goes through a session's stdin and its count comes back on stdout; without the lab's
   known_hosts the host key is refused. */
Test(hostlab, ssh_reaches_every_host)
{
    double t0 = tenv_now_ms();
    const char *hosts = hostlab_up(tfile_scratch, true);
    cr_log_info("up --ssh took %.0f ms", tenv_now_ms() - t0);
    int n;
    const struct hostlab_host *h = hostlab_hosts(&n);
    for (int i = 0; i < n; i++) {
        char path[512], want[64];
        cr_expect(strncmp(h[i].command, "ssh ", 4) == 0 && strstr(h[i].command, "BatchMode=yes") &&
                      strstr(h[i].command, "StrictHostKeyChecking=yes"),
                  "%s: %s's command: %s", hosts, h[i].name, h[i].command);
        snprintf(want, sizeof want, " root@%s", h[i].addr);
        size_t len = strlen(h[i].command), wl = strlen(want);
        cr_expect(len > wl && strcmp(h[i].command + len - wl, want) == 0,
                  "%s: %s's command does not end in '%s'", hosts, h[i].name, want);

        snprintf(path, sizeof path, "%s/ssh/sshd_%s.pid", hostlab_dir(), h[i].name);
        char *pidtext = tfile_slurp(path, NULL);
        cr_assert_not_null(pidtext, "[%s] no pid file %s", h[i].name, path);
        int pid = atoi(pidtext);
        free(pidtext);
        struct stat st;
        snprintf(path, sizeof path, "/proc/%d/ns/net", pid);
        cr_expect(stat(path, &st) == 0 && st.st_ino == netns_inode(h[i].netns),
                  "[%s] sshd %d is not in namespace %s", h[i].name, pid, h[i].netns);

        int fd = -1, err = connect_from(NULL, h[i].addr, 22, IO_MS, &fd);
        cr_assert_eq(err, 0, "here -> %s:22: %s", h[i].addr, strerror(err));
        char banner[128];
        read_some(fd, banner, sizeof banner, "SSH-2.0-", h[i].name);
        close(fd);

        const char *truth[] = {"true", NULL};
        int code = hostlab_run(&h[i], truth, &run, SSH_MS);
        cr_expect_eq(code, 0, "[%s] `%s true`: exit %d: %s", h[i].name, h[i].command, code,
                     run.out);
        const char *args[] = {"ip", "-4", "-o", "addr", "show", "dev", "eth0", NULL};
        code = hostlab_run(&h[i], args, &run, SSH_MS);
        snprintf(want, sizeof want, "inet %s/24", h[i].addr);
        cr_expect(code == 0 && strstr(run.out, want), "[%s] ip addr over ssh: exit %d, '%s'",
                  h[i].name, code, run.out);
    }

    /* both ways through one session, as the harness's remote programs talk */
    char line[1400];
    snprintf(line, sizeof line, "head -c %d /dev/zero | %s wc -c", PIPE_BYTES, h[1].command);
    const char *pipe_args[] = {"bash", "-c", line, NULL};
    int code = child_run(&run, pipe_args, NULL, SSH_MS);
    cr_expect(code == 0 && atoi(run.out) == PIPE_BYTES, "%d bytes through c1's ssh: exit %d, '%s'",
              PIPE_BYTES, code, run.out);

    /* the host key is checked: the same command with an empty known_hosts is refused */
    char known[300];
    snprintf(known, sizeof known, "UserKnownHostsFile=%s/ssh/known_hosts", hostlab_dir());
    snprintf(line, sizeof line, "%s", h[1].command);
    char *at = strstr(line, known);
    cr_assert_not_null(at, "c1's command has no %s", known);
    char refused[1400];
    snprintf(refused, sizeof refused, "%.*sUserKnownHostsFile=/dev/null%s true", (int)(at - line),
             line, at + strlen(known));
    const char *refused_args[] = {"bash", "-c", refused, NULL};
    code = child_run(&run, refused_args, NULL, SSH_MS);
    cr_expect(code == 255 && strstr(run.out, "Host key verification failed"),
              "without the lab's known_hosts: exit %d, '%s'", code, run.out);

    down_and_expect_clean("down --ssh");
}

/* A dropped host goes silent: a session to it hangs (nothing, not even a FIN, comes back),
   nothing runs in it, a connect to its sshd gets no answer at all; the others still answer. */
Test(hostlab, dropped_host_goes_silent)
{
    hostlab_up(tfile_scratch, true);
    const struct hostlab_host *c1 = hostlab_host("c1");
    ino_t c1_ns = netns_inode(c1->netns);
    struct child session;
    char line[1200];
    snprintf(line, sizeof line, "%s sleep 30", c1->command);
    child_start(&session, (const char *const[]){"bash", "-c", line, NULL},
                &(struct child_opts){.group = true});
    /* the session is up once its sleep runs in c1 (not only the shell that will run it) */
    pid_t in_c1 = -1;
    for (double end = tenv_now_ms() + SSH_MS; in_c1 < 0 && tenv_now_ms() < end; tenv_sleep_ms(50))
        in_c1 = live_process("^sleep 30", &c1_ns, 1, true);
    cr_assert(in_c1 >= 0, "the session's sleep never ran in c1: %s", session.out);

    hostlab_drop("c1");
    pid_t left = live_process(NULL, &c1_ns, 1, false);
    cr_expect(left < 0, "process %d still runs in the dropped c1", left);
    int err = connect_from(NULL, c1->addr, 22, SILENT_MS, NULL);
    cr_expect_eq(err, ETIMEDOUT, "here -> dropped c1's sshd: %s, want no answer at all",
                 err ? strerror(err) : "connected");
    tenv_sleep_ms(SILENT_MS);
    cr_expect(!child_pump(&session, 0), "the session to the dropped c1 ended (exit %d): %s",
              session.code, session.out);
    kill(-session.pid, SIGKILL);
    child_wait(&session, IO_MS);

    const char *truth[] = {"true", NULL};
    for (int i = 0; i < 2; i++) {
        const struct hostlab_host *h = hostlab_host(i == 0 ? "srv" : "c2");
        int code = hostlab_run(h, truth, &run, SSH_MS);
        cr_expect_eq(code, 0, "[%s] after c1 was dropped: exit %d: %s", h->name, code, run.out);
    }
    down_and_expect_clean("down after a drop");
}

/* ---- refusals and failures -------------------------------------------------------------- */

/* up refuses a lab whose names are taken (naming the folder of the lab that holds them) and
   a subnet that clashes with this machine's addresses, making nothing. */
Test(hostlab, up_refuses_clashes)
{
    hostlab_up(tfile_scratch, false);
    char other[300];
    snprintf(other, sizeof other, "%s/other", tfile_scratch);
    struct {
        const char *prefix, *subnet, *want;
    } cases[] = {
        /* the lab of hostlab_up holds these names */
        {HOSTLAB_PREFIX, HOSTLAB_SUBNET, "is taken by the lab of"},
        /* other names, but this namespace has HOSTLAB_HERE_ADDR already */
        {"tvtestx", HOSTLAB_SUBNET, "clashes with this machine's address " HOSTLAB_HERE_ADDR},
        /* the loopback's 127.0.0.0/8 holds 127.0.0.0/24 */
        {"tvtestx", "127.0.0", "clashes with this machine's address 127.0.0.1/8 on lo"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *argv[] = {HOSTLAB_SCRIPT,  "up",       other,           "--prefix",
                              cases[i].prefix, "--subnet", cases[i].subnet, NULL};
        int code = child_run(&run, argv, NULL, IO_MS);
        cr_expect(code == 1 && strstr(run.out, cases[i].want),
                  "up --prefix %s --subnet %s: exit %d, '%s', want '%s'", cases[i].prefix,
                  cases[i].subnet, code, run.out, cases[i].want);
        cr_expect(access(other, F_OK) != 0, "a refused up made %s", other);
        cr_expect(access("/run/netns/tvtestx-br", F_OK) != 0, "a refused up made tvtestx-br");
    }
    down_and_expect_clean("down");
}

/* An up that fails half-way (a step made to fail by TVT_HOSTLAB_FAIL_AT) undoes itself:
   exit non-zero, and nothing left, after some namespaces or after every sshd. */
Test(hostlab, failed_up_leaves_nothing)
{
    const char *steps[] = {"netns-c1", "sshd-c2"};
    hostlab_need();
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        char fail_at[64], dir[256];
        snprintf(fail_at, sizeof fail_at, "TVT_HOSTLAB_FAIL_AT=%s", steps[i]);
        const char *env[] = {fail_at, NULL};
        int code = hostlab_try_up(tfile_scratch, true, env, &run);
        cr_assert_neq(code, 0, "up failing at %s: exit 0: %s", steps[i], run.out);
        cr_expect(strstr(run.out, steps[i]) && strstr(run.out, "undoing"), "up failing at %s: '%s'",
                  steps[i], run.out);
        snprintf(dir, sizeof dir, "%s/lab", tfile_scratch);
        char when[64];
        snprintf(when, sizeof when, "after up failed at %s", steps[i]);
        expect_nothing_left(dir, NULL, 0, when);
    }
}

/* check says why the lab cannot be made without root (the reason a test skips on). */
Test(hostlab, check_names_the_reason)
{
    const char *as_root[] = {HOSTLAB_SCRIPT, "check", NULL};
    const char *as_nobody[] = {
        "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", HOSTLAB_SCRIPT, "check",
        NULL};
    if (geteuid() == 0) {
        int code = child_run(&run, as_root, NULL, IO_MS);
        cr_expect_eq(code, 0, "check as root: exit %d: %s", code, run.out);
    }
    int code = child_run(&run, geteuid() == 0 ? as_nobody : as_root, NULL, IO_MS);
    if (code == 126 || code == 127)
        TFILE_SKIP("cannot run %s as uid 65534: %s", HOSTLAB_SCRIPT, run.out);
    cr_expect(code == 1 && strstr(run.out, "needs root"), "check without root: exit %d, '%s'", code,
              run.out);
}
