/* file_read.c: io=file in the async server: a task's read of file_kib KiB of the data file,
 * handed to the loop's --file-io mode (file_io.h), and the answer it comes to. The offset
 * comes from this loop's PRNG by datafile.h's rule, the same in every mode. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "task.h"

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

/* file_done_fn: a queued read is over. A task closed meanwhile is freed now that nothing
   writes into its buffer any more; any other is answered and serves what follows. */
static void on_read_done(void *data, struct file_job *job)
{
    struct server *s = data;
    struct conn *c = job->conn;

    job->inflight = 0;
    if (job->orphan) {
        conn_free(s, c);
        return;
    }
    if (file_read_answer(s, c) > 0)
        conn_process(s, c);
}

int file_read_init(struct server *s, char *err, size_t errlen)
{
    return file_io_start(&s->reader, s->opts.file_io, s->loop, s->df->fd, s->opts.file_threads,
                         on_read_done, s, err, errlen);
}

void file_read_destroy(struct server *s)
{
    file_io_stop(&s->reader);
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
    if (file_io_submit(&s->reader, j) == FILE_READ_OVER)
        return file_read_answer(s, c);
    j->inflight = 1;
    if (conn_keep_input(c) < 0) { /* the pipelined requests behind it wait with it */
        conn_out_of_memory(s, c); /* the read is queued: the task stays, an orphan, till its end */
        return -1;
    }
    c->state = CONN_WAITING;
    conn_watch(s, c, 0); /* as during a timer wait: the client is not read meanwhile */
    return 0;
}
