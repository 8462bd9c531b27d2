/* test_thread_limits: a threaded server that cannot create more threads answers 503 to the
 * excess connections and serves the rest, idle or in the middle of serving.
 *
 * Each test runs once per server under test (the table in tests/support/itest.c; env
 * TVT_IMPLS=thread or TVT_IMPLS=async,thread narrows it) and names the server in every
 * assertion. Env TVT_SANITIZER (address|thread) stretches the time bounds for slower builds. */
#include <criterion/criterion.h>

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "../support/http_client.h"
#include "../support/itest.h"
#include "../support/load_driver.h"
#include "../support/server_proc.h"
#include "../support/test_env.h"
#include "procfs.h"

TestSuite(thread_limits, .fini = itest_release, .timeout = 60);

/* Starts srv with 8 MiB stacks, warms it up and limits its address space to its measured
   size plus room for `stacks` stacks and half a stack (for malloc). Warming up first matters:
   the first thread creates its malloc arena and, once gone, leaves its stack in glibc's
   cache, both counted in the size measured. The limit in *limit, the size in *vsz_kib. */
static struct server_proc *start_with_room_for(const struct sut *srv, int stacks, rlim_t *limit,
                                               long *vsz_kib)
{
    const long stack_kib = 8192;
    const char *args[] = {"--stack-kib", "8192", NULL};
    struct server_proc *sp = start(srv, args);
    expect_served(srv, server_port(sp), "before the limit");
    tenv_sleep_ms(50);
    struct proc_mem pm;
    EXPECT(srv, procfs_read_status(server_pid(sp), &pm) == 0, "reading /proc/%d/status: %s",
           (int)server_pid(sp), strerror(errno));
    *limit = (rlim_t)(pm.vsz_kib + stacks * stack_kib + stack_kib / 2) * 1024;
    *vsz_kib = pm.vsz_kib;
    EXPECT(srv, server_set_rlimit(sp, RLIMIT_AS, *limit, RLIM_INFINITY) == 0,
           "prlimit(RLIMIT_AS, %llu): %s", (unsigned long long)*limit, strerror(errno));
    return sp;
}

/* Reads from a connection that has sent nothing, so that an answer can only be the 503 of a
   server that could not make it a thread: true when that 503 came and the connection was
   closed after it, false when nothing came within timeout_ms. */
static bool got_unasked_503(const struct sut *srv, struct hc_conn *c, int timeout_ms,
                            const char *what, int i)
{
    struct hc_response *r = resp_new();
    int rc = hc_read_response(c, r, timeout_ms);
    int e = errno;
    if (rc < 0) {
        resp_done(r);
        EXPECT(srv, e == ETIMEDOUT, "%s %d: %s", what, i, strerror(e));
        return false;
    }
    EXPECT(srv, r->status == 503, "%s %d: unasked answer %d", what, i, r->status);
    EXPECT(srv, hc_wait_close(c, tenv_io_ms()) == 1, "%s %d: open after 503", what, i);
    resp_done(r);
    return true;
}

/* ---- thread exhaustion ----------------------------------------------------------------- */

/* The thread server, made unable to map more thread stacks, answers 503 to the excess
   connections and serves the rest. RLIMIT_NPROC does not bind root, so the limit is on
   address space: set with prlimit once the server runs, at its measured size plus room for
   THREADS_OK stacks and half a stack (for malloc), so that only stacks can fail. Measuring
   first is what makes this work under ASan and TSan too: their shadow reservations are
   already in the measured size, where a limit set before exec would stop them starting. */
#define THREADS_OK 3
#define HELD       12
static void case_thread_503(const struct sut *srv)
{
    rlim_t limit;
    long vsz_kib;
    struct server_proc *sp = start_with_room_for(srv, THREADS_OK, &limit, &vsz_kib);
    int port = server_port(sp);

    struct hc_conn *c[HELD];
    bool got503[HELD] = {false};
    for (int i = 0; i < HELD; i++)
        c[i] = connect_ok(srv, port);
    int n503 = 0;
    for (int i = 0; i < HELD; i++) {
        /* Held connections send nothing yet: an answer now can only be the 503. */
        got503[i] = got_unasked_503(srv, c[i], i < THREADS_OK ? 100 : (int)(300 * tenv_slack()),
                                    "held connection", i);
        n503 += got503[i];
    }
    /* glibc's cached stack from the warm-up makes room for one more; allow some slack for
       the libc and sanitizer runtimes, but most of the excess must be refused. */
    EXPECT(srv, n503 >= HELD - THREADS_OK - 3,
           "%d of %d connections got 503, want at least %d, with room for about %d threads "
           "(RLIMIT_AS %llu, VmSize was %ld KiB)",
           n503, HELD, HELD - THREADS_OK - 3, THREADS_OK + 1, (unsigned long long)limit, vsz_kib);
    EXPECT(srv, n503 <= HELD - THREADS_OK,
           "%d of %d connections got 503, but %d threads should fit", n503, HELD, THREADS_OK);
    cr_log_info("[%s] %d of %d held connections got 503 (RLIMIT_AS %llu KiB, VmSize %ld KiB)",
                srv->name, n503, HELD, (unsigned long long)(limit / 1024), vsz_kib);
    expect_alive(srv, sp, "after failing to create threads");
    for (int i = 0; i < HELD; i++) {
        if (got503[i])
            continue;
        send_get(srv, c[i], "/?bytes=6");
        expect_200(srv, c[i], 6, "a connection that got a thread");
    }
    for (int i = 0; i < HELD; i++)
        hc_close(c[i]);
    tenv_sleep_ms(100); /* their threads end and free their stacks */
    expect_served(srv, port, "after the held connections closed");
    json_t *ctr = stop_counters(srv, sp, SIGTERM, NULL);
    EXPECT(srv, counter(srv, ctr, "thread_create_failed") >= n503,
           "thread_create_failed = %lld, but %d connections got 503",
           counter(srv, ctr, "thread_create_failed"), n503);
    EXPECT(srv, counter(srv, ctr, "status_503") == n503, "status_503 = %lld, want %d",
           counter(srv, ctr, "status_503"), n503);
}

SERVER_TEST(thread_limits, thread_server_503_without_threads, SUT_THREADED, case_thread_503,
            .timeout = 30)

static struct load ld;

/* ---- thread exhaustion while serving ---------------------------------------------------- */

/* The thread server, out of address space for more stacks (RLIMIT_AS at its measured size
   plus room for KEEP_CONNS stacks, as in the case above), refuses new connections with 503
   while the connections that have threads are answering keep-alive requests at that very
   moment: a helper drives them continuously; the excess connections arrive one every 20 ms
   in the middle of it. */
#define KEEP_CONNS 3
#define EXCESS     8
static void case_503_while_serving(const struct sut *srv)
{
    rlim_t limit;
    long vsz_kib;
    struct server_proc *sp = start_with_room_for(srv, KEEP_CONNS, &limit, &vsz_kib);
    int port = server_port(sp);

    load_init(&ld, KEEP_CONNS, 1, 2000, false);
    for (int i = 0; i < KEEP_CONNS; i++) {
        ld.c[i] = connect_ok(srv, port);
        send_get(srv, ld.c[i], "/?bytes=3");
        expect_200(srv, ld.c[i], 3, "a connection that got a thread under the limit");
    }
    bg_start(load_main, &ld);
    tenv_sleep_ms(50);

    struct hc_conn *x[EXCESS];
    bool refused[EXCESS] = {false};
    int n503 = 0;
    double t_begin = tenv_now_ms();
    for (int j = 0; j < EXCESS; j++) {
        x[j] = connect_ok(srv, port);
        refused[j] = got_unasked_503(srv, x[j], (int)(300 * tenv_slack()), "excess connection", j);
        n503 += refused[j];
        tenv_sleep_ms(20);
    }
    double t_end = tenv_now_ms();
    tenv_sleep_ms(50);
    bg_join(true);
    int fewest = 1 << 30;
    for (int i = 0; i < KEEP_CONNS; i++) {
        int in = 0;
        for (int k = 0; k < ld.ndone[i]; k++)
            in += ld.done_ms[i][k] >= t_begin && ld.done_ms[i][k] <= t_end;
        fewest = in < fewest ? in : fewest;
    }
    cr_log_info("[%s] %d of %d excess connections got 503 in %.0f ms while %d open connections "
                "were answered %ld times (fewest in that window: %d)",
                srv->name, n503, EXCESS, t_end - t_begin, KEEP_CONNS, atomic_load(&ld.ok), fewest);
    EXPECT(srv, ld.bad == 0 && ld.cut == 0 && ld.send_failed == 0 && ld.closed == 0,
           "the open connections under the limit: %ld wrong answers (%s), %ld cut, %ld failed "
           "sends, %ld closed",
           ld.bad, ld.first_bad, ld.cut, ld.send_failed, atomic_load(&ld.closed));
    EXPECT(srv, fewest >= 5,
           "an open connection got only %d answers while the excess was refused over %.0f ms",
           fewest, t_end - t_begin);
    /* glibc's cached stack from the warm-up makes room for one more thread. */
    EXPECT(srv, n503 >= EXCESS - 2, "%d of %d excess connections got 503, want at least %d", n503,
           EXCESS, EXCESS - 2);
    expect_alive(srv, sp, "after refusing connections");
    for (int i = 0; i < KEEP_CONNS; i++) {
        send_get(srv, ld.c[i], "/?bytes=6");
        expect_200(srv, ld.c[i], 6, "an open connection after the excess was refused");
    }
    for (int j = 0; j < EXCESS; j++) {
        if (!refused[j]) { /* it got a thread after all: it is served */
            send_get(srv, x[j], "/?bytes=6");
            expect_200(srv, x[j], 6, "an excess connection that got a thread");
        }
        hc_close(x[j]);
    }
    for (int i = 0; i < KEEP_CONNS; i++)
        hc_close(ld.c[i]);
    tenv_sleep_ms(100); /* their threads end and free their stacks */
    expect_served(srv, port, "after the open connections closed");
    json_t *ctr = stop_counters(srv, sp, SIGTERM, NULL);
    EXPECT(srv, counter(srv, ctr, "status_503") == n503, "status_503 = %lld, want %d",
           counter(srv, ctr, "status_503"), n503);
    EXPECT(srv, counter(srv, ctr, "thread_create_failed") >= n503,
           "thread_create_failed = %lld, but %d connections got 503",
           counter(srv, ctr, "thread_create_failed"), n503);
}

SERVER_TEST(thread_limits, thread_503_while_serving, SUT_THREADED, case_503_while_serving,
            .timeout = 60)
