/* spawn: the server under test as a child process: start, pin, ready line, stop, rusage. */
#include "run/spawn.h"
#include "clock.h"
#include "fdio.h"
#include "forkpipe.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

const char *spawn_describe(int status, char *buf, size_t len)
{
    if (WIFEXITED(status))
        snprintf(buf, len, "exited with status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(buf, len, "was killed by signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    else
        snprintf(buf, len, "ended with wait status %d", status);
    return buf;
}

/* In the child, between fork and exec: only async-signal-safe calls. */
static void child(int outw, int errw, int execw, char *const argv[], const char *shell_cmd,
                  const cpu_set_t *cpus)
{
    setpgid(0, 0); /* a terminal's ^C reaches the harness, which stops the server itself */
    if (cpus)
        sched_setaffinity(0, sizeof *cpus, cpus);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL); /* ignored dispositions would survive exec */
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0)
        dup2(devnull, 0);
    dup2(outw, 1);
    dup2(errw, 2);
    if (shell_cmd) {
        /* "exec" makes the measured PID the server's, not a shell's */
        static const char pre[] = "exec ";
        size_t n = strlen(shell_cmd);
        char *cmd = malloc(sizeof pre + n); /* safe here: the harness forks before its threads */
        if (cmd) {
            memcpy(cmd, pre, sizeof pre - 1);
            memcpy(cmd + sizeof pre - 1, shell_cmd, n + 1);
            execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        }
    } else {
        execv(argv[0], argv);
    }
    int e = errno;
    (void)!write(execw, &e, sizeof e);
    _exit(127);
}

int spawn_start(struct spawn *s, char *const argv[], const char *shell_cmd, const cpu_set_t *cpus,
                char *err, size_t errlen)
{
    int pipes[3][2], *outp = pipes[0], *errp = pipes[1], *execp = pipes[2];
    memset(s, 0, sizeof *s);
    s->pid = -1;
    s->out_fd = s->err_fd = -1;
    s->pid = forkpipe_start(pipes, 3, err, errlen);
    if (s->pid < 0)
        return -1;
    if (s->pid == 0)
        child(outp[1], errp[1], execp[1], argv, shell_cmd, cpus);
    close(outp[1]);
    close(errp[1]);
    close(execp[1]);
    outp[1] = errp[1] = execp[1] = -1;
    s->out_fd = outp[0];
    s->err_fd = errp[0];
    fcntl(s->out_fd, F_SETFL, O_NONBLOCK);
    fcntl(s->err_fd, F_SETFL, O_NONBLOCK);
    /* the exec pipe closes on a successful exec, or carries its errno */
    int e = 0;
    ssize_t n;
    do
        n = read(execp[0], &e, sizeof e);
    while (n < 0 && errno == EINTR);
    close(execp[0]);
    if (n == (ssize_t)sizeof e) {
        snprintf(err, errlen, "cannot run %s: %s", shell_cmd ? "/bin/sh" : argv[0], strerror(e));
        spawn_cleanup(s);
        return -1;
    }
    return 0;
}

/* Appends what fd has; when the buffer is full the oldest half goes, so the end (where the
 * servers print their counters) is kept. */
static void drain_one(int *fd, char *buf, size_t *len)
{
    char tmp[8192];
    _Static_assert(sizeof tmp < SPAWN_KEEP / 2, "a read must fit after dropping half");
    for (;;) {
        ssize_t n = read(*fd, tmp, sizeof tmp);
        if (n < 0 && errno == EINTR)
            continue;
        if (n == 0) {
            close(*fd); /* the server closed it: poll would report POLLHUP forever */
            *fd = -1;
        }
        if (n <= 0)
            return;
        size_t k = (size_t)n;
        if (*len + k > SPAWN_KEEP - 1) {
            size_t drop = *len / 2 > k ? *len / 2 : k; /* k < SPAWN_KEEP / 2 <= len here */
            memmove(buf, buf + drop, *len - drop);
            *len -= drop;
        }
        memcpy(buf + *len, tmp, k);
        *len += k;
        buf[*len] = '\0';
    }
}

void spawn_drain(struct spawn *s)
{
    if (s->out_fd >= 0)
        drain_one(&s->out_fd, s->out, &s->out_len);
    if (s->err_fd >= 0)
        drain_one(&s->err_fd, s->err, &s->err_len);
}

bool spawn_poll_exit(struct spawn *s)
{
    if (s->exited || s->pid <= 0)
        return s->exited;
    siginfo_t si;
    memset(&si, 0, sizeof si);
    /* look without reaping: the zombie keeps its process group id reserved while we kill
       whatever the server left in it */
    if (waitid(P_PID, (id_t)s->pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0 || si.si_pid == 0)
        return false;
    kill(-s->pid, SIGKILL);
    if (wait4(s->pid, &s->status, 0, &s->ru) == s->pid) {
        s->exited = true;
        spawn_drain(s);
    }
    return s->exited;
}

/* Finds "listening on HOST:PORT\n" in what the server printed. */
static bool parse_listening(struct spawn *s)
{
    const char *p = strstr(s->out, "listening on ");
    if (!p)
        return false;
    p += strlen("listening on ");
    const char *nl = strchr(p, '\n');
    const char *colon = NULL;
    if (!nl)
        return false;
    for (const char *q = p; q < nl; q++)
        if (*q == ':')
            colon = q;
    if (!colon || (size_t)(colon - p) >= sizeof s->host)
        return false;
    memcpy(s->host, p, (size_t)(colon - p));
    s->host[colon - p] = '\0';
    s->port = atoi(colon + 1);
    return s->port > 0 && s->port < 65536;
}

static bool probe_accepts(const struct sockaddr *sa, socklen_t len)
{
    int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    /* a loopback connect completes or is refused at once, no need for non-blocking */
    bool ok = connect(fd, sa, len) == 0;
    close(fd);
    return ok;
}

int spawn_wait_ready(struct spawn *s, int timeout_ms, const struct sockaddr *probe,
                     socklen_t probelen, char *err, size_t errlen)
{
    uint64_t deadline = clock_now_ms() + (uint64_t)timeout_ms;
    char why[128], line[256];
    for (;;) {
        spawn_drain(s);
        if (parse_listening(s))
            return 0;
        if (probe && probe_accepts(probe, probelen))
            return 0;
        if (spawn_poll_exit(s)) {
            fdio_last_line(s->err, line, sizeof line);
            snprintf(err, errlen, "the server %s before it was ready%s%s",
                     spawn_describe(s->status, why, sizeof why), line[0] ? "; its stderr: " : "",
                     line);
            return -1;
        }
        if (clock_now_ms() >= deadline) {
            snprintf(err, errlen,
                     "the server did not %s within %d ms (--ready-timeout-ms; a --server-cmd "
                     "that prints no `listening on HOST:PORT` needs --target)",
                     probe ? "accept connections" : "print `listening on HOST:PORT`", timeout_ms);
            return -1;
        }
        struct pollfd pfd[2] = {{s->out_fd, POLLIN, 0}, {s->err_fd, POLLIN, 0}};
        poll(pfd, 2, 20);
    }
}

int spawn_stop(struct spawn *s, int sig, int timeout_ms)
{
    if (s->pid <= 0)
        return -1;
    if (spawn_poll_exit(s))
        return 0;
    kill(s->pid, sig);
    uint64_t deadline = clock_now_ms() + (uint64_t)timeout_ms;
    while (!spawn_poll_exit(s)) {
        if (clock_now_ms() >= deadline) {
            s->killed = true;
            kill(-s->pid, SIGKILL);
            kill(s->pid, SIGKILL);
            if (wait4(s->pid, &s->status, 0, &s->ru) != s->pid)
                return -1;
            s->exited = true;
            spawn_drain(s);
            return 0;
        }
        struct pollfd pfd[2] = {{s->out_fd, POLLIN, 0}, {s->err_fd, POLLIN, 0}};
        if (poll(pfd, 2, 10) > 0)
            spawn_drain(s);
    }
    return 0;
}

void spawn_cleanup(struct spawn *s)
{
    if (s->pid > 0 && !s->exited) {
        kill(-s->pid, SIGKILL);
        kill(s->pid, SIGKILL);
        if (waitpid(s->pid, &s->status, 0) == s->pid)
            s->exited = true;
    }
    if (s->out_fd >= 0)
        close(s->out_fd);
    if (s->err_fd >= 0)
        close(s->err_fd);
    s->out_fd = s->err_fd = -1;
}
