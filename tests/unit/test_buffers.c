/* test_buffers.c: where the async server's task keeps its bytes (async_impl/buffers.c), in
 * both --buffers modes, without sockets: a lean task borrows the loop's buffers, keeps only
 * what must outlive its callback (checked by scribbling over the loop's buffers, as the next
 * task's read or answer would), and holds nothing once idle; a conn task uses its own. Under
 * ASan a kept block that is used after being given back fails the test, and so does one that
 * is never given back: every test ends holding the blocks it began with (Criterion would pass
 * a test whose process LeakSanitizer reports at exit, and LeakSanitizer misses a block whose
 * address lingers on the stack). */
#include <criterion/criterion.h>
#include <malloc.h>
#include <stdint.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
/* Blocks this thread holds, from ASan's malloc and free hooks (sanitizer/allocator_interface.h,
   which Debian's gcc lacks). Per thread: Criterion's own threads allocate meanwhile. */
int __sanitizer_install_malloc_and_free_hooks(void (*)(const volatile void *, size_t),
                                              void (*)(const volatile void *));
static _Thread_local long held;
static void on_malloc(const volatile void *p, size_t n)
{
    (void)p;
    (void)n;
    held++;
}
static void on_free(const volatile void *p)
{
    if (p)
        held--;
}
static void count_blocks(void)
{
    static int installed;
    if (!installed)
        installed = __sanitizer_install_malloc_and_free_hooks(on_malloc, on_free);
}
#define BLOCKS_HELD() held
#else
static void count_blocks(void) {}
#define BLOCKS_HELD() 0L /* a release build cannot tell */
#endif

#include "../../async_impl/task.h"
#include "datafile.h"
#include "framing.h"
#include "response.h"

static struct server srv; /* large (the loop's buffers): static, zeroed per test process */
static long held_before;  /* blocks held when the test began (ASan builds) */

static struct server *server_for(int lean, uint32_t file_io)
{
    char *argv[] = {"async_server", NULL};
    char err[256];
    cr_assert_eq(
        server_opts_parse(&srv.opts, 1, argv, "async_server", SERVER_OPTS_BUFFERS, err, sizeof err),
        OPTS_OK, "%s", err);
    srv.opts.file_io = file_io;
    srv.lean = lean;
    buffers_init(&srv);
    /* What the C library allocates once and keeps (time zone, locale) is not the tasks'. */
    struct date_cache dc = {0};
    date_cache_update(&dc, 0);
    response_init();
    count_blocks();
    held_before = BLOCKS_HELD();
    return &srv;
}

/* Frees the loop's spares and asserts that every block the test's tasks took was given
   back (ASan builds). */
static void done(struct server *s)
{
    buffers_destroy(s);
    long left = BLOCKS_HELD() - held_before;
    cr_assert_eq(left, 0, "%ld blocks still held after every task was freed", left);
}

/* A task as conn_open leaves it, as far as the buffers go. */
static struct conn *new_task(struct server *s)
{
    struct conn *c = conn_alloc(s);
    cr_assert_not_null(c);
    c->closing = 0;
    c->iovcnt = 0;
    return c;
}

/* What arrives in one read: copied into the buffer the task reads into. */
static void arrive(struct server *s, struct conn *c, const char *bytes)
{
    size_t n = strlen(bytes);
    cr_assert_leq(n, CONN_READ_BUF);
    memcpy(conn_read_buffer(s, c), bytes, n);
    c->rpos = 0;
    c->rlen = n;
}

/* Feeds c's unparsed input as conn_process does; on FRAMING_MORE the input is consumed. */
static enum framing_result feed(struct server *s, struct conn *c)
{
    struct framer *f = conn_framer(s, c);
    size_t start = c->rpos, used;
    enum framing_result r = framer_feed(f, c->in + c->rpos, c->rlen - c->rpos, &used, &c->req);
    c->rpos += used;
    if (r == FRAMING_MORE)
        cr_assert_eq(conn_input_consumed(s, c, f, start), 0);
    else if (r == FRAMING_REQUEST)
        conn_request_done(c);
    return r;
}

/* What the next task's read and answer do to the loop's buffers and framer. */
static void scribble(struct server *s)
{
    memset(s->rbuf, 'Z', sizeof s->rbuf);
    memset(s->head, 'Z', sizeof s->head);
    framer_init(&s->framer, &s->opts.defaults);
}

/* A lean task between requests holds its own struct and nothing else. */
static void expect_idle(const struct conn *c)
{
    cr_assert_null(c->framer, "an idle task holds no framer");
    cr_assert_null(c->out, "an idle task holds no head");
    cr_assert_null(c->ux, "an idle task holds no backend exchange");
    cr_assert_null(c->job, "an idle task holds no file read");
    cr_assert_eq(c->in_kept, 0, "an idle task holds no input");
    cr_assert_eq(c->rpos, c->rlen, "no unparsed input");
}

Test(buffers, lean_task_is_small)
{
    struct server *s = server_for(1, FILE_IO_POOL);
    struct conn *c = new_task(s);
    cr_assert_null(c->bufs);
    expect_idle(c);
    cr_assert_leq(malloc_usable_size(c), 512, "a lean task takes %zu bytes of heap",
                  malloc_usable_size(c));
    conn_free(s, c);
    done(s);
}

/* A whole request in one read and an answer that fits: nothing is allocated. */
Test(buffers, lean_whole_request_keeps_nothing)
{
    struct server *s = server_for(1, FILE_IO_POOL);
    struct conn *c = new_task(s);
    arrive(s, c, "GET /?bytes=7 HTTP/1.1\r\nHost: a\r\n\r\n");
    cr_assert_eq(c->in, s->rbuf, "a lean task reads into the loop's buffer");
    cr_assert_eq(feed(s, c), FRAMING_REQUEST);
    cr_assert_eq(c->req.work.bytes, 7);
    cr_assert_eq(conn_head_buffer(s, c), s->head, "its head goes into the loop's buffer");
    c->iovcnt = 0; /* the answer was written at once */
    cr_assert_eq(conn_keep_output(s, c), 0);
    cr_assert_eq(feed(s, c), FRAMING_MORE);
    expect_idle(c);
    conn_free(s, c);
    done(s);
}

/* A request that trickles in one byte per read, the loop's buffers reused by others in
   between: the partial request lives in the task's own framer until it is complete. */
Test(buffers, lean_trickled_request)
{
    struct server *s = server_for(1, FILE_IO_POOL);
    struct conn *c = new_task(s);
    const char *req = "\r\nGET /?bytes=11&wait_us=5 HTTP/1.1\r\nHost: a\r\nX-Long: "
                      "0123456789012345678901234567890123456789\r\n\r\n";
    size_t len = strlen(req);
    for (size_t i = 0; i < len; i++) {
        char one[2] = {req[i], 0};
        arrive(s, c, one);
        enum framing_result r = feed(s, c);
        scribble(s);
        if (i + 1 < len) {
            cr_assert_eq(r, FRAMING_MORE, "byte %zu", i);
            cr_assert_eq(c->framer != NULL, i >= 2, "byte %zu: framer held only mid-request", i);
            cr_assert_eq(c->in_kept, 0, "consumed input is never kept");
        } else {
            cr_assert_eq(r, FRAMING_REQUEST);
        }
    }
    cr_assert_eq(c->req.work.bytes, 11);
    cr_assert_eq(c->req.work.wait_us, 5);
    expect_idle(c);
    conn_free(s, c);
    done(s);
}

/* One read holds a request that waits and half of the next: the rest is copied out of the
   loop's buffer before the wait, parsed from the copy after it, and the half request then
   lives in a framer of its own until its other half arrives. */
Test(buffers, lean_pipelined_behind_a_wait)
{
    struct server *s = server_for(1, FILE_IO_POOL);
    struct conn *c = new_task(s);
    arrive(s, c,
           "GET /?bytes=1&wait_us=1000 HTTP/1.1\r\nHost: a\r\n\r\n"
           "GET /?bytes=2 HTTP/1.1\r\nHost: a\r\n\r\n"
           "GET /?bytes=3 HTTP/1.1\r\nHo");
    cr_assert_eq(feed(s, c), FRAMING_REQUEST);
    cr_assert_eq(c->req.work.wait_us, 1000);
    size_t rest = c->rlen - c->rpos;
    cr_assert_eq(conn_keep_input(c), 0);
    cr_assert(c->in_kept && c->in != s->rbuf, "the rest is copied out before the wait");
    cr_assert_eq(c->rlen - c->rpos, rest);
    cr_assert_geq(malloc_usable_size(c->in), rest, "sized to fit");
    cr_assert_lt(malloc_usable_size(c->in), rest + 32, "sized to fit");
    char *kept = c->in;
    cr_assert_eq(conn_keep_input(c), 0);
    cr_assert_eq(c->in, kept, "kept once");
    scribble(s); /* the wait: other tasks read and answer */
    cr_assert_eq(feed(s, c), FRAMING_REQUEST);
    cr_assert_eq(c->req.work.bytes, 2);
    cr_assert_eq(feed(s, c), FRAMING_MORE);
    cr_assert_not_null(c->framer, "the half request holds a framer of its own");
    cr_assert_eq(c->in_kept, 0, "and the kept input is freed");
    scribble(s);
    arrive(s, c, "st: a\r\n\r\n");
    cr_assert_eq(feed(s, c), FRAMING_REQUEST);
    cr_assert_eq(c->req.work.bytes, 3);
    cr_assert_eq(feed(s, c), FRAMING_MORE);
    expect_idle(c);
    conn_free(s, c);
    done(s);
}

/* A write that blocks in the middle of a head: the unwritten part of the head is copied out
   of the loop's buffer, the body stays a pointer into the shared one; a write that blocks
   in the body copies nothing. */
Test(buffers, lean_blocked_head)
{
    struct server *s = server_for(1, FILE_IO_POOL);
    struct date_cache dc = {0};
    struct conn *c = new_task(s);
    response_init();
    date_cache_update(&dc, 0);
    arrive(s, c, "GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /?bytes=5 HTTP/1.1\r\n");
    cr_assert_eq(feed(s, c), FRAMING_REQUEST);
    char *head = conn_head_buffer(s, c);
    size_t hlen = response_head_ok(head, 100, 1, 1, &dc);
    char want[RESPONSE_HEAD_MAX];
    memcpy(want, head, hlen);
    c->iov[0] = (struct iovec){head + 10, hlen - 10}; /* 10 bytes went out */
    c->iov[1] = (struct iovec){(void *)response_body(), 100};
    c->iovcnt = 2;
    cr_assert_eq(conn_keep_output(s, c), 0);
    cr_assert_not_null(c->out);
    cr_assert_eq(c->iov[0].iov_base, c->out);
    cr_assert_eq(c->iov[1].iov_base, (void *)response_body(), "the body is never copied");
    cr_assert(c->in_kept, "the pipelined rest is kept while the write blocks");
    scribble(s);
    cr_assert_eq(memcmp(c->out, want + 10, hlen - 10), 0, "the kept head survives the loop");
    conn_output_done(c);
    cr_assert_null(c->out);
    /* Blocked in the body: nothing to copy. */
    c->iov[0] = (struct iovec){(char *)response_body() + 40, 60};
    c->iovcnt = 1;
    cr_assert_eq(conn_keep_output(s, c), 0);
    cr_assert_null(c->out);
    conn_output_done(c);
    cr_assert_eq(feed(s, c), FRAMING_MORE);
    cr_assert_not_null(c->framer, "the partial request behind it");
    conn_free(s, c); /* with a partial request held: ASan says if it leaks */
    done(s);
}

/* Tasks that close while holding what lean mode kept for them: a head blocked mid-way with
   pipelined requests behind it, a partial request, a backend exchange with input kept, a
   file read in flight (an orphan, freed once its read completes). conn_free gives all of it
   back; the leak check says if anything is lost. */
Test(buffers, lean_close_gives_back_what_was_kept)
{
    struct server *s = server_for(1, FILE_IO_POOL);
    struct date_cache dc = {0};
    response_init();
    date_cache_update(&dc, 0);

    struct conn *c = new_task(s);
    arrive(s, c, "GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /?bytes=5 HTTP/1.1\r\nHost: a\r\n\r\n");
    cr_assert_eq(feed(s, c), FRAMING_REQUEST);
    char *head = conn_head_buffer(s, c);
    size_t hlen = response_head_ok(head, 100, 1, 1, &dc);
    c->iov[0] = (struct iovec){head + 9, hlen - 9}; /* 9 bytes went out */
    c->iovcnt = 1;
    cr_assert_eq(conn_keep_output(s, c), 0);
    cr_assert(c->out && c->in_kept, "a blocked head and the requests behind it");
    conn_free(s, c);

    c = new_task(s);
    arrive(s, c, "GET /?bytes=5 HTTP/1.1\r\nHo");
    cr_assert_eq(feed(s, c), FRAMING_MORE);
    cr_assert_not_null(c->framer, "a partial request");
    conn_free(s, c);

    c = new_task(s);
    arrive(s, c, "GET /?wait_us=7 HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\n");
    cr_assert_eq(feed(s, c), FRAMING_REQUEST);
    cr_assert_eq(conn_keep_input(c), 0);
    const char *req = "GET /?wait_us=7 HTTP/1.1\r\nHost: b\r\n\r\n";
    cr_assert_eq(conn_xchg_open(s, c, req, strlen(req)), 0);
    cr_assert(c->ux && c->in_kept, "waiting on the backend, the next request kept");
    conn_free(s, c);

    c = new_task(s);
    struct file_job *j = conn_job_open(s, c, 4096);
    cr_assert_not_null(j);
    j->inflight = 1;
    conn_release(s, c); /* as conn_close does while the read is in flight */
    cr_assert_eq(c->job, j, "the read's block stays while the read fills it");
    j->orphan = 1;
    j->inflight = 0; /* the read completed: file_read_done frees the orphan */
    conn_free(s, c);
    done(s);
}

/* io=net and io=file blocks come from the loop's spares and go back: the second wait reuses
   the first one's block, and the task holds none between them. */
Test(buffers, lean_waits_reuse_spares)
{
    struct server *s = server_for(1, FILE_IO_POOL);
    struct conn *c = new_task(s);
    const char *req = "GET /?wait_us=5 HTTP/1.1\r\nHost: b\r\n\r\n";
    cr_assert_eq(conn_xchg_open(s, c, req, strlen(req)), 0);
    struct backend_xchg *first = c->ux;
    cr_assert_eq(memcmp(c->ux->req, req, strlen(req)), 0);
    cr_assert_eq(c->ux->len, strlen(req));
    conn_xchg_close(s, c);
    cr_assert_null(c->ux);
    cr_assert_eq(conn_xchg_open(s, c, req, strlen(req)), 0);
    cr_assert_eq(c->ux, first, "the spare is reused");
    conn_xchg_close(s, c);

    struct file_job *j = conn_job_open(s, c, 8192);
    cr_assert_not_null(j);
    cr_assert_eq(c->job, j);
    cr_assert_eq(j->conn, c);
    cr_assert_geq(j->cap, 8192);
    cr_assert_eq((uintptr_t)j->buf % DATAFILE_ALIGN, 0, "O_DIRECT needs aligned buffers");
    memset(j->buf, 1, 8192);
    conn_job_close(s, c);
    cr_assert_null(c->job);
    cr_assert_eq(conn_job_open(s, c, 8192), j, "the spare is reused");
    conn_job_close(s, c);
    expect_idle(c);
    conn_free(s, c);
    done(s);
}

/* --file-io loop: a lean read borrows the loop's job, one read at a time. */
Test(buffers, lean_loop_read_uses_the_loops_job)
{
    struct server *s = server_for(1, FILE_IO_LOOP);
    struct conn *c = new_task(s);
    struct file_job *j = conn_job_open(s, c, 4096);
    cr_assert_eq(j, &s->file_job);
    conn_job_close(s, c);
    cr_assert_null(c->job);
    cr_assert_not_null(s->file_job.buf, "the loop keeps its buffer");
    conn_free(s, c);
    done(s);
}

/* --buffers conn: every byte in the task's own buffers, for its whole life. */
Test(buffers, conn_task_owns_its_buffers)
{
    struct server *s = server_for(0, FILE_IO_POOL);
    struct conn *c = new_task(s);
    cr_assert_not_null(c->bufs);
    cr_assert_geq(malloc_usable_size(c), sizeof *c + sizeof(struct conn_bufs));
    arrive(s, c, "GET /?bytes=1&wait_us=9 HTTP/1.1\r\nHost: a\r\n\r\nGET / HT");
    cr_assert_eq(c->in, c->bufs->rbuf, "a conn task reads into its own buffer");
    cr_assert_eq(feed(s, c), FRAMING_REQUEST);
    cr_assert_eq(conn_keep_input(c), 0);
    cr_assert_eq(c->in, c->bufs->rbuf, "nothing is copied");
    char *head = conn_head_buffer(s, c);
    cr_assert_eq(head, c->bufs->head);
    c->iov[0] = (struct iovec){head, 10};
    c->iovcnt = 1;
    cr_assert_eq(conn_keep_output(s, c), 0);
    cr_assert_eq(c->iov[0].iov_base, head, "nothing is copied");
    cr_assert_null(c->out);
    cr_assert_eq(feed(s, c), FRAMING_MORE);
    cr_assert_eq(c->framer, &c->bufs->framer, "its own framer, kept");
    cr_assert(framer_mid_request(c->framer));
    const char *req = "GET / HTTP/1.1\r\n\r\n";
    memcpy(head, req, strlen(req));
    cr_assert_eq(conn_xchg_open(s, c, head, strlen(req)), 0);
    cr_assert_eq(c->ux, &c->bufs->ux);
    cr_assert_eq(c->ux->req, c->bufs->head, "the backend request stays in the head buffer");
    conn_xchg_close(s, c);
    cr_assert_eq(c->ux, &c->bufs->ux);
    struct file_job *j = conn_job_open(s, c, 4096);
    cr_assert_eq(j, &c->bufs->job);
    char *buf = j->buf;
    conn_job_close(s, c);
    cr_assert_eq(conn_job_open(s, c, 4096)->buf, buf, "its read buffer is kept");
    conn_free(s, c);
    done(s);
}
