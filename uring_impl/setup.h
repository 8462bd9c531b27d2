/* setup.h: creating the server's ring, and checking at start that io_uring can serve. */
#ifndef TVT_SETUP_H
#define TVT_SETUP_H

#include <liburing.h>
#include <stddef.h>

/* Exit code of a server that io_uring refuses (2 is a bad flag): the sweep records the
 * series as skipped, with the message, instead of failed. */
#define URING_EXIT_UNAVAILABLE 3

/* Buffer group id of the provided-buffer ring. */
#define URING_BUF_GROUP 1

/* Creates ring with sq_entries submission and cq_entries completion slots, with the
 * cheapest completion model this kernel takes: task work deferred to the one thread that
 * waits (DEFER_TASKRUN, 6.1), else cooperative task work, else the default.
 * 0 ok, -errno as io_uring_setup gave it. */
int uring_setup(struct io_uring *ring, unsigned sq_entries, unsigned cq_entries);

/* Checks everything the server relies on, on a throwaway ring: that io_uring_setup works
 * (and why not: ENOSYS, kernel.io_uring_disabled, a seccomp filter), the features and
 * opcodes it uses, and, by trying them on a socket pair, multishot accept, multishot recv
 * and (need_buf_ring) a provided-buffer ring. 0 ok; -1 with the cause and its fix in err. */
int uring_check(int need_buf_ring, char *err, size_t errlen);

#endif
