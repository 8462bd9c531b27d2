/* forkpipe: a child process started on pipes (forkpipe.h). */
#include "forkpipe.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

void forkpipe_close(int (*p)[2], int n)
{
    for (int i = 0; i < n; i++)
        for (int end = 0; end < 2; end++) {
            if (p[i][end] >= 0)
                close(p[i][end]);
            p[i][end] = -1;
        }
}

pid_t forkpipe_start(int (*p)[2], int n, char *err, size_t errlen)
{
    for (int i = 0; i < n; i++)
        p[i][0] = p[i][1] = -1;
    for (int i = 0; i < n; i++)
        if (pipe2(p[i], O_CLOEXEC) < 0) {
            snprintf(err, errlen, "pipe: %s", strerror(errno));
            forkpipe_close(p, n);
            return -1;
        }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(err, errlen, "fork: %s", strerror(errno));
        forkpipe_close(p, n);
        return -1;
    }
    if (pid == 0 && (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent))
        _exit(127);
    return pid;
}
