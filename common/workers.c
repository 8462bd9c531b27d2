/* workers.c: one process, or W processes behind SO_REUSEPORT, and their counters. */
#include "workers.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "net.h"

#define READY_TIMEOUT_MS 30000

static const char *announce_host;
static int announce_port;
static int ready_fd = -1; /* in a worker: the pipe to the parent */

/* --pin-workers: the CPU of worker i, the i-th of the mask this process started with, in
 * cpus[0..workers). 0 ok; -1 (printed) when the mask has fewer CPUs than workers. */
static int plan_pins(const struct server_opts *o, const char *prog, int *cpus)
{
    cpu_set_t mask;
    int n = 0;

    if (sched_getaffinity(0, sizeof(mask), &mask) < 0) {
        fprintf(stderr, "%s: --pin-workers: sched_getaffinity: %s\n", prog, strerror(errno));
        return -1;
    }
    for (int c = 0; c < CPU_SETSIZE && n < (int)o->workers; c++)
        if (CPU_ISSET(c, &mask))
            cpus[n++] = c;
    if (n < (int)o->workers) {
        fprintf(stderr,
                "%s: --pin-workers: %u workers, but the affinity mask the server started "
                "with has only %d CPUs: run at most %d workers, or start it on more CPUs "
                "(taskset -c)\n",
                prog, o->workers, CPU_COUNT(&mask), CPU_COUNT(&mask));
        return -1;
    }
    return 0;
}

/* Pins the calling process to one CPU; a failure is reported and fatal. */
static int pin_to(const char *prog, int cpu)
{
    cpu_set_t one;

    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    if (sched_setaffinity(0, sizeof(one), &one) < 0) {
        fprintf(stderr, "%s: --pin-workers: cannot pin to CPU %d: %s\n", prog, cpu,
                strerror(errno));
        return -1;
    }
    return 0;
}

static void announce(void)
{
    printf("listening on %s:%d\n", announce_host, announce_port);
    fflush(stdout);
}

static void worker_ready(void)
{
    char one = 1;

    (void)!write(ready_fd, &one, 1);
    close(ready_fd);
    ready_fd = -1;
}

static int run_single(const struct server_opts *o, const char *prog, const char *impl, int nonblock,
                      worker_fn fn)
{
    static struct counters ctr; /* zeroed; lives as long as the threads that count */
    char err[512];
    int cpu, fd, rc;

    if (o->pin_workers && (plan_pins(o, prog, &cpu) < 0 || pin_to(prog, cpu) < 0))
        return 1;
    fd = net_listen(o->host, o->port, o->backlog, nonblock, 0, err, sizeof(err));
    if (fd < 0) {
        fprintf(stderr, "%s: %s\n", prog, err);
        return 1;
    }
    announce_host = o->host;
    announce_port = net_local_port(fd);
    rc = fn(o, fd, &ctr, announce); /* it closes fd */
    if (counters_print(&ctr, impl, stderr) < 0)
        rc = 1;
    return rc;
}

/* In the child: its own listener on the shared port, the server, its counters. */
static void worker_main(const struct server_opts *o, const char *prog, const char *impl,
                        int nonblock, worker_fn fn, int port, int counters_fd, int cpu)
{
    static struct counters ctr;
    char err[512];
    int fd, rc;
    FILE *out;

    if (cpu >= 0 && pin_to(prog, cpu) < 0)
        exit(1);
    fd = net_listen(o->host, port, o->backlog, nonblock, 1, err, sizeof(err));
    if (fd < 0) {
        fprintf(stderr, "%s: worker %d: %s\n", prog, (int)getpid(), err);
        exit(1);
    }
    rc = fn(o, fd, &ctr, worker_ready); /* it closes fd */
    out = fdopen(counters_fd, "w");
    if (!out || counters_print(&ctr, impl, out) < 0)
        rc = 1;
    if (out)
        fclose(out);
    exit(rc); /* exit, not _exit: sanitizers check the worker at exit */
}

/* Sums every integer field of the workers' JSON lines into one object (stop_ms: the largest). */
static json_t *merge_counters(int fd, const char *impl, int workers, int *complete)
{
    json_t *sum = json_object();
    FILE *in = fdopen(fd, "r");
    char line[4096];
    int lines = 0;

    while (in && fgets(line, sizeof(line), in)) {
        json_t *one = json_loads(line, 0, NULL);
        const char *key;
        json_t *v;
        if (!one)
            continue;
        json_object_foreach(one, key, v)
        {
            if (!json_is_integer(v))
                continue;
            json_t *acc = json_object_get(sum, key);
            json_int_t base = acc ? json_integer_value(acc) : 0, one_v = json_integer_value(v);
            /* the workers stop side by side: the stop took as long as the slowest one's */
            json_int_t merged = strcmp(key, "stop_ms") != 0 ? base + one_v
                                : one_v > base              ? one_v
                                                            : base;
            json_object_set_new(sum, key, json_integer(merged));
        }
        json_decref(one);
        lines++;
    }
    if (in)
        fclose(in);
    json_object_set_new(sum, "impl", json_string(impl));
    json_object_set_new(sum, "workers", json_integer(workers));
    *complete = lines == workers;
    return sum;
}

static void signal_all(const pid_t *pids, int n, int sig)
{
    for (int i = 0; i < n; i++)
        if (pids[i] > 0)
            kill(pids[i], sig);
}

/* The supervisor's state while its workers run. */
struct team {
    const struct server_opts *o;
    const char *prog;
    pid_t *pids;
    int *cpus; /* worker i's CPU with --pin-workers, else -1 */
    int ready_pipe[2], ctr_pipe[2];
    sigset_t stop_set, old_set;
};

/* Forks the W workers, each listening on port. 0 ok; -1 printed (those forked keep running). */
static int fork_workers(struct team *t, const char *impl, int nonblock, worker_fn fn, int port,
                        int reserve)
{
    pid_t master = getpid();
    for (int i = 0; i < (int)t->o->workers; i++) {
        t->pids[i] = fork();
        if (t->pids[i] < 0) {
            fprintf(stderr, "%s: fork of worker %d: %s\n", t->prog, i, strerror(errno));
            return -1;
        }
        if (t->pids[i] == 0) {
            /* a master killed outright (SIGKILL) takes its workers with it: they stop as at
               SIGTERM, gracefully, instead of serving on with nobody to stop them */
            prctl(PR_SET_PDEATHSIG, SIGTERM);
            if (getppid() != master)
                raise(SIGTERM);
            sigprocmask(SIG_SETMASK, &t->old_set, NULL);
            close(reserve);
            close(t->ready_pipe[0]);
            close(t->ctr_pipe[0]);
            ready_fd = t->ready_pipe[1];
            worker_main(t->o, t->prog, impl, nonblock, fn, port, t->ctr_pipe[1], t->cpus[i]);
        }
    }
    return 0;
}

/* Waits for a byte from each worker once it listens. 0 ok; -1 printed. */
static int await_ready(struct team *t)
{
    int ready = 0;
    while (ready < (int)t->o->workers) {
        struct pollfd p = {.fd = t->ready_pipe[0], .events = POLLIN};
        char buf[64];
        int n = poll(&p, 1, READY_TIMEOUT_MS);
        ssize_t got = n > 0 ? read(t->ready_pipe[0], buf, sizeof(buf)) : 0;
        if (n < 0 && errno == EINTR)
            continue;
        if (got <= 0) { /* EOF: a worker died before it was ready; 0: timed out */
            fprintf(stderr, "%s: only %d of %u workers became ready\n", t->prog, ready,
                    t->o->workers);
            return -1;
        }
        ready += (int)got;
    }
    return 0;
}

/* Until SIGTERM/SIGINT. -1 (printed) when a worker ended on its own first: the server is
 * broken. */
static int supervise(struct team *t)
{
    for (;;) {
        siginfo_t si;
        if (sigwaitinfo(&t->stop_set, &si) < 0)
            continue;
        if (si.si_signo != SIGCHLD)
            return 0;
        int status;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid <= 0)
            continue;
        for (int i = 0; i < (int)t->o->workers; i++)
            if (t->pids[i] == pid)
                t->pids[i] = -1;
        fprintf(stderr, "%s: worker %d ended on its own (%s %d); stopping the others\n", t->prog,
                (int)pid, WIFSIGNALED(status) ? "signal" : "exit code",
                WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
        return -1;
    }
}

/* Stops the workers, prints the sum of their counters; -1 when one did not exit 0 or did not
 * report. */
static int stop_and_sum(struct team *t, const char *impl)
{
    int failed = 0, complete = 0;
    signal_all(t->pids, (int)t->o->workers, SIGTERM);
    json_t *sum = merge_counters(t->ctr_pipe[0], impl, (int)t->o->workers, &complete);
    t->ctr_pipe[0] = -1;
    for (int i = 0; i < (int)t->o->workers; i++) {
        int status;
        if (t->pids[i] <= 0)
            continue;
        while (waitpid(t->pids[i], &status, 0) < 0 && errno == EINTR)
            ;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            failed = 1;
    }
    char *text = json_dumps(sum, JSON_COMPACT);
    if (text) {
        fprintf(stderr, "%s\n", text);
        free(text);
    }
    json_decref(sum);
    return failed || !complete ? -1 : 0;
}

static int run_workers(const struct server_opts *o, const char *prog, const char *impl,
                       int nonblock, worker_fn fn)
{
    struct team t = {.o = o, .prog = prog, .ready_pipe = {-1, -1}, .ctr_pipe = {-1, -1}};
    int reserve = -1, rc = 1;
    char err[512];
    t.pids = calloc((size_t)o->workers, sizeof(*t.pids));
    t.cpus = calloc((size_t)o->workers, sizeof(*t.cpus));
    if (!t.pids || !t.cpus) {
        fprintf(stderr, "%s: out of memory\n", prog);
        goto out;
    }
    for (int i = 0; i < (int)o->workers; i++)
        t.cpus[i] = -1;
    if (o->pin_workers && plan_pins(o, prog, t.cpus) < 0)
        goto out;
    /* Bound but not listening: it holds the port and gets no connections. */
    reserve = net_listen(o->host, o->port, -1, 0, 1, err, sizeof(err));
    if (reserve < 0) {
        fprintf(stderr, "%s: %s\n", prog, err);
        goto out;
    }
    announce_host = o->host;
    announce_port = net_local_port(reserve);
    if (pipe2(t.ready_pipe, O_CLOEXEC) < 0 || pipe2(t.ctr_pipe, O_CLOEXEC) < 0) {
        fprintf(stderr, "%s: pipe: %s\n", prog, strerror(errno));
        goto out;
    }
    sigemptyset(&t.stop_set);
    sigaddset(&t.stop_set, SIGTERM);
    sigaddset(&t.stop_set, SIGINT);
    sigaddset(&t.stop_set, SIGCHLD);
    sigprocmask(SIG_BLOCK, &t.stop_set, &t.old_set);
    fflush(NULL);
    int failed = fork_workers(&t, impl, nonblock, fn, announce_port, reserve);
    close(t.ready_pipe[1]);
    close(t.ctr_pipe[1]);
    t.ready_pipe[1] = t.ctr_pipe[1] = -1;
    if (!failed)
        failed = await_ready(&t);
    close(reserve);
    reserve = -1;
    if (!failed) {
        announce();
        failed = supervise(&t);
    }
    rc = stop_and_sum(&t, impl) < 0 || failed ? 1 : 0;
out:
    if (reserve >= 0)
        close(reserve);
    for (int i = 0; i < 2; i++) {
        if (t.ready_pipe[i] >= 0)
            close(t.ready_pipe[i]);
        if (t.ctr_pipe[i] >= 0)
            close(t.ctr_pipe[i]);
    }
    free(t.pids);
    free(t.cpus);
    return rc;
}

int workers_run(const struct server_opts *o, const char *prog, const char *impl, int nonblock,
                worker_fn fn)
{
    if (o->workers <= 1)
        return run_single(o, prog, impl, nonblock, fn);
    return run_workers(o, prog, impl, nonblock, fn);
}
