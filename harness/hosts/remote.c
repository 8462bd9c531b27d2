/* remote: a program of the run on a host, through the host's command, over stdin and stdout. */
#include "hosts/remote.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "forkpipe.h"

#define ARGV_MAX 96

const char *remote_self(void)
{
    static char self[PATH_MAX];
    if (!self[0]) {
        ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
        self[n > 0 ? n : 0] = '\0';
    }
    return self;
}

const char *remote_control_dir(void)
{
    static char dir[64];
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/tvt-ssh-%d", (int)getpid());
        mkdir(dir, 0700);
    }
    return dir;
}

/* One word quoted for a POSIX shell ('it'\''s'), appended at *off. -1 when it does not fit. */
static int quote_into(char *buf, size_t cap, size_t *off, const char *word)
{
    if (*off + 3 >= cap)
        return -1;
    buf[(*off)++] = ' ';
    buf[(*off)++] = '\'';
    for (const char *p = word; *p; p++) {
        const char *piece = *p == '\'' ? "'\\''" : NULL;
        size_t len = piece ? strlen(piece) : 1;
        if (*off + len + 2 >= cap)
            return -1;
        if (piece)
            memcpy(buf + *off, piece, len);
        else
            buf[*off] = *p;
        *off += len;
    }
    buf[(*off)++] = '\'';
    buf[*off] = '\0';
    return 0;
}

/* The whole command line on the local side: the host's words, for ssh its multiplexing options
 * and the program as one quoted remote command, else the program's words as they are. */
static int build_argv(const struct host *h, char *const prog[], const char **argv, char *line,
                      size_t cap, char *opts, size_t optcap)
{
    int n = 0;
    for (int i = 0; i < h->ncmd && n < ARGV_MAX - 12; i++) {
        argv[n++] = h->cmd[i];
        if (i == 0 && h->ssh) {
            snprintf(opts, optcap, "ControlPath=%s/%%C", remote_control_dir());
            argv[n++] = "-o";
            argv[n++] = "ControlMaster=auto";
            argv[n++] = "-o";
            argv[n++] = "ControlPersist=120";
            argv[n++] = "-o";
            argv[n++] = opts;
            /* a host that stops answering ends its session within 6 s: the run says so */
            argv[n++] = "-o";
            argv[n++] = "ServerAliveInterval=2";
            argv[n++] = "-o";
            argv[n++] = "ServerAliveCountMax=3";
        }
    }
    if (h->ssh) {
        size_t off = 0;
        snprintf(line, cap, "exec");
        off = strlen(line);
        for (int i = 0; prog[i]; i++)
            if (quote_into(line, cap, &off, prog[i]) < 0)
                return -1;
        argv[n++] = line;
    } else {
        for (int i = 0; prog[i] && n < ARGV_MAX - 1; i++)
            argv[n++] = prog[i];
    }
    argv[n] = NULL;
    return n;
}

int remote_start(const struct host *h, char *const argv[], struct rproc *p, char *err,
                 size_t errlen)
{
    static char line[8192], opts[256];
    const char *full[ARGV_MAX];
    int pipes[3][2], *in = pipes[0], *out = pipes[1], *er = pipes[2];
    memset(p, 0, sizeof *p);
    p->host = h;
    p->pid = -1;
    p->to_fd = p->from_fd = p->err_fd = -1;
    if (build_argv(h, argv, full, line, sizeof line, opts, sizeof opts) < 0) {
        snprintf(err, errlen, "host %s: the command line is too long", h->name);
        return -1;
    }
    p->pid = forkpipe_start(pipes, 3, err, errlen);
    if (p->pid < 0)
        return -1;
    if (p->pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        dup2(er[1], 2);
        signal(SIGPIPE, SIG_DFL);
        execvp(full[0], (char *const *)full);
        fprintf(stderr, "cannot run %s: %s\n", full[0], strerror(errno));
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    close(er[1]);
    p->to_fd = in[1];
    p->from_fd = out[0];
    p->err_fd = er[0];
    fcntl(p->from_fd, F_SETFL, O_NONBLOCK);
    fcntl(p->err_fd, F_SETFL, O_NONBLOCK);
    return 0;
}

void remote_drain_err(struct rproc *p)
{
    char tmp[1024];
    ssize_t n;
    while (p->err_fd >= 0 && (n = read(p->err_fd, tmp, sizeof tmp)) > 0) {
        if (p->err_len + (size_t)n >= sizeof p->err) { /* keep the newest half */
            size_t drop = p->err_len / 2 > (size_t)n ? p->err_len / 2 : p->err_len;
            memmove(p->err, p->err + drop, p->err_len - drop);
            p->err_len -= drop;
        }
        memcpy(p->err + p->err_len, tmp, (size_t)n);
        p->err_len += (size_t)n;
        p->err[p->err_len] = '\0';
    }
}

int remote_end(struct rproc *p, int wait_ms)
{
    int status = -1;
    if (p->to_fd >= 0)
        close(p->to_fd);
    p->to_fd = -1;
    if (p->pid > 0) {
        uint64_t deadline = clock_now_ms() + (uint64_t)wait_ms;
        pid_t r;
        while ((r = waitpid(p->pid, &status, WNOHANG)) == 0 && clock_now_ms() < deadline) {
            remote_drain_err(p);
            clock_sleep_until_ns(clock_now_ns() + 5000000ULL);
        }
        if (r == 0) {
            kill(p->pid, SIGKILL);
            waitpid(p->pid, NULL, 0);
            status = -1;
        }
        p->pid = -1;
    }
    remote_drain_err(p);
    if (p->from_fd >= 0)
        close(p->from_fd);
    if (p->err_fd >= 0)
        close(p->err_fd);
    p->from_fd = p->err_fd = -1;
    return status;
}

void remote_close_masters(const struct hosts *hs)
{
    char opts[256];
    snprintf(opts, sizeof opts, "ControlPath=%s/%%C", remote_control_dir());
    for (int i = 0; i < hs->n; i++) {
        const struct host *h = &hs->h[i];
        if (!h->ssh)
            continue;
        const char *argv[ARGV_MAX];
        int n = 0;
        for (int k = 0; k < h->ncmd && n < ARGV_MAX - 6; k++) {
            argv[n++] = h->cmd[k];
            if (k == 0) {
                argv[n++] = "-o";
                argv[n++] = opts;
                argv[n++] = "-O";
                argv[n++] = "exit";
            }
        }
        argv[n] = NULL;
        pid_t pid = fork();
        if (pid == 0) {
            int null = open("/dev/null", O_RDWR);
            dup2(null, 0);
            dup2(null, 1);
            dup2(null, 2);
            execvp(argv[0], (char *const *)argv);
            _exit(127);
        }
        if (pid > 0)
            waitpid(pid, NULL, 0);
    }
    rmdir(remote_control_dir());
}
