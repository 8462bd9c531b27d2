/* file_uring.c: --file-io uring: the loop's file reads go to io_uring, so the kernel does
 * them while the loop goes on, with no thread of ours. Reads queued while the loop runs
 * its callbacks are submitted together just before it sleeps (an ev_prepare); the ring's
 * completion eventfd (io_uring_register_eventfd), watched by an ev_io, wakes the loop, which
 * then reaps every completion there is. */
#include <errno.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "container.h"
#include "file_io.h"

/* The submission queue bounds one batch; the completion queue must hold every read in
   flight at once, at most one per connection, and a process has at most 20000 fds here
   (RLIMIT_NOFILE): 32768 completions (512 KiB of ring) never overflow. */
#define URING_SQ_ENTRIES 4096
#define URING_CQ_ENTRIES 32768

struct file_uring {
    struct io_uring ring;
    int efd; /* eventfd the kernel signals on every completion */
    ev_io efd_w;
    ev_prepare submit_w;
    unsigned queued;   /* SQEs not yet submitted */
    unsigned inflight; /* submitted or queued, not yet reaped */
    struct file_reader *r;
};

/* Reaps every completion the ring holds. */
static void reap(struct file_uring *u)
{
    struct io_uring_cqe *cqe;

    while (io_uring_peek_cqe(&u->ring, &cqe) == 0) {
        struct file_job *j = io_uring_cqe_get_data(cqe);
        j->res = cqe->res < 0 ? -1 : cqe->res;
        j->err = cqe->res < 0 ? -cqe->res : 0;
        io_uring_cqe_seen(&u->ring, cqe);
        u->inflight--;
        u->r->done(u->r->data, j); /* may queue the next read */
    }
}

static void on_completions(struct ev_loop *loop, ev_io *w, int revents)
{
    struct file_uring *u = container_of(w, struct file_uring, efd_w);
    uint64_t n;

    (void)loop;
    (void)revents;
    /* Reset the count first: a completion posted after the reap below wakes us again. */
    if (read(u->efd, &n, sizeof n) < 0 && errno != EAGAIN)
        return;
    reap(u);
}

static void submit(struct file_uring *u)
{
    while (u->queued) {
        int n = io_uring_submit(&u->ring);
        if (n == -EINTR)
            continue;
        if (n < 0) /* EAGAIN/EBUSY: kernel short of resources; retried before the next sleep */
            return;
        u->queued -= (unsigned)n < u->queued ? (unsigned)n : u->queued;
        if (n == 0)
            return;
    }
}

static void on_prepare(struct ev_loop *loop, ev_prepare *w, int revents)
{
    (void)loop;
    (void)revents;
    submit(container_of(w, struct file_uring, submit_w));
}

/* Queued, to be submitted before the loop next sleeps; over at once (EBUSY) when the ring is
   full. */
static int uring_submit(struct file_reader *r, struct file_job *job)
{
    struct file_uring *u = r->state;
    struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);

    if (!sqe) { /* this batch filled the queue: send it now */
        submit(u);
        sqe = io_uring_get_sqe(&u->ring);
    }
    if (!sqe || u->inflight >= URING_CQ_ENTRIES) {
        job->res = -1;
        job->err = EBUSY;
        return FILE_READ_OVER;
    }
    io_uring_prep_read(sqe, r->fd, job->buf, job->len, job->off);
    io_uring_sqe_set_data(sqe, job);
    u->queued++;
    u->inflight++;
    return FILE_READ_QUEUED;
}

static int uring_start(struct file_reader *r, char *err, size_t errlen)
{
    struct file_uring *u = calloc(1, sizeof *u);
    struct io_uring_params params = {.flags = IORING_SETUP_CQSIZE, .cq_entries = URING_CQ_ENTRIES};
    int rc;

    if (!u) {
        snprintf(err, errlen, "out of memory for io_uring");
        return -1;
    }
    u->r = r;
    rc = io_uring_queue_init_params(URING_SQ_ENTRIES, &u->ring, &params);
    if (rc < 0) {
        snprintf(err, errlen,
                 "io_uring_queue_init: %s (io_uring disabled? see sysctl kernel.io_uring_disabled; "
                 "or use --file-io pool)",
                 strerror(-rc));
        free(u);
        return -1;
    }
    u->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (u->efd < 0 || (rc = io_uring_register_eventfd(&u->ring, u->efd)) < 0) {
        snprintf(err, errlen, "io_uring completion eventfd: %s",
                 strerror(u->efd < 0 ? errno : -rc));
        if (u->efd >= 0)
            close(u->efd);
        io_uring_queue_exit(&u->ring);
        free(u);
        return -1;
    }
    ev_io_init(&u->efd_w, on_completions, u->efd, EV_READ);
    ev_io_start(r->loop, &u->efd_w);
    ev_prepare_init(&u->submit_w, on_prepare);
    ev_prepare_start(r->loop, &u->submit_w);
    r->state = u;
    return 0;
}

static void uring_stop(struct file_reader *r)
{
    struct file_uring *u = r->state;
    struct io_uring_cqe *cqe;

    /* Wait for every read (a device read cannot be taken back) and hand it back. */
    submit(u);
    while (u->inflight > 0 && io_uring_wait_cqe(&u->ring, &cqe) == 0)
        reap(u);
    ev_io_stop(r->loop, &u->efd_w);
    ev_prepare_stop(r->loop, &u->submit_w);
    io_uring_unregister_eventfd(&u->ring);
    io_uring_queue_exit(&u->ring);
    close(u->efd);
    free(u);
    r->state = NULL;
}

const struct file_io_ops file_uring_ops = {
    .start = uring_start,
    .submit = uring_submit,
    .stop = uring_stop,
};
