/* test_resets: clients that vanish, reset or close mid-request, mid-wait and mid-answer:
 * no fd or thread leaks, no SIGPIPE, every abort counted.
 *
 * Each test runs once per server under test (the table in tests/support/itest.c; env
 * TVT_IMPLS=thread or TVT_IMPLS=async,thread narrows it) and names the server in every
 * assertion. Env TVT_SANITIZER (address|thread) stretches the time bounds for slower builds. */
#include <criterion/criterion.h>

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "../support/http_client.h"
#include "../support/itest.h"
#include "../support/server_proc.h"
#include "../support/test_env.h"

TestSuite(resets, .fini = itest_release, .timeout = 60);

/* Clients that vanish: mid-request (FIN and RST), during the wait, and without reading a
   1 MiB answer. The server keeps serving and counts the aborts. */
static void case_vanish(const struct sut *srv)
{
    struct server_proc *sp = start(srv, NULL);
    int port = server_port(sp);
    const char *half = "GET /?bytes=5 HTTP/1.1\r\nHo";
    struct hc_conn *c = connect_ok(srv, port);
    send_ok(srv, c, half, strlen(half), "half a request, then FIN");
    tenv_sleep_ms(20);
    hc_close(c);

    c = connect_ok(srv, port);
    send_ok(srv, c, half, strlen(half), "half a request, then RST");
    tenv_sleep_ms(20);
    hc_abort(c);

    c = connect_ok(srv, port);
    send_get(srv, c, "/?wait_us=50000&bytes=5");
    hc_abort(c); /* gone before the answer is written */

    c = connect_ok(srv, port);
    send_get(srv, c, "/?bytes=1048576");
    tenv_sleep_ms(20);
    hc_abort(c); /* gone with most of a 1 MiB answer unread */

    tenv_sleep_ms(150); /* past the 50 ms wait */
    expect_alive(srv, sp, "after clients vanished");
    expect_served(srv, port, "after clients vanished");
    json_t *ctr = stop_counters(srv, sp, SIGTERM, NULL);
    EXPECT(srv, counter(srv, ctr, "aborted") >= 2,
           "aborted = %lld, want >= 2 (two clients left mid-request)",
           counter(srv, ctr, "aborted"));
}

SERVER_TEST(resets, client_vanishes_mid_request, 0, case_vanish, .timeout = 30)

/* ---- resets and fd leaks -------------------------------------------------------------- */

/* Clients reset (SO_LINGER 0, then close) mid-request, during a 200 ms wait, and mid-way through
   reading pipelined 1 MiB answers (12 MiB asked: more than the socket buffers hold, so the
   server is surely still writing). Afterwards the server is back at the fds (and threads)
   it had before, serves, and counted every one as aborted. */
#define RESET_EACH 20
static void case_resets(const struct sut *srv)
{
    struct server_proc *sp = start(srv, NULL);
    int port = server_port(sp);
    pid_t pid = server_pid(sp);
    bool threads = srv->flags & SUT_THREADED; /* one thread per connection: count them too */
    int fds0 = fd_count(pid, 0);
    long thr0 = threads ? thread_count(pid) : -1;
    expect_served(srv, port, "before the resets");
    int fds;
    long thr;
    bool back = settle(pid, fds0, thr0, tenv_io_ms(), &fds, &thr);
    EXPECT(srv, back, "after one normal connection: %d fds, %ld threads; %d and %ld before", fds,
           thr, fds0, thr0);

    static char big[12 * 64];
    size_t used = 0;
    for (int i = 0; i < 12; i++)
        used += (size_t)snprintf(big + used, sizeof big - used,
                                 "GET /?bytes=1048576 HTTP/1.1\r\nHost: a\r\n\r\n");
    const char *half = "GET /?bytes=5 HTTP/1.1\r\nHost: a\r\nX-Half: abc";
    /* The pipelining ones first, each until 64 KiB of its answers arrived; then the others,
       whose resets then follow their requests within a few ms (well inside the 200 ms wait). */
    struct hc_conn *c[3 * RESET_EACH];
    int mid_answer = 0;
    for (int i = 2; i < 3 * RESET_EACH; i += 3) {
        c[i] = connect_ok(srv, port);
        send_ok(srv, c[i], big, used, "12 pipelined 1 MiB requests");
        read_at_least(c[i], 65536, tenv_io_ms());
        mid_answer += c[i]->len >= 65536 && !c[i]->eof && !c[i]->reset;
    }
    EXPECT(srv, mid_answer == RESET_EACH, "only %d of %d clients got 64 KiB of their answers",
           mid_answer, RESET_EACH);
    for (int i = 0; i < 3 * RESET_EACH; i++) {
        if (i % 3 == 2)
            continue;
        c[i] = connect_ok(srv, port);
        if (i % 3 == 0)
            send_ok(srv, c[i], half, strlen(half), "half a request");
        else
            send_get(srv, c[i], "/?wait_us=200000&bytes=100");
    }
    double t_sent = tenv_now_ms();
    int during = fd_count(pid, 0);
    while (during < fds0 + 3 * RESET_EACH && tenv_now_ms() < t_sent + 100) {
        tenv_sleep_ms(2);
        during = fd_count(pid, 0);
    }
    long thr_during = threads ? thread_count(pid) : -1;
    for (int i = 0; i < 3 * RESET_EACH; i++)
        hc_abort(c[i]);
    back = settle(pid, fds0, thr0, tenv_io_ms(), &fds, &thr);
    cr_log_info("[%s] resets: fds %d before, %d with %d connections, %d after; threads %ld, %ld, "
                "%ld",
                srv->name, fds0, during, 3 * RESET_EACH, fds, thr0, thr_during, thr);
    EXPECT(srv, during >= fds0 + RESET_EACH,
           "%d fds while %d connections were open, %d before: the count does not see them", during,
           3 * RESET_EACH, fds0);
    EXPECT(srv, back,
           "after %d resets the server holds %d fds and %ld threads, %d and %ld before (waited "
           "%d ms)",
           3 * RESET_EACH, fds, thr, fds0, thr0, tenv_io_ms());
    expect_alive(srv, sp, "after the resets");
    expect_served(srv, port, "after the resets");
    json_t *ctr = stop_counters(srv, sp, SIGTERM, NULL);
    long long aborted = counter(srv, ctr, "aborted"), io = counter(srv, ctr, "io_errors");
    EXPECT(srv, aborted == 3 * RESET_EACH && io == 0,
           "aborted = %lld, io_errors = %lld; want %d aborted (every reset client was mid-request "
           "or mid-answer)",
           aborted, io, 3 * RESET_EACH);
    /* Answers count when begun: one per waiting client, one or more per pipelining one. */
    long long req = counter(srv, ctr, "requests");
    EXPECT(srv, req >= 2 + 2 * RESET_EACH && req <= 2 + 13 * RESET_EACH,
           "requests = %lld, want %d to %d", req, 2 + 2 * RESET_EACH, 2 + 13 * RESET_EACH);
}

SERVER_TEST(resets, resets_leak_no_fds, 0, case_resets, .timeout = 60)

/* ---- SIGPIPE -------------------------------------------------------------------------- */

/* Clients close (FIN, not reset) while a large answer is due or being written. A server that
   writes to such a socket gets RST and then EPIPE, which raises SIGPIPE unless ignored; the
   test starts servers with every signal at its default, so an unhandled one kills them:
     - close right after the request, during its 20 ms wait: the first write of the 1 MiB
       answer draws the RST, the next one EPIPE (deterministic);
     - read part of 12 pipelined 1 MiB answers, drain what is there, close;
     - half-close after the request, read 64 KiB, close. */
#define PIPE_EACH 15
static void case_sigpipe(const struct sut *srv)
{
    struct server_proc *sp = start(srv, NULL);
    int port = server_port(sp);
    static char big[12 * 64];
    size_t used = 0;
    for (int i = 0; i < 12; i++)
        used += (size_t)snprintf(big + used, sizeof big - used,
                                 "GET /?bytes=1048576 HTTP/1.1\r\nHost: a\r\n\r\n");
    struct hc_conn *c[3 * PIPE_EACH];
    for (int i = 0; i < 3 * PIPE_EACH; i++) {
        c[i] = connect_ok(srv, port);
        switch (i % 3) {
        case 0: send_get(srv, c[i], "/?wait_us=20000&bytes=1048576"); break;
        case 1: send_ok(srv, c[i], big, used, "12 pipelined 1 MiB requests"); break;
        default:
            send_get(srv, c[i], "/?bytes=1048576");
            EXPECT(srv, hc_shutdown_write(c[i]) == 0, "shutdown: %s", strerror(errno));
            break;
        }
        if (i % 3 == 0) {
            hc_close(c[i]);
            c[i] = NULL;
        }
    }
    for (int i = 0; i < 3 * PIPE_EACH; i++) {
        if (!c[i])
            continue;
        read_at_least(c[i], i % 3 == 1 ? 256 * 1024 : 65536, tenv_io_ms());
        /* Take what has arrived, so that the close is more often a FIN than a reset. */
        size_t had = c[i]->len;
        while (c[i]->len < had + 1048576 && hc_fill(c[i]) > 0)
            ;
        hc_close(c[i]);
    }
    tenv_sleep_ms(100 *
                  tenv_slack()); /* past the 20 ms waits: the servers write into closed sockets */
    expect_alive(srv, sp, "after clients closed during large answers (SIGPIPE?)");
    expect_served(srv, port, "after clients closed during large answers");
    json_t *ctr = stop_counters(srv, sp, SIGTERM, NULL);
    long long aborted = counter(srv, ctr, "aborted");
    cr_log_info("[%s] sigpipe: %d clients closed mid-answer; aborted = %lld, io_errors = %lld",
                srv->name, 3 * PIPE_EACH, aborted, counter(srv, ctr, "io_errors"));
    EXPECT(srv, aborted >= PIPE_EACH,
           "aborted = %lld: at least the %d answers written after the close should fail", aborted,
           PIPE_EACH);
}

SERVER_TEST(resets, sigpipe_never_kills, 0, case_sigpipe, .timeout = 60)
