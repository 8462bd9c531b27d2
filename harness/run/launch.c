/* launch: how `run` starts its processes: the server's command line, placeholders and
 * environment, and the backend of io=net runs. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "load/target.h"
#include "plan/placement.h"
#include "plan/plan.h"
#include "run/launch.h"

#define SERVER_ARGS_MAX 64

void launch_bin_dir(char *out, size_t len)
{
    const char *env = getenv("TVT_BIN_DIR");
    if (env && *env) {
        snprintf(out, len, "%s", env);
        return;
    }
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) {
        snprintf(out, len, "bin");
        return;
    }
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (slash)
        *slash = '\0';
    snprintf(out, len, "%s", self);
}

/* One placeholder of --server-cmd and what it becomes. */
struct subst {
    const char *key;
    const char *value; /* NULL: not available in this run */
    const char *needs; /* what makes it available, for the error */
};

/* cmd with every placeholder replaced, into out. -1 with the cause in err. */
static int expand(const char *cmd, const struct subst *subs, int nsubs, char *out, size_t len,
                  char *err, size_t errlen)
{
    size_t off = 0;
    for (const char *p = cmd; *p;) {
        int w = -1;
        for (int i = 0; i < nsubs && w < 0; i++) {
            size_t kn = strlen(subs[i].key);
            if (strncmp(p, subs[i].key, kn) != 0)
                continue;
            if (!subs[i].value) {
                snprintf(err, errlen, "--server-cmd has %s, which only a run with %s fills in",
                         subs[i].key, subs[i].needs);
                return -1;
            }
            w = snprintf(out + off, len - off, "%s", subs[i].value);
            p += kn;
        }
        if (w < 0)
            w = snprintf(out + off, len - off, "%c", *p++);
        if (w < 0 || (size_t)w >= len - off) {
            snprintf(err, errlen,
                     "--server-cmd is too long once its placeholders are replaced (at most %zu "
                     "bytes)",
                     len - 1);
            return -1;
        }
        off += (size_t)w;
    }
    out[off] = '\0';
    return 0;
}

static bool has_arg(const struct cli_opts *o, const char *flag)
{
    for (int i = 0; i < o->n_server_args; i++)
        if (strcmp(o->server_args[i], flag) == 0)
            return true;
    return false;
}

static void join_argv(char *const argv[], char *out, size_t len)
{
    size_t off = 0;
    out[0] = '\0';
    for (int i = 0; argv[i] && off < len; i++)
        off += (size_t)snprintf(out + off, len - off, "%s%s", i ? " " : "", argv[i]);
}

static void cpu_set_of(const struct cpu_list *l, cpu_set_t *set)
{
    CPU_ZERO(set);
    for (int i = 0; i < l->n; i++)
        CPU_SET(l->cpu[i], set);
}

/* Every server may size itself from TVT_SERVER_CPUS; the wait kinds' resources are in the
 * environment too, for --server-cmd servers that read them there. */
static void server_env(const struct run_record *r, const char *upstream, const char *data_file)
{
    char kbuf[24];
    snprintf(kbuf, sizeof kbuf, "%d", r->place.server_k);
    setenv("TVT_SERVER_CPUS", kbuf, 1);
    if (upstream)
        setenv("TVT_UPSTREAM", upstream, 1);
    else
        unsetenv("TVT_UPSTREAM");
    if (data_file)
        setenv("TVT_DATA_FILE", data_file, 1);
    else
        unsetenv("TVT_DATA_FILE");
}

/* The address a server listens on: 127.0.0.1 on one machine, its host's across hosts. */
static const char *launch_listen_addr(const struct run *x, const struct host *h)
{
    return x->hp.on && h ? h->addr : "127.0.0.1";
}

/* The command line of an --impl server into argv (NULL-terminated; its strings live in buf
 * and o); r->workers and r->pin_workers as passed. -1 with the cause in r when the binary is
 * missing. */
static int impl_argv(struct run *x, char **argv, char (*buf)[PATH_MAX + 16], const char *upstream,
                     const char *data_file)
{
    const struct cli_opts *o = x->o;
    struct run_record *r = x->r;
    const struct placement *pl = &r->place;
    char dir[PATH_MAX];
    int n = 0;
    launch_bin_dir(dir, sizeof dir);
    snprintf(buf[0], sizeof buf[0], "%s/%s_server", dir, o->impl);
    if (access(buf[0], X_OK) < 0) {
        result_fail(r,
                    "--impl %s: %s: %s (build it with `make`%s, or point TVT_BIN_DIR at the "
                    "folder that has it)",
                    o->impl, buf[0], strerror(errno),
                    strcmp(o->impl, "uring") == 0 ? "; bin/uring_server needs liburing-dev" : "");
        return -1;
    }
    argv[n++] = buf[0];
    argv[n++] = "--host";
    argv[n++] = (char *)launch_listen_addr(x, x->hp.server);
    argv[n++] = "--port";
    argv[n++] = "0";
    if (o->stack_kib >= 0) {
        snprintf(buf[1], sizeof buf[1], "%ld", o->stack_kib);
        argv[n++] = "--stack-kib";
        argv[n++] = buf[1];
    }
    bool loops = strcmp(o->impl, "thread") != 0;
    bool pinned = pl->server_pinned && pl->server.n > 0;
    long given = plan_flag_from_args(o, "--workers", o->workers);
    long w = plan_server_workers(o, pl);
    if (o->workers >= 0 || (given < 0 && w > 1)) {
        snprintf(buf[2], sizeof buf[2], "%ld", w);
        argv[n++] = "--workers";
        argv[n++] = buf[2];
    }
    r->workers = w;
    if (loops && pinned && w > 1 && w == pl->server.n) {
        if (!has_arg(o, "--pin-workers"))
            argv[n++] = "--pin-workers";
        r->pin_workers = true;
    }
    if (upstream) {
        argv[n++] = "--upstream";
        argv[n++] = (char *)upstream;
        /* a backend on a host of its own is outside this one's loopback */
        bool away = x->hp.on && x->hp.backend != x->hp.server;
        if ((o->allow_remote || away) && !has_arg(o, "--allow-remote"))
            argv[n++] = "--allow-remote";
    }
    if (data_file) {
        argv[n++] = "--data-file";
        argv[n++] = (char *)data_file;
    }
    for (int i = 0; i < o->n_server_args && n < SERVER_ARGS_MAX - 1; i++)
        argv[n++] = o->server_args[i];
    argv[n] = NULL;
    return 0;
}

/* Starts the server (x->sp): its command line, pinning and environment. 0 ok; -1 with the
 * cause in x->r. */
static int launch_server(struct run *x)
{
    const struct cli_opts *o = x->o;
    struct run_record *r = x->r;
    struct server_result *s = &r->srv;
    const struct placement *pl = &r->place;
    char err[512], kbuf[24];
    static char buf[3][PATH_MAX + 16], cmd[sizeof s->command];
    char *argv[SERVER_ARGS_MAX + 16];
    cpu_set_t set;
    cpu_set_of(&pl->server, &set);
    bool pinned = pl->server_pinned && pl->server.n > 0;
    const char *upstream = r->bk.on ? r->bk.upstream : NULL;
    const char *data_file = r->data.on ? r->data.path : NULL;
    server_env(r, upstream, data_file);
    if (o->impl) {
        if (impl_argv(x, argv, buf, upstream, data_file) < 0)
            return -1;
        join_argv(argv, s->command, sizeof s->command);
    } else {
        snprintf(kbuf, sizeof kbuf, "%d", pl->server_k);
        const struct subst subs[] = {
            {"{workers}", kbuf, ""},
            {"{upstream}", upstream, "--io net"},
            {"{data_file}", data_file, "--io file"},
            {"{host}", launch_listen_addr(x, x->hp.server), ""},
        };
        if (expand(o->server_cmd, subs, 4, cmd, sizeof cmd, err, sizeof err) < 0) {
            result_fail(r, "%s", err);
            return -1;
        }
        snprintf(s->command, sizeof s->command, "%s", cmd);
    }
    if (x->srv_node->ops->spawn(x->srv_node, x->sp, argv, o->server_cmd ? cmd : NULL,
                                pinned ? &set : NULL, err, sizeof err) < 0) {
        result_fail(r, "%s%s", err,
                    o->impl ? " (build the servers with `make`, or point TVT_BIN_DIR at them)"
                            : "");
        return -1;
    }
    s->present = true;
    s->pid = x->sp->pid;
    return 0;
}

/* Starts the backend (x->bk) on the backend CPUs and waits for its `listening on` line:
 * x->r->bk.upstream. 0 ok; -1 with the cause in x->r. */
static int launch_backend(struct run *x)
{
    const struct cli_opts *o = x->o;
    struct run_record *r = x->r;
    struct backend_result *b = &r->bk;
    const struct placement *pl = &r->place;
    char dir[PATH_MAX], path[PATH_MAX + 16], wbuf[24], err[512], why[600];
    char *argv_buf[16];
    int n = 0;
    cpu_set_t set;
    cpu_set_of(&pl->backend, &set);
    launch_bin_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/async_server", dir);
    argv_buf[n++] = path;
    argv_buf[n++] = "--host";
    /* beside the server: its loopback; on a host of its own: that host's address */
    bool away = x->hp.on && x->hp.backend != x->hp.server;
    const char *bk_addr = away ? x->hp.backend->addr : "127.0.0.1";
    argv_buf[n++] = (char *)bk_addr;
    argv_buf[n++] = "--port";
    argv_buf[n++] = "0";
    /* a front connection idle for a long think time keeps its backend connection */
    argv_buf[n++] = "--idle-timeout-ms";
    argv_buf[n++] = "0";
    if (b->workers > 1) {
        snprintf(wbuf, sizeof wbuf, "%ld", b->workers);
        argv_buf[n++] = "--workers";
        argv_buf[n++] = wbuf;
        if (b->workers == pl->backend.n)
            argv_buf[n++] = "--pin-workers";
    }
    argv_buf[n] = NULL;
    join_argv(argv_buf, b->command, sizeof b->command);
    if (access(path, X_OK) < 0) {
        result_fail(r,
                    "--io net: the backend %s: %s (build it with `make`, point TVT_BIN_DIR at "
                    "it, or give a running backend with --upstream HOST:PORT)",
                    path, strerror(errno));
        return -1;
    }
    if (x->bk_node->ops->spawn(x->bk_node, x->bk, argv_buf, NULL, pl->backend.n > 0 ? &set : NULL,
                               err, sizeof err) < 0) {
        result_fail(r, "the backend: %s", err);
        return -1;
    }
    b->started = true;
    b->pid = x->bk->pid;
    if (x->bk_node->ops->wait_ready(x->bk_node, x->bk, o->ready_timeout_ms, NULL, 0, why,
                                    sizeof why) < 0) {
        result_fail(r, "the backend (%s): %s", b->command, why);
        return -1;
    }
    snprintf(b->upstream, sizeof b->upstream, strchr(bk_addr, ':') ? "[%s]:%d" : "%s:%d", bk_addr,
             x->bk->port);
    return 0;
}

/* SIGTERM, wait up to wait_ms (then SIGKILL), keep its exit and stderr; a bad exit fails the
 * run. Safe when it never started. */
static void launch_backend_stop(struct run *x, int wait_ms)
{
    struct backend_result *b = &x->r->bk;
    struct spawn *sp = x->bk;
    if (!sp || sp->pid <= 0)
        return;
    bool was_running = !sp->exited;
    x->bk_node->ops->stop(x->bk_node, sp, SIGTERM, wait_ms);
    if (sp->exited) {
        b->killed = sp->killed;
        spawn_describe(sp->status, b->exit_desc, sizeof b->exit_desc);
        if (was_running && sp->killed)
            result_fail(x->r, "the backend did not exit within %d ms of SIGTERM (killed)", wait_ms);
        else if (was_running && !(WIFEXITED(sp->status) && WEXITSTATUS(sp->status) == 0) &&
                 !(WIFSIGNALED(sp->status) && WTERMSIG(sp->status) == SIGTERM))
            result_fail(x->r, "the backend %s after SIGTERM (expected status 0)", b->exit_desc);
    }
    x->bk_node->ops->cleanup(x->bk_node, sp);
    free(b->stderr_text);
    b->stderr_text = sp->err_len ? strdup(sp->err) : NULL;
}

/* The target of a spawned server: its `listening on` line, unless --target was given. */
static int server_target(struct run *x)
{
    char spec[192], err[512], host[192];
    const char *h = x->sp->host;
    struct sockaddr_storage ss;
    socklen_t len;
    if (strcmp(h, "0.0.0.0") == 0 || h[0] == '\0')
        h = "127.0.0.1";
    else if (strcmp(h, "::") == 0 || strcmp(h, "[::]") == 0)
        h = "::1";
    if (strchr(h, ':') && h[0] != '[')
        snprintf(spec, sizeof spec, "[%s]:%d", h, x->sp->port);
    else
        snprintf(spec, sizeof spec, "%s:%d", h, x->sp->port);
    /* the loopback guard stays: outside it, only the hosts file's addresses */
    bool allow = x->o->allow_remote || (x->hp.on && hosts_has_addr(&x->hp.hosts, h));
    if (target_resolve(spec, allow, &ss, &len, host, sizeof host, err, sizeof err) < 0 ||
        plan_target(&x->plan, x->r, &ss, len, host, err, sizeof err) < 0) {
        result_fail(x->r, "the server listens on %s: %s", spec, err);
        return -1;
    }
    if (!x->o->quiet) { /* for whoever watches the run (the sweep's own requests at a wall) */
        printf("server: listening on %s\n", spec);
        fflush(stdout);
    }
    return 0;
}

/* A child's struct spawn, never started yet. NULL when out of memory (the run fails). */
static struct spawn *spawn_new(struct run_record *r)
{
    struct spawn *sp = calloc(1, sizeof *sp);
    if (!sp) {
        result_fail(r, "out of memory");
        return NULL;
    }
    sp->pid = -1;
    sp->out_fd = sp->err_fd = -1;
    return sp;
}

int launch_all(struct run *x)
{
    const struct cli_opts *o = x->o;
    char why[600];
    if (x->plan.start_backend && (!(x->bk = spawn_new(x->r)) || launch_backend(x) < 0))
        return -1;
    if (!(x->sp = spawn_new(x->r)) || launch_server(x) < 0)
        return -1;
    const struct load_opts *lo = &x->plan.load;
    if (x->srv_node->ops->wait_ready(x->srv_node, x->sp, o->ready_timeout_ms,
                                     o->target ? (const struct sockaddr *)&lo->target : NULL,
                                     lo->target_len, why, sizeof why) < 0) {
        result_fail(x->r, "%s", why);
        return -1;
    }
    if (!o->target && server_target(x) < 0)
        return -1;
    x->srv_node->ops->perf_open(x->srv_node, x->sp, x->r->srv.ctx_perf_note,
                                sizeof x->r->srv.ctx_perf_note);
    return 0;
}

/* SIGTERM, then what its exit tells: a server that exits badly fails the run; one that does not
 * exit in time is killed and says so (stop_s, killed), but what it served stands: how a server
 * stops is a finding of its own, not a failure to serve. */
static void server_stop(struct run *x)
{
    struct server_result *s = &x->r->srv;
    struct spawn *sp = x->sp;
    bool was_running = !sp->exited;
    uint64_t t0 = clock_now_ns();
    x->srv_node->ops->stop(x->srv_node, sp, SIGTERM, LAUNCH_STOP_WAIT_MS);
    if (!sp->exited)
        return;
    if (was_running)
        s->stop_s = (double)(clock_now_ns() - t0) / 1e9;
    s->killed = sp->killed;
    spawn_describe(sp->status, s->exit_desc, sizeof s->exit_desc);
    s->lifetime_ok = true;
    s->maxrss_kib = sp->ru.ru_maxrss;
    s->nvcsw = sp->ru.ru_nvcsw;
    s->nivcsw = sp->ru.ru_nivcsw;
    if (!was_running || sp->killed)
        return;
    if (!(WIFEXITED(sp->status) && WEXITSTATUS(sp->status) == 0) &&
        !(WIFSIGNALED(sp->status) && WTERMSIG(sp->status) == SIGTERM))
        result_fail(x->r, "the server %s after SIGTERM (expected status 0)", s->exit_desc);
}

void launch_stop_all(struct run *x)
{
    if (x->sp) {
        if (x->sp->pid > 0)
            server_stop(x);
        x->srv_node->ops->cleanup(x->srv_node, x->sp);
        x->r->srv.stderr_text = x->sp->err_len ? strdup(x->sp->err) : NULL;
        free(x->sp);
        x->sp = NULL;
    }
    /* after the server: its last answers may still wait on it */
    if (x->bk) {
        launch_backend_stop(x, LAUNCH_STOP_WAIT_MS);
        free(x->bk);
        x->bk = NULL;
    }
}
