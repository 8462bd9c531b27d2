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
    free(s->file_buf);
    s->file_buf = NULL;
    s->file_cap = 0;
}

/* Makes the job's buffer hold len bytes. conn: the task's, allocated at its first read,
   regrown only for a larger one. lean: a read in the loop borrows the loop's (grown to the
   largest read); a read in flight meanwhile gets one of its own. 0 ok, -1 out of memory. */
static int job_buffer(struct server *s, struct file_job *j, size_t len)
{
    if (s->lean && s->opts.file_io == FILE_IO_LOOP) {
        if (s->file_cap < len) {
            free(s->file_buf);
            s->file_buf = datafile_buffer(len);
            s->file_cap = s->file_buf ? len : 0;
        }
        j->buf = s->file_buf;
        j->cap = s->file_cap;
        return j->buf ? 0 : -1;
    }
    if (j->cap >= len)
        return 0;
    free(j->buf);
    j->buf = datafile_buffer(len);
    j->cap = j->buf ? len : 0;
    return j->buf ? 0 : -1;
}

int file_read_start(struct server *s, struct conn *c)
{
    struct file_job *j = &c->job;

    j->len = c->req.work.file_kib * 1024;
    if (job_buffer(s, j, j->len) < 0) {
        j->res = -1;
        j->err = ENOMEM;
        return 1;
    }
    j->off = datafile_offset(&s->rng, s->df->size, j->len);
    if (s->opts.file_io == FILE_IO_LOOP) {
        do
            j->res = pread(s->df->fd, j->buf, j->len, (off_t)j->off);
        while (j->res < 0 && errno == EINTR);
        j->err = j->res < 0 ? errno : 0;
        return 1;
    }
    c->state = CONN_WAITING;
    conn_watch(s, c, 0); /* as during a timer wait: the client is not read meanwhile */
    if (s->opts.file_io == FILE_IO_URING) {
        if (file_uring_submit(s, j) < 0) {
            j->res = -1;
            j->err = errno;
            return 1;
        }
    } else {
        file_pool_submit(s, j);
    }
    j->inflight = 1;
    return 0;
}

/* The read is over and its data never leaves the server: lean gives the buffer back. */
static void job_buffer_done(struct server *s, struct file_job *j)
{
    if (!s->lean)
        return;
    if (j->buf != s->file_buf)
        free(j->buf);
    j->buf = NULL;
    j->cap = 0;
}

int file_read_answer(struct server *s, struct conn *c)
{
    struct file_job *j = &c->job;
    char why[160];

    job_buffer_done(s, j);
    if (j->res == (ssize_t)j->len)
        return conn_answer(s, c);
    counters_add(s->ctr, CTR_FILE_ERRORS, 1);
    if (j->res < 0)
        snprintf(why, sizeof why, "reading %u KiB of the data file at offset %llu: %s",
                 j->len / 1024, (unsigned long long)j->off, strerror(j->err));
    else
        snprintf(why, sizeof why, "reading %u KiB of the data file at offset %llu: got %zd bytes",
                 j->len / 1024, (unsigned long long)j->off, j->res);
    return conn_answer_failed(s, c, 500, why);
}

void file_read_done(struct server *s, struct file_job *job)
{
    struct conn *c = container_of(job, struct conn, job);

    job->inflight = 0;
    if (job->orphan) {
        conn_free(c);
        return;
    }
    if (file_read_answer(s, c) > 0)
        conn_process(s, c);
}
