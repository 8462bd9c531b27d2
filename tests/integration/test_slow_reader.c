/* test_slow_reader: clients that read slowly. Their answers do not fit the socket, so the
 * server keeps what is unwritten (with --buffers lean: the unwritten part of a head copied
 * out of the loop's buffer, the body as a pointer into the shared one) and the pipelined
 * requests behind it, while it goes on serving everyone else.
 *
 * Each test runs once per server under test (the table in tests/support/itest.c; env
 * TVT_IMPLS=thread or TVT_IMPLS=async,thread narrows it) and names the server in every
 * assertion. Env TVT_SANITIZER (address|thread) stretches the time bounds for slower builds. */
#include <criterion/criterion.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "../support/http_client.h"
#include "../support/itest.h"
#include "../support/server_proc.h"
#include "../support/test_env.h"

TestSuite(slow_reader, .fini = itest_release, .timeout = 90);

/* The client's receive buffer: fixed (no autotuning), so the window stays small. Below
   16 KiB, a window smaller than the loopback MSS stalls on the persist timer. */
#define RCVBUF 16384
#define SIP    4096 /* bytes taken per read */
#define SIP_US 500  /* pause between reads */
/* The server's socket takes about 4 MiB on loopback before a write blocks (tcp_wmem's
   autotuning). 60000 answers of a head alone (about 7 MiB) fill it with heads while the
   client does not read, so the write that blocks stops inside a head (the kernel takes
   part of a head when its last buffer fills): the server keeps the unwritten part.
   tests/unit/test_buffers.c checks a head kept mid-way without the kernel's say. */
#define HEADS    60000
#define MAX_REQS (HEADS + 8)
#define STALL_MS 200 /* the socket took nothing this long: the server stopped reading */

/* A fixed, small receive buffer: the client reads slowly, however fast the server writes. */
static void small_window(const struct sut *s, struct hc_conn *c, int v)
{
    EXPECT(s, setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof v) == 0, "SO_RCVBUF: %s",
           strerror(errno));
}

/* What one pipelined request should get back. */
struct want {
    int status;
    long bytes; /* body bytes, all 'x' */
};

/* Sends `len` bytes of pipelined requests while reading at most SIP bytes every SIP_US, and
   checks the n answers in order as they come. The sending is interleaved with the reading
   (never blocking), as a client that writes everything and reads slowly would: the server
   stops reading while its writes block, so a blocking send would wait forever. */
static void pump(const struct sut *s, struct hc_conn *c, const char *data, size_t len,
                 const struct want *w, int n, int timeout_ms)
{
    double deadline = tenv_now_ms() + timeout_ms;
    size_t sent = 0;
    int got = 0;
    char tmp[SIP];
    while (got < n) {
        EXPECT(s, tenv_now_ms() < deadline, "%d of %d answers in %d ms (%zu of %zu bytes sent)",
               got, n, timeout_ms, sent, len);
        while (sent < len) { /* as much as the socket takes: the server never waits for input */
            ssize_t k = send(c->fd, data + sent, len - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
            EXPECT(s, k >= 0 || errno == EAGAIN || errno == EINTR, "send: %s", strerror(errno));
            if (k <= 0)
                break;
            sent += (size_t)k;
        }
        ssize_t r = recv(c->fd, tmp, sizeof tmp, MSG_DONTWAIT);
        EXPECT(s, r != 0, "closed after %d of %d answers", got, n);
        EXPECT(s, r > 0 || errno == EAGAIN || errno == EINTR, "recv after %d answers: %s", got,
               strerror(errno));
        if (r > 0) {
            /* Append to the client's buffer and parse whatever is complete. */
            if (c->cap - c->len < (size_t)r + 1) {
                size_t cap = c->cap ? c->cap * 2 : 65536;
                while (cap - c->len < (size_t)r + 1)
                    cap *= 2;
                c->buf = realloc(c->buf, cap);
                EXPECT(s, c->buf, "out of memory");
                c->cap = cap;
            }
            memcpy(c->buf + c->len, tmp, (size_t)r);
            c->len += (size_t)r;
            c->buf[c->len] = '\0';
            for (;;) {
                struct hc_response *resp = resp_new();
                int rc = hc_try_response(c, resp);
                EXPECT(s, rc >= 0, "answer %d of %d unparseable: %.200s", got, n, c->buf);
                if (rc == 0) {
                    resp_done(resp);
                    break;
                }
                const struct want *e = &w[got];
                EXPECT(s, resp->status == e->status,
                       "answer %d of %d: status %d, want %d; head: %s body: %.200s", got, n,
                       resp->status, e->status, resp->head, resp->body);
                EXPECT(s, resp->content_length == e->bytes,
                       "answer %d of %d: Content-Length %ld, want %ld (answers out of order?)", got,
                       n, resp->content_length, e->bytes);
                EXPECT(s, hc_body_is(resp, (size_t)e->bytes, 'x'),
                       "answer %d of %d: body is %zu bytes, not %ld 'x'", got, n, resp->body_len,
                       e->bytes);
                resp_done(resp);
                got++;
                if (got == n)
                    break;
            }
        }
        if (r <= 0 || got < n)
            tenv_sleep_ms(SIP_US / 1000.0);
    }
    EXPECT(s, sent == len, "all %d answers came before every request was sent", n);
}

/* Sends data without reading, until all of it is sent or the socket takes no more for
   STALL_MS (the server stopped reading), then lets the server write until its write blocks
   (STALL_MS more). Returns the bytes sent. Loopback buffers take megabytes of requests: the
   answers must be more than the server's socket and the client's window hold. */
static size_t fill(const struct sut *s, struct hc_conn *c, const char *data, size_t len)
{
    size_t sent = 0;
    double last = tenv_now_ms();
    while (sent < len && tenv_now_ms() - last < STALL_MS) {
        ssize_t k = send(c->fd, data + sent, len - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
        EXPECT(s, k >= 0 || errno == EAGAIN || errno == EINTR, "send: %s", strerror(errno));
        if (k > 0) {
            sent += (size_t)k;
            last = tenv_now_ms();
        } else {
            tenv_sleep_ms(1);
        }
    }
    tenv_sleep_ms(STALL_MS * tenv_slack());
    return sent;
}

/* Appends a GET of target to buf[used..cap); returns the new length. (HEAD answers carry a
   Content-Length without a body, which hc_try_response cannot tell: GET with bytes=0 gives
   a head alone.) */
static size_t add_get(char *buf, size_t cap, size_t used, const char *target)
{
    int k = snprintf(buf + used, cap - used, "GET %s HTTP/1.1\r\nHost: a\r\n\r\n", target);
    cr_assert(k > 0 && (size_t)k < cap - used, "request buffer too small");
    return used + (size_t)k;
}

/* A 1 MiB answer to a client that reads 4 KiB every 0.5 ms through an 8 KiB window, with
   requests pipelined behind it (one that waits on a timer, one more 1 MiB answer, small
   ones): all answered whole and in order, and another client is served meanwhile. */
static void case_slow_mib(const struct sut *srv)
{
    struct server_proc *sp = start(srv, NULL);
    int port = server_port(sp);
    struct hc_conn *c = connect_ok(srv, port);
    small_window(srv, c, RCVBUF);
    static char reqs[8192];
    static struct want w[8];
    size_t used = 0;
    int n = 0;
    used = add_get(reqs, sizeof reqs, used, "/?bytes=1048576");
    w[n++] = (struct want){200, 1048576};
    used = add_get(reqs, sizeof reqs, used, "/?bytes=7&wait_us=10000");
    w[n++] = (struct want){200, 7};
    used = add_get(reqs, sizeof reqs, used, "/?bytes=1048575");
    w[n++] = (struct want){200, 1048575};
    for (int i = 0; i < 4; i++) {
        char t[64];
        snprintf(t, sizeof t, "/?bytes=%d", 100 * i + 1);
        used = add_get(reqs, sizeof reqs, used, t);
        w[n++] = (struct want){200, 100 * i + 1};
    }
    /* Start the slow client, then check that a normal one gets through while it drags. */
    ssize_t k = send(c->fd, reqs, used, MSG_NOSIGNAL);
    EXPECT(srv, k == (ssize_t)used, "sending %zu bytes of requests: %zd (%s)", used, k,
           strerror(errno));
    tenv_sleep_ms(20);
    expect_served(srv, port, "while a slow reader holds a 1 MiB answer");
    pump(srv, c, "", 0, w, n, (int)(30000 * tenv_slack()));
    EXPECT(srv, hc_wait_close(c, 50) == 0 && c->len == 0,
           "after the last answer: closed, or %zu bytes more", c->len);
    hc_close(c);
    expect_served(srv, port, "after the slow reader");
    json_t *ctr = stop_counters(srv, sp, SIGTERM, NULL);
    EXPECT(srv, counter(srv, ctr, "requests") == n + 2, "counted %lld requests, want %d",
           counter(srv, ctr, "requests"), n + 2);
}

SERVER_TEST(slow_reader, mib_answer_read_slowly, 0, case_slow_mib, .timeout = 90)

static char heads_reqs[MAX_REQS * 64]; /* heads_pipeline's, static: megabytes */
static struct want heads_want[MAX_REQS];

/* Pipelined requests for the given number of heads (bytes=0, every seventh a small body,
   every thousandth after a 1 ms wait) behind two 1 MiB answers, into reqs; their answers
   into w. Returns the requests' length; *n is their number. */
static size_t heads_pipeline(char *reqs, size_t cap, struct want *w, int heads, int *n)
{
    size_t used = 0;
    *n = 0;
    for (int i = 0; i < 2; i++) {
        used = add_get(reqs, cap, used, "/?bytes=1048576");
        w[(*n)++] = (struct want){200, 1048576};
    }
    for (int i = 0; i < heads; i++) {
        char t[64];
        long bytes = i % 7 == 3 ? i % 100 : 0;
        snprintf(t, sizeof t, "/?bytes=%ld%s", bytes, i % 1000 == 500 ? "&wait_us=1000" : "");
        used = add_get(reqs, cap, used, t);
        w[(*n)++] = (struct want){200, bytes};
    }
    return used;
}

/* Two 1 MiB answers and 60000 heads behind them, sent by a client that does not read until
   the server has stopped reading (its socket full of heads, one of them cut), then reads
   slowly through a small window: the server goes on where it stopped as the socket drains,
   every answer whole and in order, with the waits and the unparsed rest of the pipeline
   kept in between. */
static void case_slow_heads(const struct sut *srv)
{
    struct server_proc *sp = start(srv, NULL);
    struct hc_conn *c = connect_ok(srv, server_port(sp));
    small_window(srv, c, RCVBUF);
    int n;
    size_t used = heads_pipeline(heads_reqs, sizeof heads_reqs, heads_want, HEADS, &n);
    size_t sent = fill(srv, c, heads_reqs, used);
    pump(srv, c, heads_reqs + sent, used - sent, heads_want, n, (int)(30000 * tenv_slack()));
    hc_close(c);
    expect_served(srv, server_port(sp), "after the slow reader of heads");
    json_t *ctr = stop_counters(srv, sp, SIGTERM, NULL);
    EXPECT(srv, counter(srv, ctr, "requests") == n + 1, "counted %lld requests, want %d",
           counter(srv, ctr, "requests"), n + 1);
}

SERVER_TEST(slow_reader, pipelined_heads_read_slowly, 0, case_slow_heads, .timeout = 90)

/* Slow readers that give up: halfway through a 1 MiB answer with requests behind it, the
   last one partial; and with the server's socket full of heads, one of them cut. The server
   drops what it kept for each (ASan: nothing leaks) and serves others. */
static void case_slow_gives_up(const struct sut *srv)
{
    struct server_proc *sp = start(srv, NULL);
    int port = server_port(sp);
    for (int round = 0; round < 10; round++) {
        struct hc_conn *c = connect_ok(srv, port);
        small_window(srv, c, RCVBUF);
        char reqs[1024];
        size_t used = add_get(reqs, sizeof reqs, 0, "/?bytes=1048576");
        used = add_get(reqs, sizeof reqs, used, "/?bytes=5&wait_us=1000");
        used = add_get(reqs, sizeof reqs, used, "/?bytes=0");
        used += (size_t)snprintf(reqs + used, sizeof reqs - used, "GET /?bytes=1 HT");
        send_ok(srv, c, reqs, used, "pipelined requests, the last one partial");
        read_at_least(c, 8192, tenv_io_ms());
        EXPECT(srv, c->len > 0, "round %d: nothing of the 1 MiB answer arrived", round);
        if (round % 2)
            hc_abort(c); /* a reset */
        else
            hc_close(c); /* a FIN with unread data: the kernel resets too */
    }
    int n;
    size_t len = heads_pipeline(heads_reqs, sizeof heads_reqs, heads_want, HEADS, &n);
    for (int round = 0; round < 4; round++) {
        struct hc_conn *c = connect_ok(srv, port);
        fill(srv, c, heads_reqs, len);
        if (round % 2)
            hc_abort(c);
        else
            hc_close(c);
    }
    expect_served(srv, port, "after 14 slow readers gave up");
    stop_ok(srv, sp);
}

SERVER_TEST(slow_reader, slow_reader_gives_up, 0, case_slow_gives_up, .timeout = 60)
