/* buffers.c: where a task's bytes live, --buffers conn|lean.
 *
 * conn: a task carries a read buffer, an answer-head buffer, a framer and a backend exchange
 * for its whole life, the same sizes a thread holds on its stack (conn_bufs, allocated in the
 * task's block, untouched until used).
 *
 * lean: the loop owns one read buffer, one head buffer and one framer, and lends them to the
 * task whose callback runs. A callback that returns to the loop with bytes the task still
 * needs copies them into allocations of the task's own, sized to fit, freed as soon as they
 * are used up: the unparsed rest of a read while a request waits or a write blocks, the
 * framer of a request that is still partial, the unwritten part of a blocked head (the body
 * is the shared static buffer, so only its pointer is kept), an io=net exchange. A request
 * that arrives whole and an answer that fits the socket allocate nothing; an idle task
 * holds its fd, its watchers, its request and its counters.
 *
 * The blocks a waiting task needs in lean mode (an io=net exchange, an io=file read handed to
 * the pool or the ring) come from the loop's spares (spares.h) and go back there: a steady
 * stream of waits allocates nothing, and the spares are bounded, not one per task. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "datafile.h"
#include "spares.h"
#include "task.h"

/* An io=net exchange: struct backend_xchg, then the request. */
#define XCHG_BLOCK       (sizeof(struct backend_xchg) + UPSTREAM_REQUEST_MAX)
#define XCHG_SPARE_BYTES (64u << 10)
/* A file read's block: its DATAFILE_ALIGN-aligned buffer, then its struct file_job. */
#define FILE_SPARE_BYTES (1u << 20)

void buffers_init(struct server *s)
{
    spares_init(&s->xchg_spares, XCHG_SPARE_BYTES, 0);
    spares_init(&s->file_spares, FILE_SPARE_BYTES, DATAFILE_ALIGN);
}

void buffers_destroy(struct server *s)
{
    spares_drop(&s->xchg_spares);
    spares_drop(&s->file_spares);
    free(s->file_job.buf);
    s->file_job.buf = NULL;
    s->file_job.cap = 0;
}

struct conn *conn_alloc(struct server *s)
{
    struct conn *c = malloc(sizeof *c + (s->lean ? 0 : sizeof(struct conn_bufs)));

    if (!c)
        return NULL;
    c->out = NULL;
    c->rpos = c->rlen = 0;
    c->in_kept = 0;
    if (s->lean) {
        c->bufs = NULL;
        c->framer = NULL;
        c->ux = NULL;
        c->job = NULL;
        c->in = s->rbuf;
        return c;
    }
    /* No memset: the buffers stay untouched until used, as in a thread's stack. */
    c->bufs = (struct conn_bufs *)(c + 1);
    c->framer = &c->bufs->framer;
    framer_init(c->framer, &s->opts.defaults);
    c->ux = &c->bufs->ux;
    c->ux->req = c->bufs->head;
    c->in = c->bufs->rbuf;
    c->job = &c->bufs->job;
    *c->job = (struct file_job){.conn = c}; /* its buffer comes with the first io=file read */
    return c;
}

void conn_release(struct server *s, struct conn *c)
{
    if (c->bufs)
        return;
    if (c->in_kept)
        free(c->in);
    c->in_kept = 0;
    c->in = NULL;
    c->rpos = c->rlen = 0;
    free(c->framer);
    c->framer = NULL;
    free(c->out);
    c->out = NULL;
    conn_xchg_close(s, c);
    if (c->job && !c->job->inflight)
        conn_job_close(s, c);
}

void conn_free(struct server *s, struct conn *c)
{
    conn_release(s, c);
    if (c->bufs)
        free(c->job->buf);
    free(c);
}

char *conn_read_buffer(struct server *s, struct conn *c)
{
    c->in = c->bufs ? c->bufs->rbuf : s->rbuf;
    return c->in;
}

struct framer *conn_framer(struct server *s, struct conn *c)
{
    if (c->framer)
        return c->framer;
    /* No request is partial, so the next byte starts one: a fresh framer is what a kept one
       would be between two requests. */
    framer_init(&s->framer, &s->opts.defaults);
    return &s->framer;
}

/* Input that c has used up: lean frees it if it was kept; the read buffer is the loop's. */
static void input_done(struct server *s, struct conn *c)
{
    if (c->in_kept)
        free(c->in);
    c->in_kept = 0;
    c->in = s->rbuf;
    c->rpos = c->rlen = 0;
}

int conn_input_consumed(struct server *s, struct conn *c, struct framer *f, size_t start)
{
    if (c->bufs)
        return 0; /* the task's own buffer: the next read overwrites it */
    if (f == &s->framer && framer_mid_request(f)) {
        /* Feeding the partial bytes again into a framer of the task's own gives the state
           the loop's framer reached, without knowing what a framer holds. */
        struct framer *own = malloc(sizeof *own);
        size_t used;
        struct request unused;
        if (!own)
            return -1;
        framer_init(own, &s->opts.defaults);
        if (framer_feed(own, c->in + start, c->rlen - start, &used, &unused) != FRAMING_MORE ||
            used != c->rlen - start) {
            free(own); /* cannot happen: the same bytes, the same parser */
            return -1;
        }
        c->framer = own;
    }
    input_done(s, c);
    return 0;
}

void conn_request_done(struct conn *c)
{
    if (c->bufs)
        return;
    free(c->framer);
    c->framer = NULL;
}

int conn_keep_input(struct conn *c)
{
    if (c->bufs || c->in_kept)
        return 0; /* conn mode, or kept already */
    if (c->rpos == c->rlen) {
        c->rpos = c->rlen = 0;
        return 0;
    }
    size_t n = c->rlen - c->rpos;
    char *kept = malloc(n);
    if (!kept)
        return -1;
    memcpy(kept, c->in + c->rpos, n);
    c->in = kept;
    c->in_kept = 1;
    c->rpos = 0;
    c->rlen = n;
    return 0;
}

char *conn_head_buffer(struct server *s, struct conn *c)
{
    return c->bufs ? c->bufs->head : s->head;
}

int conn_keep_output(struct server *s, struct conn *c)
{
    if (c->bufs)
        return 0;
    uintptr_t at = (uintptr_t)c->iov[0].iov_base, head = (uintptr_t)s->head;
    if (c->iovcnt > 0 && at >= head && at < head + sizeof s->head) {
        /* The answer in flight is the only one: nothing else holds c->out. */
        c->out = malloc(c->iov[0].iov_len);
        if (!c->out)
            return -1;
        memcpy(c->out, c->iov[0].iov_base, c->iov[0].iov_len);
        c->iov[0].iov_base = c->out;
    }
    return c->closing ? 0 : conn_keep_input(c); /* closing: the rest is never parsed */
}

void conn_output_done(struct conn *c)
{
    if (c->bufs)
        return;
    free(c->out);
    c->out = NULL;
}

int conn_xchg_open(struct server *s, struct conn *c, const char *req, size_t len)
{
    if (c->bufs) {
        c->ux->len = len; /* formatted in place, in the task's head buffer */
        c->ux->sent = 0;
        return 0;
    }
    struct backend_xchg *x = spares_take(&s->xchg_spares, XCHG_BLOCK);
    if (!x)
        return -1;
    x->req = (char *)(x + 1);
    memcpy(x->req, req, len); /* len <= UPSTREAM_REQUEST_MAX: upstream_format_request's cap */
    x->len = len;
    x->sent = 0;
    c->ux = x;
    return 0;
}

void conn_xchg_close(struct server *s, struct conn *c)
{
    if (c->bufs || !c->ux)
        return;
    spares_give(&s->xchg_spares, c->ux, XCHG_BLOCK);
    c->ux = NULL;
}

/* Bytes of the buffer for a read of len bytes: whole DATAFILE_ALIGN blocks, at least one. */
static size_t file_buf_bytes(size_t len)
{
    size_t n = (len + DATAFILE_ALIGN - 1) / DATAFILE_ALIGN * DATAFILE_ALIGN;
    return n ? n : DATAFILE_ALIGN;
}

/* Makes j's buffer hold len bytes, regrown only for a larger read. 0 ok, -1 out of memory. */
static int job_buffer(struct file_job *j, size_t len)
{
    if (j->cap >= len)
        return 0;
    free(j->buf);
    j->buf = datafile_buffer(len);
    j->cap = j->buf ? len : 0;
    return j->buf ? 0 : -1;
}

struct file_job *conn_job_open(struct server *s, struct conn *c, size_t len)
{
    struct file_job *j = c->job;

    if (c->bufs || s->opts.file_io == FILE_IO_LOOP) {
        if (!c->bufs)
            j = &s->file_job; /* lean, a read in the loop: the loop's, one read at a time */
        if (job_buffer(j, len) < 0)
            return NULL;
    } else {
        size_t n = file_buf_bytes(len);
        char *block = spares_take(&s->file_spares, n + sizeof *j);
        if (!block)
            return NULL;
        j = (struct file_job *)(block + n);
        *j = (struct file_job){.buf = block, .cap = n};
    }
    j->conn = c;
    j->inflight = j->orphan = 0;
    c->job = j;
    return j;
}

void conn_job_close(struct server *s, struct conn *c)
{
    struct file_job *j = c->job;

    if (c->bufs || !j)
        return; /* conn: the task's own, kept */
    if (j != &s->file_job)
        spares_give(&s->file_spares, j->buf, j->cap + sizeof *j);
    c->job = NULL;
}
