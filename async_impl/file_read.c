/* file_read.c: io=file in the async server: a task's read of file_kib KiB of the data file,
 * handed to the loop's --file-io mode (file_io.h), and the answer's status it comes to. The
 * offset comes from this loop's PRNG by datafile.h's rule, the same in every mode. */
#include <errno.h>

#include "task.h"

/* The status of a read of len bytes at off that ended with res (err): 200, or 500 with why
   naming the error (counted). */
static int read_status(struct server *s, ssize_t res, int err, uint64_t off, uint32_t len,
                       char *why, size_t whylen)
{
    if (datafile_read_check(res, err, off, len, why, whylen) == 0)
        return 200;
    counters_add(s->ctr, CTR_FILE_ERRORS, 1);
    return 500;
}

/* c's read is over: its job goes back, its status (as read_status) comes out. */
static int read_over(struct server *s, struct conn *c, char *why, size_t whylen)
{
    struct file_job *j = c->job;
    ssize_t res = j->res;
    int err = j->err;
    uint64_t off = j->off;
    uint32_t len = j->len;

    conn_job_close(s, c);
    return read_status(s, res, err, off, len, why, whylen);
}

/* file_done_fn: a queued read is over. A task closed meanwhile is freed now that nothing
   writes into its buffer any more; any other is handed back to be answered. */
static void on_read_done(void *data, struct file_job *job)
{
    struct server *s = data;
    struct conn *c = job->conn;
    char why[160];

    job->inflight = 0;
    if (job->orphan) {
        conn_free(s, c);
        return;
    }
    int status = read_over(s, c, why, sizeof why);
    s->on_wait_end(s, c, status, why);
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

int file_read_start(struct server *s, struct conn *c, char *why, size_t whylen)
{
    uint32_t len = c->req.work.file_kib * 1024;
    uint64_t off = datafile_offset(&s->rng, s->df->size, len);
    struct file_job *j = conn_job_open(s, c, len);

    if (!j)
        return read_status(s, -1, ENOMEM, off, len, why, whylen);
    j->len = len;
    j->off = off;
    if (file_io_submit(&s->reader, j) == FILE_READ_QUEUED) {
        j->inflight = 1;
        return 0;
    }
    return read_over(s, c, why, whylen);
}
