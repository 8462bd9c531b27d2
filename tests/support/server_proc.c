/* server_proc: start a server binary for a test, wait until it listens, stop it by PID. */
#include "server_proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "forkpipe.h"
#include "test_env.h"

#define READY_TIMEOUT_MS  10000
#define DRAIN_EOF_WAIT_MS 1000       /* after the reap; a grandchild could still hold a pipe */
#define CAPTURE_MAX       (4u << 20) /* more than this is a runaway server; keep the head */

struct capture {
    char *buf; /* NUL-terminated */
    size_t len, cap;
    bool eof;
};

struct server_proc {
    pid_t pid;
    int port;
    char host[64];
    int out_fd, err_fd; /* read ends of the child's stdout and stderr */

    pthread_t drain;
    bool drain_started;
    pthread_mutex_t mu; /* guards out, err and quit, shared with the drain thread */
    pthread_cond_t cv;  /* signalled on every capture change (CLOCK_MONOTONIC) */
    struct capture out, err;
    bool quit;

    bool reaped;
    int status;
};

static void deadline_ts(struct timespec *ts, int ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

static void capture_append(struct capture *c, const char *data, size_t n)
{
    if (c->len + n + 1 > c->cap) {
        size_t cap = c->cap ? c->cap : 4096;
        while (cap < c->len + n + 1)
            cap *= 2;
        if (cap > CAPTURE_MAX + 1) {
            cap = CAPTURE_MAX + 1;
            if (c->len + 1 >= cap)
                return;
            n = cap - 1 - c->len;
        }
        char *nb = realloc(c->buf, cap);
        if (!nb)
            return; /* drop output rather than fail the drain; the test will see the loss */
        c->buf = nb;
        c->cap = cap;
    }
    memcpy(c->buf + c->len, data, n);
    c->len += n;
    c->buf[c->len] = '\0';
}

/* Drains both pipes so that a chatty server never blocks on a full pipe. */
static void *drain_main(void *arg)
{
    struct server_proc *sp = arg;
    char chunk[4096];
    for (;;) {
        struct pollfd pfd[2];
        struct capture *cap[2];
        int n = 0;
        pthread_mutex_lock(&sp->mu);
        bool quit = sp->quit;
        if (!sp->out.eof) {
            pfd[n] = (struct pollfd){.fd = sp->out_fd, .events = POLLIN};
            cap[n++] = &sp->out;
        }
        if (!sp->err.eof) {
            pfd[n] = (struct pollfd){.fd = sp->err_fd, .events = POLLIN};
            cap[n++] = &sp->err;
        }
        pthread_mutex_unlock(&sp->mu);
        if (n == 0 || quit)
            break;
        int r = poll(pfd, (nfds_t)n, 50);
        if (r < 0 && errno != EINTR)
            break;
        for (int i = 0; i < n && r > 0; i++) {
            if (!pfd[i].revents)
                continue;
            ssize_t got = read(pfd[i].fd, chunk, sizeof chunk);
            if (got < 0 && (errno == EINTR || errno == EAGAIN))
                continue;
            pthread_mutex_lock(&sp->mu);
            if (got <= 0)
                cap[i]->eof = true;
            else
                capture_append(cap[i], chunk, (size_t)got);
            pthread_cond_broadcast(&sp->cv);
            pthread_mutex_unlock(&sp->mu);
        }
    }
    pthread_mutex_lock(&sp->mu);
    sp->out.eof = sp->err.eof = true;
    pthread_cond_broadcast(&sp->cv);
    pthread_mutex_unlock(&sp->mu);
    return NULL;
}

/* The child: only async-signal-safe calls between fork and exec. A failure is reported
   to the parent as {stage, errno} on the close-on-exec status pipe. */
static void child_exec(const char *path, char *const argv[], const struct server_spec *spec,
                       int out_w, int err_w, int status_w)
{
    int report[2] = {0, 0};
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(out_w, 1) < 0 || dup2(err_w, 2) < 0) {
        report[0] = 2;
        goto fail;
    }
    /* Nothing else of the test process (Criterion's pipes and arenas, our
       /dev/null) leaks into the server, where it would skew fd counts and
       limits. Close-on-exec keeps the status pipe working until exec. */
    close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
    /* Ignored signals and the mask survive exec: give the server a clean slate, so that a
       server relying on an inherited SIG_IGN for SIGPIPE is caught. */
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    for (int s = 1; s < NSIG; s++)
        if (s != SIGKILL && s != SIGSTOP)
            sigaction(s, &dfl, NULL);
    for (size_t i = 0; i < spec->nlimits; i++) {
        struct rlimit rl = {spec->limits[i].cur, spec->limits[i].max};
        if (setrlimit(spec->limits[i].resource, &rl) < 0) {
            report[0] = 3;
            goto fail;
        }
    }
    execv(path, argv);
    report[0] = 4;
fail:
    report[1] = errno;
    ssize_t w = write(status_w, report, sizeof report);
    (void)w;
    _exit(127);
}

static const char *stage_name(int stage)
{
    switch (stage) {
    case 2: return "redirecting stdio";
    case 3: return "setrlimit";
    default: return "exec";
    }
}

/* Waits for the first stdout line; 0 with port/host filled, -1 with err filled. */
static int wait_ready(struct server_proc *sp, int timeout_ms, char *err, size_t errlen)
{
    struct timespec dl;
    deadline_ts(&dl, timeout_ms);
    int rc = -1;
    pthread_mutex_lock(&sp->mu);
    for (;;) {
        char *nl = sp->out.buf ? strchr(sp->out.buf, '\n') : NULL;
        if (nl) {
            const char *pre = "listening on ";
            size_t plen = strlen(pre);
            char *colon = NULL;
            if (strncmp(sp->out.buf, pre, plen) == 0)
                colon = memrchr(sp->out.buf, ':', (size_t)(nl - sp->out.buf));
            char *end = NULL;
            long port = colon ? strtol(colon + 1, &end, 10) : -1;
            size_t hlen = colon ? (size_t)(colon - sp->out.buf) - plen : 0;
            if (!colon || end != nl || port <= 0 || port > 65535 || hlen == 0 ||
                hlen >= sizeof sp->host) {
                snprintf(err, errlen, "first stdout line is not `listening on HOST:PORT`: %.*s",
                         (int)(nl - sp->out.buf), sp->out.buf);
                break;
            }
            memcpy(sp->host, sp->out.buf + plen, hlen);
            sp->host[hlen] = '\0';
            sp->port = (int)port;
            rc = 0;
            break;
        }
        if (sp->out.eof) {
            snprintf(err, errlen, "server closed stdout without a `listening on` line");
            break;
        }
        if (pthread_cond_timedwait(&sp->cv, &sp->mu, &dl) == ETIMEDOUT) {
            snprintf(err, errlen, "no `listening on` line within %d ms", timeout_ms);
            break;
        }
    }
    pthread_mutex_unlock(&sp->mu);
    return rc;
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

/* Appends the server's stderr (trimmed) to an error message already in err. */
static void append_stderr(struct server_proc *sp, char *err, size_t errlen)
{
    char *text = server_stderr_copy(sp);
    size_t used = strlen(err);
    if (text && *text && used + 16 < errlen)
        snprintf(err + used, errlen - used, "; server stderr: %.*s", (int)(errlen - used - 20),
                 text);
    free(text);
}

struct server_proc *server_start(const struct server_spec *spec, char *err, size_t errlen)
{
    int pipes[3][2] = {{-1, -1}, {-1, -1}, {-1, -1}};
    int *out_p = pipes[0], *err_p = pipes[1], *st_p = pipes[2];
    char **argv = NULL;
    struct server_proc *sp = calloc(1, sizeof *sp);
    char path[4096];
    if (!sp) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    sp->pid = -1;
    sp->out_fd = sp->err_fd = -1;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&sp->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&sp->mu, NULL);

    if (spec->binary)
        snprintf(path, sizeof path, "%s/%s", tenv_bin_dir(), spec->binary);
    else
        snprintf(path, sizeof path, "%s/%s_server", tenv_bin_dir(), spec->impl);
    if (access(path, X_OK) < 0) {
        snprintf(err, errlen, "%s: %s (build it with `make`, or point TVT_BIN_DIR at it)", path,
                 strerror(errno));
        goto fail;
    }
    size_t nargs = 0;
    while (spec->args && spec->args[nargs])
        nargs++;
    argv = calloc(nargs + 2, sizeof *argv);
    if (!argv) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    argv[0] = path;
    for (size_t i = 0; i < nargs; i++)
        argv[i + 1] = (char *)spec->args[i];

    sp->pid = forkpipe_start(pipes, 3, err, errlen);
    if (sp->pid < 0)
        goto fail;
    if (sp->pid == 0)
        child_exec(path, argv, spec, out_p[1], err_p[1], st_p[1]);

    close_fd(&out_p[1]);
    close_fd(&err_p[1]);
    close_fd(&st_p[1]);
    sp->out_fd = out_p[0];
    sp->err_fd = err_p[0];
    out_p[0] = err_p[0] = -1;

    int report[2];
    ssize_t got;
    do
        got = read(st_p[0], report, sizeof report);
    while (got < 0 && errno == EINTR);
    close_fd(&st_p[0]);
    if (got == (ssize_t)sizeof report) {
        snprintf(err, errlen, "%s: %s failed in the child: %s", path, stage_name(report[0]),
                 strerror(report[1]));
        goto fail;
    }

    if (pthread_create(&sp->drain, NULL, drain_main, sp) != 0) {
        snprintf(err, errlen, "pthread_create for the output drain failed");
        goto fail;
    }
    sp->drain_started = true;
    int tmo = spec->ready_timeout_ms > 0 ? spec->ready_timeout_ms : READY_TIMEOUT_MS;
    if (wait_ready(sp, tmo, err, errlen) < 0) {
        size_t used = strlen(err);
        snprintf(err + used, errlen - used, " (%s)", path);
        /* Let a dying server finish its message before we collect it. */
        struct server_exit ex;
        server_stop(sp, SIGKILL, 1000, &ex);
        append_stderr(sp, err, errlen);
        goto fail;
    }
    free(argv);
    return sp;

fail:
    forkpipe_close(pipes, 3);
    free(argv);
    server_free(sp);
    return NULL;
}

int server_port(const struct server_proc *sp)
{
    return sp->port;
}

pid_t server_pid(const struct server_proc *sp)
{
    return sp->pid;
}

const char *server_host(const struct server_proc *sp)
{
    return sp->host;
}

bool server_alive(struct server_proc *sp)
{
    if (sp->reaped || sp->pid <= 0)
        return false;
    int st;
    pid_t r = waitpid(sp->pid, &st, WNOHANG);
    if (r == sp->pid) {
        sp->reaped = true;
        sp->status = st;
        return false;
    }
    return r == 0;
}

int server_set_rlimit(struct server_proc *sp, int resource, rlim_t cur, rlim_t max)
{
    struct rlimit rl = {cur, max};
    return prlimit(sp->pid, (__rlimit_resource_t)resource, &rl, NULL);
}

/* Stops the drain thread once the child is gone: normally at EOF, at worst after a bound. */
static void drain_finish(struct server_proc *sp)
{
    if (!sp->drain_started)
        return;
    struct timespec dl;
    deadline_ts(&dl, DRAIN_EOF_WAIT_MS);
    pthread_mutex_lock(&sp->mu);
    while (!(sp->out.eof && sp->err.eof))
        if (pthread_cond_timedwait(&sp->cv, &sp->mu, &dl) == ETIMEDOUT)
            break;
    sp->quit = true;
    pthread_mutex_unlock(&sp->mu);
    pthread_join(sp->drain, NULL);
    sp->drain_started = false;
}

int server_stop(struct server_proc *sp, int sig, int timeout_ms, struct server_exit *out)
{
    memset(out, 0, sizeof *out);
    double t0 = tenv_now_ms();
    if (sp->pid > 0 && server_alive(sp)) {
        kill(sp->pid, sig);
        while (!sp->reaped && tenv_now_ms() - t0 < timeout_ms) {
            if (!server_alive(sp))
                break;
            struct timespec nap = {0, 2 * 1000 * 1000};
            nanosleep(&nap, NULL);
        }
        if (!sp->reaped && server_alive(sp)) {
            kill(sp->pid, SIGKILL);
            out->killed = true;
            int st;
            pid_t r;
            do
                r = waitpid(sp->pid, &st, 0);
            while (r < 0 && errno == EINTR);
            if (r != sp->pid)
                return -1;
            sp->reaped = true;
            sp->status = st;
        }
    }
    out->elapsed_ms = tenv_now_ms() - t0;
    drain_finish(sp);
    out->status = sp->status;
    out->exited = sp->reaped && WIFEXITED(sp->status);
    out->code = out->exited ? WEXITSTATUS(sp->status) : -1;
    out->signal = sp->reaped && WIFSIGNALED(sp->status) ? WTERMSIG(sp->status) : 0;
    out->err = sp->err.buf ? sp->err.buf : "";
    out->out = sp->out.buf ? sp->out.buf : "";
    return sp->reaped ? 0 : -1;
}

char *server_stderr_copy(struct server_proc *sp)
{
    pthread_mutex_lock(&sp->mu);
    char *s = strdup(sp->err.buf ? sp->err.buf : "");
    pthread_mutex_unlock(&sp->mu);
    return s;
}

void server_free(struct server_proc *sp)
{
    if (!sp)
        return;
    if (sp->pid > 0 && !sp->reaped) {
        struct server_exit ex;
        server_stop(sp, SIGKILL, 2000, &ex);
    }
    drain_finish(sp);
    close_fd(&sp->out_fd);
    close_fd(&sp->err_fd);
    free(sp->out.buf);
    free(sp->err.buf);
    pthread_mutex_destroy(&sp->mu);
    pthread_cond_destroy(&sp->cv);
    free(sp);
}
