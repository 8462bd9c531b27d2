/* file_read.c: io=file in the async server, the three ways an event loop can read a file
 * (--file-io): `loop` preads in the loop itself, so every other task waits for the device
 * (what a naive event loop does: epoll cannot wait for a regular file); `pool` hands the
 * read to --file-threads threads (file_pool.c: libuv's and tokio::fs's way); `uring`
 * queues it on io_uring (file_uring.c), the one way that keeps the loop single-threaded.
 * The offset comes from this loop's PRNG by datafile.h's rule, the same in every mode. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "container.h"
#include "task.h"

int file_io_init(struct server *s, char *err, size_t errlen)
{
    switch (s->opts.file_io) {
    case FILE_IO_POOL: return file_pool_start(s, err, errlen);
    case FILE_IO_URING: return file_uring_start(s, err, errlen);
    default: return 0;
    }
}

void file_io_destroy(struct server *s)
{
    if (s->pool)
        file_pool_stop(s);
    if (s->uring)
        file_uring_stop(s);
}

/* Answers c's request by the outcome of its read of len bytes at off (res, err; or its
   failure to start): 200, or 500 naming the error. Returns as conn_answer. */
static int answer(struct server *s, struct conn *c, ssize_t res, int err, uint64_t off,
                  uint32_t len)
{
    char why[160];

    if (res == (ssize_t)len)
        return conn_answer(s, c);
    counters_add(s->ctr, CTR_FILE_ERRORS, 1);
    if (res < 0)
        snprintf(why, sizeof why, "reading %u KiB of the data file at offset %llu: %s", len / 1024,
                 (unsigned long long)off, strerror(err));
    else
        snprintf(why, sizeof why, "reading %u KiB of the data file at offset %llu: got %zd bytes",
                 len / 1024, (unsigned long long)off, res);
    return conn_answer_failed(s, c, 500, why);
}

/* Answers c's request once its read is over, after giving the job back. */
static int file_read_answer(struct server *s, struct conn *c)
{
    struct file_job *j = c->job;
    ssize_t res = j->res;
    int err = j->err;
    uint64_t off = j->off;
    uint32_t len = j->len;

    conn_job_close(s, c);
    return answer(s, c, res, err, off, len);
}

int file_read_start(struct server *s, struct conn *c)
{
    uint32_t len = c->req.work.file_kib * 1024;
    uint64_t off = datafile_offset(&s->rng, s->df->size, len);
    struct file_job *j = conn_job_open(s, c, len);

    if (!j)
        return answer(s, c, -1, ENOMEM, off, len);
    j->len = len;
    j->off = off;
    if (s->opts.file_io == FILE_IO_LOOP) {
        do
            j->res = pread(s->df->fd, j->buf, j->len, (off_t)j->off);
        while (j->res < 0 && errno == EINTR);
        j->err = j->res < 0 ? errno : 0;
        return file_read_answer(s, c);
    }
    if (conn_keep_input(c) < 0) { /* the pipelined requests behind it wait with it */
        conn_job_close(s, c);
        conn_out_of_memory(s, c);
        return -1;
    }
    c->state = CONN_WAITING;
    conn_watch(s, c, 0); /* as during a timer wait: the client is not read meanwhile */
    if (s->opts.file_io == FILE_IO_URING) {
        if (file_uring_submit(s, j) < 0) {
            j->res = -1;
            j->err = errno;
            return file_read_answer(s, c);
        }
    } else {
        file_pool_submit(s, j);
    }
    j->inflight = 1;
    return 0;
}

void file_read_done(struct server *s, struct file_job *job)
{
    struct conn *c = job->conn;

    job->inflight = 0;
    if (job->orphan) {
        conn_free(s, c);
        return;
    }
    if (file_read_answer(s, c) > 0)
        conn_process(s, c);
}
