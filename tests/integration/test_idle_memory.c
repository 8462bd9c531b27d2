/* test_idle_memory: what an idle keep-alive connection costs the event-loop servers, from
 * the server's VmRSS: 1000 connections after one request each, then after requests that
 * left bytes behind (a request split across reads, one behind a wait with half of the next
 * one after it, answers too large for one write). With --buffers lean an idle task holds
 * its fd, watchers and counters (at most 1 KiB per connection, the target nginx's
 * 287-526 B set), and what a request left behind is given back, not held; --buffers conn
 * holds its buffers for the connection's whole life (logged beside it).
 *
 * Runs against the servers under test that are event loops (SUT_FILE_IO; env TVT_IMPLS
 * narrows it). Under sanitizers the traffic runs and the memory figures are only logged:
 * ASan's redzones and quarantine are not the server's memory. */
#include <criterion/criterion.h>

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "../support/http_client.h"
#include "../support/itest.h"
#include "../support/server_proc.h"
#include "../support/test_env.h"
#include "procfs.h"

TestSuite(idle_memory, .fini = itest_release, .timeout = 120);

#define CONNS 1000

static bool is_lean(const struct sut *s)
{
    for (size_t i = 0; s->args && s->args[i] && s->args[i + 1]; i++)
        if (strcmp(s->args[i], "--buffers") == 0 && strcmp(s->args[i + 1], "lean") == 0)
            return true;
    return false;
}

static long rss_kib(const struct sut *s, struct server_proc *sp)
{
    struct proc_mem pm;
    EXPECT(s, procfs_read_status(server_pid(sp), &pm) == 0, "reading /proc/%d/status",
           (int)server_pid(sp));
    return pm.rss_kib;
}

/* Requests that leave bytes behind them, on connection i, answered and checked. */
static void leave_bytes_behind(const struct sut *s, struct hc_conn *c, int i)
{
    switch (i % 3) {
    case 0: { /* a request split across two reads: the task holds a framer in between */
        const char *req = "GET /?bytes=3 HTTP/1.1\r\nHost: a\r\nX-Pad: 0123456789\r\n\r\n";
        send_ok(s, c, req, 20, "the first part of a split request");
        tenv_sleep_ms(0.2);
        send_ok(s, c, req + 20, strlen(req) - 20, "the rest of a split request");
        expect_200(s, c, 3, "a split request");
        break;
    }
    case 1: { /* a wait with pipelined requests behind it, the last one half sent */
        const char *reqs = "GET /?bytes=1&wait_us=1000 HTTP/1.1\r\nHost: a\r\n\r\n"
                           "GET /?bytes=2 HTTP/1.1\r\nHost: a\r\n\r\n"
                           "GET /?bytes=4 HTTP/1.1\r\nHo";
        send_ok(s, c, reqs, strlen(reqs), "pipelined requests behind a wait");
        expect_200(s, c, 1, "the request that waited");
        expect_200(s, c, 2, "the request behind the wait");
        send_ok(s, c, "st: a\r\n\r\n", 9, "the end of the half-sent request");
        expect_200(s, c, 4, "the half-sent request, completed");
        break;
    }
    default: { /* an answer larger than one write, another pipelined behind it */
        const char *reqs = "GET /?bytes=300000 HTTP/1.1\r\nHost: a\r\n\r\n"
                           "GET /?bytes=5 HTTP/1.1\r\nHost: a\r\n\r\n";
        send_ok(s, c, reqs, strlen(reqs), "a large answer and a small one");
        expect_200(s, c, 300000, "a large answer");
        expect_200(s, c, 5, "the answer behind a large one");
        break;
    }
    }
}

static void case_idle_memory(const struct sut *srv)
{
    struct server_proc *sp = start(srv, NULL);
    int port = server_port(sp);
    static struct hc_conn *c[CONNS];
    int n = tenv_scaled(CONNS);

    expect_served(srv, port, "before the connections"); /* the loop's buffers are touched */
    long before = rss_kib(srv, sp);
    for (int i = 0; i < n; i++) {
        c[i] = connect_ok(srv, port);
        send_get(srv, c[i], "/?bytes=16");
        expect_200(srv, c[i], 16, "one request on each connection");
    }
    long idle = rss_kib(srv, sp);
    for (int i = 0; i < n; i++)
        leave_bytes_behind(srv, c[i], i);
    for (int i = 0; i < n; i++) { /* and each one idle again, still served */
        send_get(srv, c[i], "/?bytes=6");
        expect_200(srv, c[i], 6, "a request after those");
    }
    long after = rss_kib(srv, sp);
    double per_conn = (idle - before) * 1024.0 / n, left = (after - idle) * 1024.0 / n;
    cr_log_info("[%s] %d idle keep-alive connections: %.0f B of RSS each; %+.0f B each after "
                "requests that left bytes behind (RSS %ld -> %ld -> %ld KiB)",
                srv->name, n, per_conn, left, before, idle, after);
    for (int i = 0; i < n; i++)
        hc_close(c[i]);
    json_t *ctr = stop_counters(srv, sp, SIGTERM, NULL);
    EXPECT(srv, counter(srv, ctr, "accepted") == n + 1, "accepted %lld, want %d",
           counter(srv, ctr, "accepted"), n + 1);
    if (tenv_sanitized())
        return;
    if (is_lean(srv)) {
        EXPECT(srv, per_conn <= 1024,
               "an idle lean connection costs %.0f B of RSS (target: at most 1 KiB)", per_conn);
        /* A task that kept a 2.3 KiB framer, 4 KiB of input or a head after its request
           was done would add kilobytes per connection here. */
        EXPECT(srv, left <= 256,
               "RSS grew by %.0f B per connection after requests that left bytes behind: "
               "a lean task should give them back",
               left);
    } else {
        /* Sanity: the measurement sees a conn task's buffers (a 4 KiB read buffer, a head
           buffer, a framer: about 7 KiB, partly untouched). */
        EXPECT(srv, per_conn >= 2048, "an idle conn connection costs only %.0f B of RSS", per_conn);
    }
}

SERVER_TEST(idle_memory, idle_connections_hold_little, SUT_FILE_IO, case_idle_memory,
            .timeout = 120)
