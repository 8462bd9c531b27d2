/* test_fd_limits: out of file descriptors (RLIMIT_NOFILE, set before exec or lowered on
 * a running server), a server serves what it can, does not spin on accept, and recovers.
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
#include <sys/resource.h>

#include "../support/http_client.h"
#include "../support/itest.h"
#include "../support/server_proc.h"
#include "../support/test_env.h"

TestSuite(fd_limits, .fini = itest_release, .timeout = 60);

/* ---- fd exhaustion ---------------------------------------------------------------------- */

/* With RLIMIT_NOFILE at 32 (set before exec), 40 connections: the ones the server could
   accept are served, the rest wait in the backlog while the server neither dies nor spins,
   and are served once the first ones close. */
#define FD_CONNS 40
static void case_fd_limit(const struct sut *srv)
{
    const struct server_rlimit lim = {RLIMIT_NOFILE, 32, 32};
    struct server_proc *sp = start_with(srv, NULL, &lim, 1);
    int port = server_port(sp);
    struct hc_conn *c[FD_CONNS];
    bool answered[FD_CONNS] = {false};
    int n = 0;
    for (int i = 0; i < FD_CONNS; i++) {
        c[i] = connect_ok(srv, port); /* the kernel completes the handshake into the backlog */
        send_get(srv, c[i], "/?bytes=1");
    }
    double cpu0 = cpu_seconds(server_pid(sp)), t0 = tenv_now_ms();
    for (int i = 0; i < FD_CONNS; i++) {
        struct hc_response *r = resp_new();
        int rc = hc_read_response(c[i], r, i == 0 ? tenv_io_ms() : (int)(50 * tenv_slack()));
        int e = errno;
        EXPECT(srv, rc == 0 || e == ETIMEDOUT, "connection %d: %s", i, strerror(e));
        if (rc == 0) {
            EXPECT(srv, r->status == 200, "connection %d: status %d", i, r->status);
            answered[i] = true;
            n++;
        }
        resp_done(r);
    }
    tenv_sleep_ms(300); /* the server sits at its fd limit */
    double cpu = cpu_seconds(server_pid(sp)) - cpu0, wall = (tenv_now_ms() - t0) / 1e3;
    cr_log_info("[%s] %d of %d connections served at RLIMIT_NOFILE 32; %.2f s CPU in %.2f s",
                srv->name, n, FD_CONNS, cpu, wall);
    EXPECT(srv, n >= 16 && n < FD_CONNS,
           "%d of %d connections answered with 32 fds: want at least 16 and not all", n, FD_CONNS);
    EXPECT(srv, cpu >= 0 && cpu < 0.3 * wall,
           "the server burnt %.2f s CPU in %.2f s while out of fds (spinning on accept?)", cpu,
           wall);
    expect_alive(srv, sp, "at its fd limit");
    for (int i = 0; i < FD_CONNS; i++)
        if (answered[i]) {
            hc_close(c[i]);
            c[i] = NULL;
        }
    for (int i = 0; i < FD_CONNS; i++)
        if (c[i]) {
            expect_200(srv, c[i], 1, "a connection that waited for a free fd");
            hc_close(c[i]);
        }
    expect_served(srv, port, "after the fd limit was hit");
    json_t *ctr = stop_counters(srv, sp, SIGTERM, NULL);
    EXPECT(srv, counter(srv, ctr, "accept_emfile") >= 1, "accept_emfile = %lld, want >= 1",
           counter(srv, ctr, "accept_emfile"));
}

SERVER_TEST(fd_limits, fd_limit_recovers, 0, case_fd_limit, .timeout = 30)

/* ---- fd exhaustion -------------------------------------------------------------------- */

/* Running servers get RLIMIT_NOFILE lowered (prlimit) to leave room for FD_ROOM more fds;
   FD_ROOM + FD_WAITING clients connect and ask. The first FD_ROOM are served, the rest wait
   in the backlog while accept fails with EMFILE. For 1 s the open ones send a keep-alive
   request every 100 ms and are answered, while the server uses under 20% of a CPU (it does
   not spin on a listening socket that stays readable). Closing 3 open connections lets
   exactly 3 waiting ones in; closing the rest lets everyone in. */
#define FD_ROOM    8
#define FD_WAITING 10
#define FD_FREED   3
struct unanswered {
    struct hc_conn **c;
    const bool *answered;
};

static bool unanswered(int i, void *arg)
{
    const struct unanswered *u = arg;
    return u->c[i] && !u->answered[i];
}

static int count_answered(struct hc_conn **c, bool *answered, int n, int timeout_ms, int stop_at)
{
    double deadline = tenv_now_ms() + timeout_ms;
    int got = 0;
    for (int i = 0; i < n; i++)
        got += answered[i];
    while (got < stop_at && tenv_now_ms() < deadline) {
        int ready[FD_ROOM + FD_WAITING], left = (int)(deadline - tenv_now_ms());
        int k = hc_poll_in(c, n, unanswered, &(struct unanswered){c, answered}, left > 0 ? left : 0,
                           ready);
        if (k < 0)
            break;
        for (int j = 0; j < k; j++) {
            struct hc_conn *cc = c[ready[j]];
            while (hc_fill(cc) > 0)
                ;
            struct hc_response r;
            if (hc_try_response(cc, &r) == 1) {
                bool good = r.status == 200 && hc_body_is(&r, 1, 'x');
                hc_response_free(&r);
                if (!good)
                    return -1;
                answered[ready[j]] = true;
                got++;
            } else if (cc->eof || cc->reset) {
                return -1;
            }
        }
    }
    return got;
}

static void case_emfile(const struct sut *srv)
{
    struct server_proc *sp = start(srv, NULL);
    int port = server_port(sp);
    pid_t pid = server_pid(sp);
    int fds0 = fd_count(pid, 0), fds;
    long thr;
    expect_served(srv, port, "before the fd limit");
    EXPECT(srv, settle(pid, fds0, -1, tenv_io_ms(), &fds, &thr),
           "the warm-up connection left %d fds open, %d before", fds, fds0);
    rlim_t lim = (rlim_t)fds0 + FD_ROOM;
    EXPECT(srv, server_set_rlimit(sp, RLIMIT_NOFILE, lim, lim) == 0,
           "prlimit(RLIMIT_NOFILE, %d): %s", (int)lim, strerror(errno));
    int room = (int)lim - fd_count(pid, (int)lim); /* fds below the limit that are still free */

    const int n = FD_ROOM + FD_WAITING;
    struct hc_conn *c[FD_ROOM + FD_WAITING];
    bool answered[FD_ROOM + FD_WAITING] = {false};
    for (int i = 0; i < n; i++) {
        c[i] = connect_ok(srv, port); /* the kernel completes the handshake into the backlog */
        send_get(srv, c[i], "/?bytes=1");
    }
    int got = count_answered(c, answered, n, tenv_io_ms(), room);
    EXPECT(srv, got >= 0, "a connection got a wrong answer or was closed at the fd limit");
    got = count_answered(c, answered, n, (int)(300 * tenv_slack()), n); /* and no more come */
    EXPECT(srv, got == room, "%d of %d connections served with room for %d fds", got, n, room);

    /* One second at the limit: the open ones keep being served, the server stays idle. */
    double cpu0 = cpu_seconds(pid), t0 = tenv_now_ms(), worst = 0;
    int served = 0;
    for (int round = 0; round < 10; round++) {
        for (int i = 0; i < n; i++) {
            if (!answered[i])
                continue;
            double s = tenv_now_ms();
            send_get(srv, c[i], "/?bytes=2");
            expect_200_within(srv, c[i], 2, (int)(200 * tenv_slack()),
                              "a keep-alive request on an open connection at the fd limit");
            double ms = tenv_now_ms() - s;
            worst = ms > worst ? ms : worst;
            served++;
        }
        double next = t0 + 100.0 * (round + 1);
        if (next > tenv_now_ms())
            tenv_sleep_ms(next - tenv_now_ms());
    }
    double cpu = cpu_seconds(pid) - cpu0, wall = (tenv_now_ms() - t0) / 1e3;
    expect_alive(srv, sp, "at its fd limit");
    int waiting_answered = count_answered(c, answered, n, 0, n) - room;
    cr_log_info("[%s] fd limit: %d fds in use, RLIMIT_NOFILE %d: %d served, %d waiting; %d "
                "keep-alive requests (worst %.1f ms); server CPU %.3f s in %.2f s wall (%.1f%%)",
                srv->name, fds0, (int)lim, room, n - room, served, worst, cpu, wall,
                100 * cpu / wall);
    EXPECT(srv, cpu >= 0 && cpu < 0.2 * wall,
           "the server burnt %.3f s CPU in %.2f s while out of fds (spinning on accept?)", cpu,
           wall);
    EXPECT(srv, waiting_answered == 0, "%d waiting connections were answered without a free fd",
           waiting_answered);

    /* Free FD_FREED fds: that many waiting ones get in, no more. */
    int closed = 0;
    for (int i = 0; i < n && closed < FD_FREED; i++)
        if (answered[i]) {
            hc_close(c[i]);
            c[i] = NULL;
            closed++;
        }
    double tf = tenv_now_ms();
    got = count_answered(c, answered, n, tenv_io_ms(), room + FD_FREED);
    double in_ms = tenv_now_ms() - tf;
    EXPECT(srv, got == room + FD_FREED, "after %d connections closed, %d waiting ones got in",
           FD_FREED, got - room);
    got = count_answered(c, answered, n, (int)(300 * tenv_slack()), n);
    EXPECT(srv, got == room + FD_FREED, "after %d connections closed, %d waiting ones got in",
           FD_FREED, got - room);
    cr_log_info("[%s] fd limit: %d closed, %d waiting ones served %.0f ms later", srv->name,
                FD_FREED, FD_FREED, in_ms);

    /* Free everything: all the rest get in. */
    for (int i = 0; i < n; i++)
        if (c[i] && answered[i]) {
            hc_close(c[i]);
            c[i] = NULL;
        }
    got = count_answered(c, answered, n, tenv_io_ms(), n);
    EXPECT(srv, got == n, "after every open connection closed, %d of %d were served", got, n);
    for (int i = 0; i < n; i++)
        hc_close(c[i]);
    expect_served(srv, port, "after the fd limit");
    json_t *ctr = stop_counters(srv, sp, SIGTERM, NULL);
    EXPECT(srv, counter(srv, ctr, "accept_emfile") >= 1, "accept_emfile = %lld, want >= 1",
           counter(srv, ctr, "accept_emfile"));
    EXPECT(srv, counter(srv, ctr, "accepted") == n + 2, "accepted = %lld, want %d",
           counter(srv, ctr, "accepted"), n + 2);
}

SERVER_TEST(fd_limits, fd_exhaustion_no_spin, 0, case_emfile, .timeout = 60)
