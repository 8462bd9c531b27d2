/* test_uring: what only the io_uring server has, at run time. The protocol, limits, abuse
 * and fault suites (test_protocol, test_bad_input, test_abuse, test_slowloris, test_resets,
 * test_fd_limits, test_idle, test_lifecycle, test_net_wait, test_file_wait, ...) run against
 * it through itest.c's table of servers, test_uring_startup its start-up refusals; this file
 * covers the rest:
 *   - cancellation: tasks closed with operations in flight (a receive, a send, a timer, a
 *     backend exchange, a file read) by the client, by the idle timeout and by SIGTERM, in
 *     both --recv modes: the fds return to the baseline and, under ASan, nothing is used
 *     after free or leaked;
 *   - the --recv modes: pipelining far past the read-ahead cap, answered in order, and the
 *     memory an idle keep-alive connection holds in each mode.
 * The per-mode cases run against both uring_server entries of itest.c's table: "uring"
 * (--recv ring, the default) and "uring-conn" (--recv conn); TVT_IMPLS narrows them as
 * elsewhere. TVT_BIN_DIR and TVT_SANITIZER as in the other integration tests. */
#include <criterion/criterion.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../support/http_client.h"
#include "../support/itest.h"
#include "../support/test_env.h"
#include "procfs.h"

static void release_all(void)
{
    itest_release();
}

TestSuite(uring, .fini = release_all, .timeout = 60);

static bool is_uring(const struct sut *s)
{
    return strcmp(s->binary, "uring_server") == 0;
}

/* Runs fn once per uring_server entry of the table (one per --recv mode) TVT_IMPLS enables. */
static void for_each_mode(void (*fn)(const struct sut *s))
{
    int ran = 0;
    for (size_t i = 0; i < NSUTS; i++)
        if (is_uring(&SUTS[i]) && tenv_impl_enabled(SUTS[i].name)) {
            fn(&SUTS[i]);
            ran++;
        }
    if (!ran)
        cr_skip_test("TVT_IMPLS=%s excludes every uring_server entry", getenv("TVT_IMPLS"));
}

/* Polls until the server holds want fds again (closing is asynchronous: a task is freed at
   its last completion). true when reached; the last count in *got. */
static bool fds_settle(pid_t pid, int want, int *got)
{
    long threads;
    return settle(pid, want, -1, tenv_io_ms(), got, &threads);
}

/* Twelve pipelined 1 MiB requests: more than the socket buffers hold, so the server is
   surely still writing when the client stops reading. */
static void send_big(const struct sut *s, struct hc_conn *c)
{
    static char big[12 * 64];
    size_t used = 0;
    for (int i = 0; i < 12; i++)
        used += (size_t)snprintf(big + used, sizeof big - used,
                                 "GET /?bytes=1048576 HTTP/1.1\r\nHost: a\r\n\r\n");
    send_ok(s, c, big, used, "12 pipelined 1 MiB requests");
}

/* ---- cancellation ------------------------------------------------------------------------ */

/* Connections in every state with an operation in flight, then SIGTERM with --grace-ms 200:
   the server closes the idle and half-read ones at once, cuts the waits and the blocked
   sends at the end of the grace, cancels every operation, waits for their completions and
   exits 0 with every connection counted closed. */
#define EACH 8
static void case_sigterm_in_flight(const struct sut *s)
{
    const char *grace[] = {"--grace-ms", "200", NULL};
    struct server_proc *sp = start(s, grace);
    int port = server_port(sp);
    struct hc_conn *c[4 * EACH];
    for (int i = 0; i < 4 * EACH; i++) {
        c[i] = connect_ok(s, port);
        switch (i % 4) {
        case 0: /* idle after an answer: a receive in flight */
            send_get(s, c[i], "/?bytes=3");
            expect_200(s, c[i], 3, "before going idle");
            break;
        /* waiting 10 s on its timer */
        case 1: send_get(s, c[i], "/?wait_us=10000000"); break;
        /* answers the client does not read: a send in flight */
        case 2: send_big(s, c[i]); break;
        /* half a request */
        default: send_ok(s, c[i], "GET /?bytes=1 HTTP/1.1\r\nHo", 26, "half a request"); break;
        }
    }
    tenv_sleep_ms(100); /* the server has read everything and started the sends */
    expect_alive(s, sp, "with operations of every kind in flight");
    json_t *ctr = stop_counters(s, sp, SIGTERM, NULL);
    long long accepted = counter(s, ctr, "accepted"), closed = counter(s, ctr, "closed");
    EXPECT(s, accepted == 4 * EACH && closed == accepted,
           "accepted %lld, closed %lld; want %d of each", accepted, closed, 4 * EACH);
    EXPECT(s,
           counter(s, ctr, "stop_inflight") == 2 * EACH &&
               counter(s, ctr, "stop_cut") == 2 * EACH &&
               counter(s, ctr, "stop_idle_closed") == EACH &&
               counter(s, ctr, "stop_partial_closed") == EACH,
           "stop: in flight %lld, cut %lld, idle %lld, partial %lld; want %d, %d, %d, %d",
           counter(s, ctr, "stop_inflight"), counter(s, ctr, "stop_cut"),
           counter(s, ctr, "stop_idle_closed"), counter(s, ctr, "stop_partial_closed"), 2 * EACH,
           2 * EACH, EACH, EACH);
    for (int i = 0; i < 4 * EACH; i++)
        hc_close(c[i]);
}

Test(uring, sigterm_cancels_everything_in_flight)
{
    for_each_mode(case_sigterm_in_flight);
}

/* Clients vanish (reset) while the server waits on their timer, on their backend
   exchange or on their file read, writes their answer or reads their request; then others
   close between requests (FIN). The server frees each task once its operations are done:
   its fd count (client and backend sockets) returns to the baseline. */
#define KINDS 6
static void case_client_closes(const struct sut *s)
{
    struct server_proc *be = start_backend(0);
    char up[32];
    snprintf(up, sizeof up, "127.0.0.1:%d", server_port(be));
    const char *const args[] = {"--upstream", up, "--data-file", test_data_file(), NULL};
    struct server_proc *sp = start(s, args);
    int port = server_port(sp);
    pid_t pid = server_pid(sp);
    int fds0 = fd_count(pid, 0), fds;
    expect_served(s, port, "the warm-up");
    EXPECT(s, fds_settle(pid, fds0, &fds), "the warm-up left %d fds, %d before", fds, fds0);

    struct hc_conn *c[KINDS * EACH];
    for (int i = 0; i < KINDS * EACH; i++) {
        c[i] = connect_ok(s, port);
        switch (i % KINDS) {
        case 0: send_get(s, c[i], "/?wait_us=300000"); break;
        case 1: send_big(s, c[i]); break;
        case 2: send_ok(s, c[i], "GET / HTTP/1.1\r\n", 16, "half a request"); break;
        case 3: send_get(s, c[i], "/?io=net&wait_us=300000"); break;
        case 4: send_get(s, c[i], "/?io=file&file_kib=1024"); break;
        default:
            send_get(s, c[i], "/?bytes=2");
            expect_200(s, c[i], 2, "before a close between requests");
            break;
        }
    }
    tenv_sleep_ms(50);
    int during = fd_count(pid, 0);
    for (int i = 0; i < KINDS * EACH; i++) {
        if (i % KINDS == KINDS - 1)
            hc_close(c[i]);
        else
            hc_abort(c[i]);
    }
    bool back = fds_settle(pid, fds0, &fds);
    cr_log_info("[%s] fds: %d before, %d with %d clients and their backend connections, %d after",
                s->name, fds0, during, KINDS * EACH, fds);
    EXPECT(s, during >= fds0 + KINDS * EACH + EACH,
           "%d fds with %d clients (%d of them on the backend), %d before", during, KINDS * EACH,
           EACH, fds0);
    EXPECT(s, back, "%d fds after the clients left, %d before", fds, fds0);
    expect_served(s, port, "after the clients left");
    json_t *ctr = stop_counters(s, sp, SIGTERM, NULL);
    /* A reset during a file read may come after the read and its answer: then it is a close
       between requests. Every other reset client had a request in flight. */
    long long aborted = counter(s, ctr, "aborted");
    EXPECT(s, aborted >= (KINDS - 2) * EACH && aborted <= (KINDS - 1) * EACH,
           "aborted = %lld, want %d to %d", aborted, (KINDS - 2) * EACH, (KINDS - 1) * EACH);
    EXPECT(s, counter(s, ctr, "upstream_errors") == 0 && counter(s, ctr, "file_errors") == 0,
           "upstream_errors %lld, file_errors %lld: a client's close is neither",
           counter(s, ctr, "upstream_errors"), counter(s, ctr, "file_errors"));
    stop_ok(&BACKEND, be);
}

Test(uring, client_close_frees_tasks_with_operations_in_flight)
{
    for_each_mode(case_client_closes);
}

/* The idle timeout closes tasks whose receive is in flight (idle after an answer, or half
   a request): the receive is cancelled, the fds come back. */
static void case_idle_cancel(const struct sut *s)
{
    const char *const idle[] = {"--idle-timeout-ms", "300", NULL};
    struct server_proc *sp = start(s, idle);
    int port = server_port(sp);
    pid_t pid = server_pid(sp);
    int fds0 = fd_count(pid, 0), fds;
    struct hc_conn *c[2 * EACH];
    for (int i = 0; i < 2 * EACH; i++) {
        c[i] = connect_ok(s, port);
        if (i % 2) {
            send_ok(s, c[i], "GET / HTTP/1.1\r\n", 16, "half a request");
        } else {
            send_get(s, c[i], "/?bytes=4");
            expect_200(s, c[i], 4, "before idling");
        }
    }
    for (int i = 0; i < 2 * EACH; i++)
        EXPECT(s, hc_wait_close(c[i], tenv_io_ms()) == 1,
               "connection %d still open past the idle timeout", i);
    EXPECT(s, fds_settle(pid, fds0, &fds), "%d fds after the idle timeouts, %d before", fds, fds0);
    json_t *ctr = stop_counters(s, sp, SIGTERM, NULL);
    EXPECT(s, counter(s, ctr, "idle_timeouts") == 2 * EACH, "idle_timeouts = %lld, want %d",
           counter(s, ctr, "idle_timeouts"), 2 * EACH);
    EXPECT(s, counter(s, ctr, "aborted") == EACH, "aborted = %lld, want %d",
           counter(s, ctr, "aborted"), EACH);
    for (int i = 0; i < 2 * EACH; i++)
        hc_close(c[i]);
}

Test(uring, idle_timeout_cancels_receives)
{
    for_each_mode(case_idle_cancel);
}

/* ---- the --recv modes ------------------------------------------------------------------ */

/* 3000 pipelined requests (about 120 KiB, far past the ring mode's 16 KiB read-ahead cap)
   sent while the answers are read: every answer comes, in order (each asks for a different
   length). The ring mode stops receiving at the cap and starts again as it catches up. */
#define PIPELINED 3000
static void case_pipeline_flood(const struct sut *s)
{
    struct server_proc *sp = start(s, NULL);
    struct hc_conn *c = connect_ok(s, server_port(sp));
    static char batch[100 * 64];
    int sent = 0, got = 0;
    while (got < PIPELINED) {
        if (sent < PIPELINED && sent - got < 1500) {
            size_t used = 0;
            for (int k = 0; k < 100; k++, sent++)
                used += (size_t)snprintf(batch + used, sizeof batch - used,
                                         "GET /?bytes=%d&wait_us=%d HTTP/1.1\r\nHost: a\r\n\r\n",
                                         sent % 97, sent % 10 == 0 ? 200 : 0);
            send_ok(s, c, batch, used, "a batch of pipelined requests");
        }
        /* Read what has come, without blocking the sending for long. */
        struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
        if (poll(&pfd, 1, sent < PIPELINED ? 1 : tenv_io_ms()) > 0)
            while (hc_fill(c) > 0)
                ;
        struct hc_response r;
        while (got < PIPELINED && hc_try_response(c, &r) == 1) {
            bool good = r.status == 200 && hc_body_is(&r, (size_t)(got % 97), 'x');
            size_t len = r.body_len;
            int status = r.status;
            hc_response_free(&r);
            EXPECT(s, good, "answer %d: status %d, %zu bytes, want 200 with %d", got, status, len,
                   got % 97);
            got++;
        }
        EXPECT(s, !c->eof && !c->reset, "closed after %d of %d answers", got, PIPELINED);
        if (sent == PIPELINED && pfd.revents == 0)
            EXPECT(s, got == PIPELINED, "only %d of %d answers within %d ms", got, PIPELINED,
                   tenv_io_ms());
    }
    hc_close(c);
    json_t *ctr = stop_counters(s, sp, SIGTERM, NULL);
    EXPECT(s, counter(s, ctr, "requests") == PIPELINED, "requests = %lld",
           counter(s, ctr, "requests"));
}

Test(uring, pipelining_past_the_read_ahead_cap)
{
    for_each_mode(case_pipeline_flood);
}

/* RSS per idle keep-alive connection (each served one request): in ring mode a task holds
   no buffer and no parser state, at most 1 KiB (the lean target); in conn mode it
   holds its 4 KiB buffer and its framer, at least 3 KiB more. Release builds only: the
   sanitizers' allocators change what a malloc costs. */
#define IDLE_CONNS 2000
static double idle_bytes_per_conn(const struct sut *s)
{
    struct server_proc *sp = start(s, NULL);
    int port = server_port(sp);
    pid_t pid = server_pid(sp);
    expect_served(s, port, "the warm-up");
    struct proc_mem before, after;
    EXPECT(s, procfs_read_status(pid, &before) == 0, "/proc/%d/status: %s", (int)pid,
           strerror(errno));
    static struct hc_conn *c[IDLE_CONNS];
    for (int i = 0; i < IDLE_CONNS; i++) {
        c[i] = connect_ok(s, port);
        send_get(s, c[i], "/?bytes=1");
        expect_200(s, c[i], 1, "before idling");
    }
    EXPECT(s, procfs_read_status(pid, &after) == 0, "/proc/%d/status: %s", (int)pid,
           strerror(errno));
    for (int i = 0; i < IDLE_CONNS; i++)
        hc_close(c[i]);
    stop_counters(s, sp, SIGTERM, NULL);
    double per = (double)(after.rss_kib - before.rss_kib) * 1024 / IDLE_CONNS;
    cr_log_info("[%s] RSS %ld -> %ld KiB with %d idle connections: %.0f B each", s->name,
                before.rss_kib, after.rss_kib, IDLE_CONNS, per);
    return per;
}

Test(uring, idle_connection_memory, .timeout = 120)
{
    const struct sut *s = sut_named("uring"), *sc = sut_named("uring-conn");
    if (!s || !sc)
        cr_skip_test("TVT_IMPLS=%s does not enable both uring and uring-conn", getenv("TVT_IMPLS"));
    if (tenv_sanitized())
        cr_skip_test("RSS per connection is measured on release builds only");
    double ring = idle_bytes_per_conn(s), conn = idle_bytes_per_conn(sc);
    EXPECT(s, ring <= 1024, "--recv ring: %.0f B per idle connection, want at most 1024", ring);
    EXPECT(s, conn >= ring + 3072,
           "--recv conn: %.0f B per idle connection, --recv ring %.0f: the 4 KiB buffer held "
           "per connection should show",
           conn, ring);
}
