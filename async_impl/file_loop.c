/* file_loop.c: --file-io loop: the loop preads the file itself, and every other task waits for
 * the device meanwhile. Nothing is ever queued, so done is never called. */
#include <errno.h>
#include <unistd.h>

#include "file_io.h"

static int loop_start(struct file_reader *r, char *err, size_t errlen)
{
    (void)r;
    (void)err;
    (void)errlen;
    return 0;
}

static int loop_submit(struct file_reader *r, struct file_job *job)
{
    do
        job->res = pread(r->fd, job->buf, job->len, (off_t)job->off);
    while (job->res < 0 && errno == EINTR);
    job->err = job->res < 0 ? errno : 0;
    return FILE_READ_OVER;
}

static void loop_stop(struct file_reader *r)
{
    (void)r;
}

const struct file_io_ops file_loop_ops = {
    .start = loop_start,
    .submit = loop_submit,
    .stop = loop_stop,
};
