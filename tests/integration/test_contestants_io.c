/* test_contestants_io: the io= kinds on every contestant that honours the query (Tokio on
 * both runtimes, the Rust thread server, Go).
 *
 * Against a backend (the suite's async_server, started here on port 0) and a data file
 * under build/ (itest_proc.h's: 16 MiB of real data): io=timer, io=net and io=file each answer
 * 200 after at least their wait (the backend's wait_us; for the file, the bytes the device
 * delivered, from /proc/PID/io); pipelined requests of mixed kinds answer in order; a
 * killed backend gives 502 on a connection that stays open while timer requests go on being
 * served, and service comes back with the backend; a data file on tmpfs (/dev/shm), a
 * missing one and a short one stop the server at start with exit 2 and a message naming the
 * file (and the filesystem); the graceful stop answers a request waiting on the backend and
 * cuts one past --grace-ms without counting it as the backend's failure. */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../support/contestant.h"
#include "../support/http_client.h"
#include "../support/server_proc.h"
#include "../support/test_env.h"

#define EXPECT   CT_EXPECT
#define WAIT_MS  20
#define FILE_KIB 8
#define SLACK_MS 0.5 /* timers may round a little below; never by a whole ms */

/* Starts who with --upstream on the backend and --data-file on the shared data file. */
static struct ct_running *start_io(const struct contestant *who, struct server_proc *backend)
{
    static char upstream[64];
    snprintf(upstream, sizeof upstream, "127.0.0.1:%d", server_port(backend));
    const char *const args[] = {
        "--upstream", upstream, "--data-file", test_data_file(), "--upstream-timeout-ms",
        "3000",       NULL};
    return ct_start(who, args);
}

/* One request on c, answered 200 with `bytes` bytes; returns how long it took, ms. */
static double timed_200(const struct ct_running *r, struct hc_conn *c, const char *target,
                        size_t bytes, const char *what)
{
    char req[256];
    snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: a\r\n\r\n", target);
    double t0 = tenv_now_ms();
    ct_send(r, c, req, what);
    ct_expect_200(r, c, bytes, what);
    return tenv_now_ms() - t0;
}

static void case_kinds(const struct contestant *who)
{
    struct server_proc *backend = ct_backend_start(0);
    struct ct_running *r = start_io(who, backend);
    pid_t pid = server_pid(r->sp);
    struct hc_conn *c = ct_connect(r);
    char target[128];

    snprintf(target, sizeof target, "/?io=timer&wait_us=%d&bytes=5", WAIT_MS * 1000);
    double t = timed_200(r, c, target, 5, "io=timer");
    EXPECT(who->name, t >= WAIT_MS - SLACK_MS, "io=timer wait_us=%d answered after %.1f ms",
           WAIT_MS * 1000, t);

    /* Twice: the second reuses the connection's backend connection. */
    for (int i = 0; i < 2; i++) {
        snprintf(target, sizeof target, "/?io=net&wait_us=%d&bytes=9", WAIT_MS * 1000);
        t = timed_200(r, c, target, 9, i ? "io=net, reused backend" : "io=net");
        EXPECT(who->name, t >= WAIT_MS - SLACK_MS,
               "io=net wait_us=%d answered after %.1f ms: before the backend", WAIT_MS * 1000, t);
    }

    long long before = storage_read_bytes(pid);
    for (int i = 0; i < 3; i++) {
        snprintf(target, sizeof target, "/?io=file&file_kib=%d&bytes=4", FILE_KIB);
        timed_200(r, c, target, 4, "io=file");
    }
    timed_200(r, c, "/?io=file&file_kib=1024&bytes=1", 1, "io=file, 1024 KiB");
    long long after = storage_read_bytes(pid);
    /* O_DIRECT reads come from the device, so the kernel counts them in read_bytes (a
       page-cache hit would not). */
    if (before >= 0 && after >= 0)
        EXPECT(who->name, after - before >= 3 * FILE_KIB * 1024 + 1024 * 1024,
               "the io=file reads took %lld bytes from storage, want at least %d", after - before,
               3 * FILE_KIB * 1024 + 1024 * 1024);

    /* Mixed kinds pipelined: answered in order, each after the one before it. */
    char pipelined[512];
    snprintf(pipelined, sizeof pipelined,
             "GET /?io=net&wait_us=%d&bytes=3 HTTP/1.1\r\nHost: a\r\n\r\n"
             "GET /?io=file&bytes=6 HTTP/1.1\r\nHost: a\r\n\r\n"
             "GET /?io=timer&wait_us=1000&bytes=2 HTTP/1.1\r\nHost: a\r\n\r\n",
             WAIT_MS * 1000);
    double t0 = tenv_now_ms();
    ct_send(r, c, pipelined, "three pipelined kinds");
    ct_expect_200(r, c, 3, "the first of three pipelined kinds (io=net)");
    t = tenv_now_ms() - t0;
    ct_expect_200(r, c, 6, "the second of three pipelined kinds (io=file)");
    ct_expect_200(r, c, 2, "the third of three pipelined kinds (io=timer)");
    EXPECT(who->name, t >= WAIT_MS - SLACK_MS, "a pipelined io=net answered after %.1f ms", t);
    hc_close(c);

    json_t *ctr = ct_stop(r, 10);
    EXPECT(who->name,
           ct_counter(who->name, ctr, "status_502") == 0 &&
               ct_counter(who->name, ctr, "upstream_errors") == 0 &&
               ct_counter(who->name, ctr, "file_errors") == 0,
           "errors counted with a healthy backend and file");
}

/* The backend dies: io=net gets 502 (counted; the connection stays, and its next request
   reconnects), io=timer goes on; the backend is back on its port: 200 again. */
static void case_backend_down(const struct contestant *who)
{
    struct server_proc *backend = ct_backend_start(0);
    int bport = server_port(backend);
    struct ct_running *r = start_io(who, backend);
    struct hc_conn *c = ct_connect(r);
    timed_200(r, c, "/?io=net&wait_us=1000&bytes=2", 2, "io=net, backend up");
    ct_backend_kill(backend);

    for (int i = 0; i < 2; i++) {
        ct_send(r, c, "GET /?io=net&wait_us=1000&bytes=2 HTTP/1.1\r\nHost: a\r\n\r\n",
                "io=net, backend gone");
        ct_expect_status(r, c, 502, "backend", true, "io=net with the backend gone");
        timed_200(r, c, "/?io=timer&wait_us=1000&bytes=3", 3, "io=timer, backend gone");
    }
    /* A new connection is served as well. */
    struct hc_conn *c2 = ct_connect(r);
    timed_200(r, c2, "/?bytes=1", 1, "a new connection, backend gone");
    hc_close(c2);

    ct_backend_start(bport);
    timed_200(r, c, "/?io=net&wait_us=1000&bytes=4", 4, "io=net, backend back");
    timed_200(r, c, "/?io=net&wait_us=1000&bytes=4", 4, "io=net, backend back, reused");
    hc_close(c);
    json_t *ctr = ct_stop(r, 6);
    EXPECT(who->name, ct_counter(who->name, ctr, "status_502") == 2, "status_502 = %lld, want 2",
           ct_counter(who->name, ctr, "status_502"));
    EXPECT(who->name, ct_counter(who->name, ctr, "upstream_errors") == 2,
           "upstream_errors = %lld, want 2", ct_counter(who->name, ctr, "upstream_errors"));
}

/* The stop reaches a wait on the backend: with --grace-ms 300 a request waiting 100 ms on it
   at SIGTERM is answered (Connection: close), one waiting 5 s is cut at the end of the grace,
   its connection closed unanswered, and neither is a backend failure (no 502, no upstream
   error counted). */
static void case_stop_on_backend(const struct contestant *who)
{
    struct server_proc *backend = ct_backend_start(0);
    char upstream[64];
    snprintf(upstream, sizeof upstream, "127.0.0.1:%d", server_port(backend));
    const char *const args[] = {"--upstream", upstream, "--grace-ms", "300", NULL};
    struct ct_running *r = ct_start(who, args);
    struct hc_conn *quick = ct_connect(r), *slow = ct_connect(r);
    ct_send(r, quick, "GET /?io=net&wait_us=100000&bytes=3 HTTP/1.1\r\nHost: a\r\n\r\n",
            "io=net, 100 ms");
    ct_send(r, slow, "GET /?io=net&wait_us=5000000&bytes=3 HTTP/1.1\r\nHost: a\r\n\r\n",
            "io=net, 5 s");
    tenv_sleep_ms(30); /* both wait on the backend */
    double t_sig = tenv_now_ms();
    ct_signal(r, SIGTERM);
    ct_expect_status(r, quick, 200, NULL, false, "io=net in flight at SIGTERM");
    ct_expect_cut(r, slow, t_sig, 300, 2000, "io=net");
    EXPECT(who->name, ct_exited_within(r, 2000), "still running 2 s after a 300 ms grace");
    json_t *ctr = ct_stop(r, 1);
    EXPECT(who->name,
           ct_counter(who->name, ctr, "stop_answered") == 1 &&
               ct_counter(who->name, ctr, "stop_cut") == 1,
           "stop_answered %lld, stop_cut %lld, want 1 each",
           ct_counter(who->name, ctr, "stop_answered"), ct_counter(who->name, ctr, "stop_cut"));
    EXPECT(who->name,
           ct_counter(who->name, ctr, "status_502") == 0 &&
               ct_counter(who->name, ctr, "upstream_errors") == 0,
           "the cut counted as the backend's failure: status_502 %lld, upstream_errors %lld",
           ct_counter(who->name, ctr, "status_502"), ct_counter(who->name, ctr, "upstream_errors"));
}

/* Runs bin/<impl>_server with args and expects exit 2 with every `want` in its output. */
static void expect_refusal(const struct contestant *who, const char *file, const char *want2,
                           const char *what)
{
    char path[256], out[8192];
    ct_binary(who, path, sizeof path);
    char *argv[8] = {path};
    int n = 1;
    for (int i = 0; who->args && who->args[i] && n < 4; i++) /* --runtime: each flavour */
        argv[n++] = (char *)who->args[i];
    argv[n++] = "--data-file";
    argv[n++] = (char *)file;
    argv[n] = NULL;
    int st = tenv_run_cmd(argv, out, sizeof out, tenv_io_ms());
    EXPECT(who->name, WIFEXITED(st) && WEXITSTATUS(st) == 2,
           "%s: status %d, want exit 2 at start; output: %s", what, st, out);
    EXPECT(who->name, strstr(out, file), "%s: the message does not name %s: %s", what, file, out);
    EXPECT(who->name, !want2 || strstr(out, want2), "%s: the message does not say '%s': %s", what,
           want2, out);
    EXPECT(who->name, !strstr(out, "listening on"), "%s: it listened anyway: %s", what, out);
}

static void case_data_file_refused(const struct contestant *who)
{
    char shm[64], shortf[128];
    if (access("/dev/shm", W_OK) < 0)
        cr_skip_test("/dev/shm is not writable here: %s", strerror(errno));
    snprintf(shm, sizeof shm, "/dev/shm/tvt-itest-%d.bin", (int)getpid());
    int fd = open(shm, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    cr_assert(fd >= 0, "creating %s: %s", shm, strerror(errno));
    static char block[1 << 16];
    memset(block, 'd', sizeof block);
    for (int i = 0; i < 32; i++) /* 2 MiB: long enough, so only the filesystem is wrong */
        cr_assert(write(fd, block, sizeof block) == (ssize_t)sizeof block, "writing %s", shm);
    close(fd);
    expect_refusal(who, shm, "tmpfs", "a data file on tmpfs");
    unlink(shm);

    expect_refusal(who, "build/no-such-data-file.bin", NULL, "a missing data file");
    snprintf(shortf, sizeof shortf, "build/itest-short-%d.bin", (int)getpid());
    fd = open(shortf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    cr_assert(fd >= 0 && write(fd, block, 4096) == 4096, "writing %s", shortf);
    close(fd);
    expect_refusal(who, shortf, "1024 KiB", "a data file of 4 KiB");
    unlink(shortf);
}

TestSuite(contestants_io, .fini = ct_release, .timeout = 60);

#define IO_TESTS(tag, who)                                                                         \
    CT_TEST(contestants_io, tag, who, kinds)                                                       \
    CT_TEST(contestants_io, tag, who, backend_down)                                                \
    CT_TEST(contestants_io, tag, who, data_file_refused)                                           \
    CT_TEST(contestants_io, tag, who, stop_on_backend)

CT_QUERY_CONTESTANTS(IO_TESTS)
