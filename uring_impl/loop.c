/* loop.c: what the io_uring server's loop does for its tasks and its accept: submission slots
 * (submitting early only when a pass fills the ring), cancellations, and the connections
 * parked above a lowered fd limit until a task frees an fd under it. */
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "counters.h"
#include "loop.h"

/* Submits early until the submission ring has n free slots: only when a pass queues more
 * than the ring holds. Every slot handed out before is fully prepared by then. */
static void loop_make_room(struct server *s, unsigned n)
{
    for (int tries = 0; io_uring_sq_space_left(&s->ring) < n; tries++) {
        int rc = io_uring_submit(&s->ring);
        if (rc < 0 && tries > 1000) {
            fprintf(stderr, "uring_server: io_uring_submit: %s\n", strerror(-rc));
            exit(1);
        }
        if (rc < 0)
            sched_yield();
    }
}

struct io_uring_sqe *loop_sqe(struct server *s)
{
    loop_make_room(s, 1);
    return io_uring_get_sqe(&s->ring);
}

void loop_sqe_pair(struct server *s, struct io_uring_sqe **a, struct io_uring_sqe **b)
{
    loop_make_room(s, 2);
    *a = io_uring_get_sqe(&s->ring);
    *b = io_uring_get_sqe(&s->ring);
}

void loop_cancel(struct server *s, uint64_t tag)
{
    struct io_uring_sqe *sqe = loop_sqe(s);

    io_uring_prep_cancel64(sqe, tag, 0);
    io_uring_sqe_set_data64(sqe, op_tag(NULL, OP_NONE));
}

/* ---- connections parked above a lowered fd limit -------------------------------------- */

rlim_t loop_nofile_limit(struct server *s)
{
    struct rlimit rl;

    if (s->nofile_pass != s->pass || s->nofile == 0) {
        s->nofile = getrlimit(RLIMIT_NOFILE, &rl) == 0 ? rl.rlim_cur : RLIM_INFINITY;
        s->nofile_pass = s->pass;
    }
    return s->nofile;
}

void loop_park(struct server *s, int fd)
{
    if (s->nparked == s->parked_cap) {
        size_t cap = s->parked_cap ? 2 * s->parked_cap : 16;
        int *grown = realloc(s->parked, cap * sizeof(*grown));
        if (!grown) {
            counters_add(s->ctr, CTR_OOM, 1);
            counters_add(s->ctr, CTR_CLOSED, 1);
            close(fd);
            return;
        }
        s->parked = grown;
        s->parked_cap = cap;
    }
    s->parked[s->nparked++] = fd;
}

int loop_fd_freed(struct server *s, int fd)
{
    if (s->stop || s->nparked == 0)
        return -1;
    s->nofile_pass = 0; /* read the limit afresh */
    if ((rlim_t)fd >= loop_nofile_limit(s))
        return -1;
    int parked = s->parked[0];
    memmove(s->parked, s->parked + 1, --s->nparked * sizeof(*s->parked));
    if (dup3(parked, fd, O_CLOEXEC) == fd) {
        close(parked);
        parked = fd;
    }
    return parked;
}

void loop_close_parked(struct server *s)
{
    for (size_t i = 0; i < s->nparked; i++) {
        close(s->parked[i]);
        counters_add(s->ctr, CTR_CLOSED, 1);
    }
    free(s->parked);
    s->parked = NULL;
    s->nparked = s->parked_cap = 0;
}
