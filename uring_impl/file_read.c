/* file_read.c: io=file in the io_uring server: the read of file_kib KiB at a random aligned
 * offset of the O_DIRECT data file is one IORING_OP_READ, so the kernel waits for the device
 * while the loop goes on, with no thread of ours. The offset comes from this loop's PRNG by
 * datafile.h's rule, as in every other server. A read cannot be taken back once issued: a
 * task closed meanwhile waits for its completion before it is freed. */
#include <errno.h>

#include "task.h"

static void file_answer(struct server *s, struct conn *c, int res)
{
    struct req_block *b = c->blk;
    char why[160];

    ssize_t n = res < 0 ? -1 : res; /* a completion's res: bytes, or -errno */
    if (datafile_read_check(n, -res, b->file.off, b->file.len, why, sizeof why) == 0) {
        conn_answer(s, c);
        return;
    }
    counters_add(s->ctr, CTR_FILE_ERRORS, 1);
    conn_answer_failed(s, c, 500, why);
}

void file_start(struct server *s, struct conn *c)
{
    struct req_block *b = c->blk;

    b->file.len = b->req.work.file_kib * 1024;
    b->file.off = datafile_offset(&s->rng, s->df->size, b->file.len);
    b->file.buf = file_bufs_get(&s->files, b->file.len);
    if (!b->file.buf) {
        file_answer(s, c, -ENOMEM);
        return;
    }
    struct io_uring_sqe *sqe = loop_sqe(s);
    io_uring_prep_read(sqe, s->df->fd, b->file.buf, b->file.len, b->file.off);
    io_uring_sqe_set_data64(sqe, op_tag(c, OP_FILE));
    c->armed |= BIT(OP_FILE);
}

void file_complete(struct server *s, struct conn *c, const struct io_uring_cqe *cqe)
{
    struct req_block *b = c->blk;

    c->armed &= (uint16_t)~BIT(OP_FILE);
    /* The data is not sent (the body is the shared static one): the buffer goes back now. */
    file_bufs_put(&s->files, b->file.buf, b->file.len);
    b->file.buf = NULL;
    if (!c->closing)
        file_answer(s, c, cqe->res);
}
