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

#include "plan/placement.h"
#include "run/runner_int.h"

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

long launch_flag_from_args(const struct cli_opts *o, const char *flag, long dflt)
{
    size_t n = strlen(flag);
    for (int i = 0; i < o->n_server_args; i++) {
        const char *a = o->server_args[i];
        if (strcmp(a, flag) == 0 && i + 1 < o->n_server_args)
            return atol(o->server_args[i + 1]);
        if (strncmp(a, flag, n) == 0 && a[n] == '=')
            return atol(a + n + 1);
    }
    return dflt;
}

long launch_server_workers(const struct cli_opts *o, const struct placement *pl)
{
    if (!o->impl)
        return -1;
    /* event loops: one per server CPU, each on its own (the thread server's threads run free
       over the set instead) */
    bool loops = strcmp(o->impl, "thread") != 0;
    long given = launch_flag_from_args(o, "--workers", o->workers);
    return given >= 0 ? given : loops ? pl->server_k : 1;
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

int launch_server(struct runner *x)
{
    const struct cli_opts *o = x->o;
    struct run_record *r = x->r;
    struct server_result *s = &r->srv;
    const struct placement *pl = &r->place;
    char err[512], path[PATH_MAX + 16], stackbuf[24], workersbuf[24], kbuf[24];
    static char cmd[sizeof s->command];
    char *argv_buf[SERVER_ARGS_MAX + 16];
    int n = 0;
    cpu_set_t set;
    cpu_set_of(&pl->server, &set);
    bool pinned = pl->server_pinned && pl->server.n > 0;
    const char *upstream = r->bk.on ? r->bk.upstream : NULL;
    const char *data_file = r->data.on ? r->data.path : NULL;
    /* every server may size itself from this; --server-cmd ones get {workers} too */
    snprintf(kbuf, sizeof kbuf, "%d", pl->server_k);
    setenv("TVT_SERVER_CPUS", kbuf, 1);
    if (upstream)
        setenv("TVT_UPSTREAM", upstream, 1);
    else
        unsetenv("TVT_UPSTREAM");
    if (data_file)
        setenv("TVT_DATA_FILE", data_file, 1);
    else
        unsetenv("TVT_DATA_FILE");
    if (o->impl) {
        char dir[PATH_MAX];
        launch_bin_dir(dir, sizeof dir);
        snprintf(path, sizeof path, "%s/%s_server", dir, o->impl);
        if (access(path, X_OK) < 0) {
            result_fail(r,
                        "--impl %s: %s: %s (build it with `make`%s, or point TVT_BIN_DIR at the "
                        "folder that has it)",
                        o->impl, path, strerror(errno),
                        strcmp(o->impl, "uring") == 0 ? "; bin/uring_server needs liburing-dev"
                                                      : "");
            return -1;
        }
        argv_buf[n++] = path;
        argv_buf[n++] = "--host";
        argv_buf[n++] = "127.0.0.1";
        argv_buf[n++] = "--port";
        argv_buf[n++] = "0";
        if (o->stack_kib >= 0) {
            snprintf(stackbuf, sizeof stackbuf, "%ld", o->stack_kib);
            argv_buf[n++] = "--stack-kib";
            argv_buf[n++] = stackbuf;
        }
        bool loops = strcmp(o->impl, "thread") != 0;
        long given = launch_flag_from_args(o, "--workers", o->workers);
        long w = launch_server_workers(o, pl);
        if (o->workers >= 0 || (given < 0 && w > 1)) {
            snprintf(workersbuf, sizeof workersbuf, "%ld", w);
            argv_buf[n++] = "--workers";
            argv_buf[n++] = workersbuf;
        }
        r->workers = w;
        if (loops && pinned && w > 1 && w == pl->server.n) {
            if (!has_arg(o, "--pin-workers"))
                argv_buf[n++] = "--pin-workers";
            r->pin_workers = true;
        }
        if (upstream) {
            argv_buf[n++] = "--upstream";
            argv_buf[n++] = (char *)upstream;
            if (o->allow_remote && !has_arg(o, "--allow-remote"))
                argv_buf[n++] = "--allow-remote";
        }
        if (data_file) {
            argv_buf[n++] = "--data-file";
            argv_buf[n++] = (char *)data_file;
        }
        for (int i = 0; i < o->n_server_args && n < SERVER_ARGS_MAX - 1; i++)
            argv_buf[n++] = o->server_args[i];
        argv_buf[n] = NULL;
        join_argv(argv_buf, s->command, sizeof s->command);
    } else {
        const struct subst subs[] = {
            {"{workers}", kbuf, ""},
            {"{upstream}", upstream, "--io net"},
            {"{data_file}", data_file, "--io file"},
        };
        if (expand(o->server_cmd, subs, 3, cmd, sizeof cmd, err, sizeof err) < 0) {
            result_fail(r, "%s", err);
            return -1;
        }
        snprintf(s->command, sizeof s->command, "%s", cmd);
    }
    if (spawn_start(x->sp, argv_buf, o->server_cmd ? cmd : NULL, pinned ? &set : NULL, err,
                    sizeof err) < 0) {
        result_fail(r, "%s%s", err,
                    o->impl ? " (build the servers with `make`, or point TVT_BIN_DIR at them)"
                            : "");
        return -1;
    }
    s->present = true;
    s->pid = x->sp->pid;
    return 0;
}

long launch_backend_workers(const struct placement *pl, long conns, long nofile)
{
    /* one loop per backend CPU, at most K (the server's share): the backend must not be
       the limit; more processes only where one's fds would not hold its connections */
    long w = pl->backend.n < pl->server_k ? pl->backend.n : pl->server_k;
    if (w < 1)
        w = 1;
    while (nofile >= 0 && w < FDPLAN_MAX_PROCS &&
           fdplan_share(conns, w, true) + FDPLAN_SERVER_RESERVE > nofile)
        w++;
    return w;
}

int launch_backend(struct runner *x)
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
    argv_buf[n++] = "127.0.0.1";
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
    if (spawn_start(x->bk, argv_buf, NULL, pl->backend.n > 0 ? &set : NULL, err, sizeof err) < 0) {
        result_fail(r, "the backend: %s", err);
        return -1;
    }
    b->started = true;
    b->pid = x->bk->pid;
    if (spawn_wait_ready(x->bk, o->ready_timeout_ms, NULL, 0, why, sizeof why) < 0) {
        result_fail(r, "the backend (%s): %s", b->command, why);
        return -1;
    }
    snprintf(b->upstream, sizeof b->upstream, "127.0.0.1:%d", x->bk->port);
    return 0;
}

void launch_backend_stop(struct runner *x, int wait_ms)
{
    struct backend_result *b = &x->r->bk;
    struct spawn *sp = x->bk;
    if (!sp || sp->pid <= 0)
        return;
    bool was_running = !sp->exited;
    spawn_stop(sp, SIGTERM, wait_ms);
    if (sp->exited) {
        b->killed = sp->killed;
        spawn_describe(sp->status, b->exit_desc, sizeof b->exit_desc);
        if (was_running && sp->killed)
            result_fail(x->r, "the backend did not exit within %d ms of SIGTERM (killed)", wait_ms);
        else if (was_running && !(WIFEXITED(sp->status) && WEXITSTATUS(sp->status) == 0) &&
                 !(WIFSIGNALED(sp->status) && WTERMSIG(sp->status) == SIGTERM))
            result_fail(x->r, "the backend %s after SIGTERM (expected status 0)", b->exit_desc);
    }
    spawn_cleanup(sp);
    free(b->stderr_text);
    b->stderr_text = sp->err_len ? strdup(sp->err) : NULL;
}
