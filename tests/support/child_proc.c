/* child_proc: run a program from a test and collect what it says. */
#include "child_proc.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "forkpipe.h"
#include "procfs.h"
#include "test_env.h"

#define GROUP_GRACE_MS 5000 /* from SIGTERM to SIGKILL for a group that outlived its time */

extern char **environ;

void child_start(struct child *c, const char *const *argv, const struct child_opts *o)
{
    static const struct child_opts none;
    int p[2] = {-1, -1};
    if (!o)
        o = &none;
    memset(c, 0, sizeof *c);
    c->fd = -1;
    c->group = o->group;
    /* the environment is built before fork: only async-signal-safe calls in the child */
    size_t n_env = 0, n_extra = 0;
    while (environ[n_env])
        n_env++;
    while (o->env && o->env[n_extra])
        n_extra++;
    char **envp = calloc(n_env + n_extra + 1, sizeof *envp);
    cr_assert_not_null(envp);
    size_t k = 0;
    for (size_t i = 0; i < n_extra; i++)
        envp[k++] = (char *)o->env[i];
    for (size_t i = 0; i < n_env; i++) {
        /* a variable set here replaces the inherited one (not every reader takes the first) */
        bool replaced = false;
        for (size_t j = 0; j < n_extra && !replaced; j++) {
            size_t len = strcspn(o->env[j], "=") + 1;
            replaced = strncmp(environ[i], o->env[j], len) == 0;
        }
        if (!replaced)
            envp[k++] = environ[i];
    }
    char why[200];
    c->start_ms = tenv_now_ms();
    /* the child dies with the test: an aborted test leaves nothing running */
    c->pid = forkpipe_start(&p, o->log ? 0 : 1, why, sizeof why);
    cr_assert(c->pid >= 0, "%s", why);
    if (c->pid == 0) {
        if (o->group)
            setpgid(0, 0);
        for (size_t i = 0; i < o->nlimits; i++) {
            struct rlimit rl = {o->limits[i].value, o->limits[i].value};
            if (setrlimit(o->limits[i].resource, &rl) < 0)
                _exit(126);
        }
        if (o->netns && unshare(CLONE_NEWNET) < 0)
            _exit(CHILD_NETNS_FAILED);
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0)
            dup2(devnull, 0);
        int out = o->log ? open(o->log, O_WRONLY | O_CREAT | O_TRUNC, 0644) : p[1];
        if (out >= 0) {
            dup2(out, 1);
            dup2(out, 2);
        }
        execvpe(argv[0], (char *const *)argv, envp);
        _exit(127);
    }
    if (o->group)
        setpgid(c->pid, c->pid); /* as the child does: whichever runs first */
    free(envp);
    if (!o->log) {
        close(p[1]);
        c->fd = p[0];
        fcntl(c->fd, F_SETFL, O_NONBLOCK);
    }
}

bool child_pump(struct child *c, int wait_ms)
{
    if (c->fd >= 0) {
        struct pollfd pfd = {c->fd, POLLIN, 0};
        poll(&pfd, 1, wait_ms);
        for (;;) {
            char scratch[4096];
            size_t room = sizeof c->out - 1 - c->len;
            /* once the buffer is full the rest is read and dropped, so the child never
               blocks on a full pipe */
            ssize_t n =
                room ? read(c->fd, c->out + c->len, room) : read(c->fd, scratch, sizeof scratch);
            if (n > 0 && room) {
                c->len += (size_t)n;
                c->out[c->len] = '\0';
            }
            if (n > 0)
                continue;
            if (n == 0) {
                close(c->fd);
                c->fd = -1;
            }
            break;
        }
    } else if (!c->done && wait_ms > 0) {
        usleep((useconds_t)wait_ms * 1000);
    }
    if (!c->done) {
        int status;
        if (waitpid(c->pid, &status, WNOHANG) == c->pid) {
            c->done = true;
            c->end_ms = tenv_now_ms();
            c->status = status;
            c->code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        }
    }
    return c->done;
}

/* Stops a child that outlived its time: SIGKILL, or for a group SIGTERM to all of it and
   SIGKILL to what is left after GROUP_GRACE_MS. */
static void stop(struct child *c)
{
    if (c->group) {
        kill(-c->pid, SIGTERM);
        double deadline = tenv_now_ms() + GROUP_GRACE_MS;
        while (waitpid(c->pid, &c->status, WNOHANG) == 0 && tenv_now_ms() < deadline)
            tenv_sleep_ms(20);
        kill(-c->pid, SIGKILL);
    } else {
        kill(c->pid, SIGKILL);
    }
    waitpid(c->pid, &c->status, 0);
}

int child_wait(struct child *c, int timeout_ms)
{
    double deadline = tenv_now_ms() + timeout_ms;
    while (!child_pump(c, 20)) {
        if (tenv_now_ms() > deadline) {
            stop(c);
            c->done = true;
            c->end_ms = tenv_now_ms();
            c->code = -1;
            break;
        }
    }
    /* a grandchild may hold the pipe: take what is there, without waiting for EOF */
    if (c->fd >= 0) {
        child_pump(c, 0);
        if (c->fd >= 0)
            close(c->fd);
        c->fd = -1;
    }
    return c->code;
}

int child_run(struct child *c, const char *const *argv, const struct child_opts *o, int timeout_ms)
{
    child_start(c, argv, o);
    return child_wait(c, timeout_ms);
}

pid_t child_find(pid_t parent, const char *comm)
{
    DIR *d = opendir("/proc");
    pid_t pid, found = -1;
    cr_assert_not_null(d);
    while (found < 0 && (pid = child_proc_next(d)) > 0) {
        char buf[512];
        if (child_proc_read(pid, "stat", buf, sizeof buf) < 0)
            continue;
        /* "PID (COMM) S PPID ...": comm may hold spaces, so go by the last ')' */
        char *open = strchr(buf, '('), *close = strrchr(buf, ')');
        int ppid;
        if (!open || !close || sscanf(close + 1, " %*c %d", &ppid) != 1)
            continue;
        *close = '\0';
        if (ppid == parent && strcmp(open + 1, comm) == 0)
            found = pid;
    }
    closedir(d);
    return found;
}

pid_t child_proc_next(DIR *d)
{
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        pid_t pid = (pid_t)atoi(e->d_name);
        if (pid > 0)
            return pid;
    }
    return 0;
}

ssize_t child_proc_read(pid_t pid, const char *file, char *buf, size_t size)
{
    char path[128];
    snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, file);
    ssize_t n = procfs_slurp(path, buf, size);
    if (n < 0 && size > 0)
        buf[0] = '\0';
    return n;
}
