/* forkpipe: a child process started on pipes, as the harness starts a server, a host's command
 * and its generator processes, and the tests start a server: every pipe or none, then a fork
 * whose child dies with its parent. */
#ifndef TVT_FORKPIPE_H
#define TVT_FORKPIPE_H

#include <stddef.h>
#include <sys/types.h>

/* Opens n pipes (close-on-exec; p[i][0] reads, p[i][1] writes) and forks. In the parent: the
 * child's pid, every pipe still open (close the ends the parent does not keep). In the child:
 * 0, once it is bound to die with its parent (PR_SET_PDEATHSIG SIGKILL; it exits 127 when the
 * parent died before that took hold). -1: nothing forked, every pipe closed and set to -1,
 * the cause in err ("pipe: ..." or "fork: ..."). */
pid_t forkpipe_start(int (*p)[2], int n, char *err, size_t errlen);

/* Closes every end of n pipes still open (>= 0) and sets it to -1. */
void forkpipe_close(int (*p)[2], int n);

#endif
