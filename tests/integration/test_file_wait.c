/* test_file_wait: io=file: a request waits on an O_DIRECT read of the data file (16 MiB
 * of real data the tests write under build/), in every --file-io mode of an event loop;
 * pipelined requests of every kind answer in order; a data file that would not wait on a
 * device, or is missing or short, stops the server at start; bad io= and file_kib= get 400.
 *
 * Each test runs once per server under test (the table in tests/support/itest.c; env
 * TVT_IMPLS=thread or TVT_IMPLS=async,thread narrows it), and once per --file-io mode for
 * a server that has them, and names the server in every assertion. Env TVT_SANITIZER
 * (address|thread) stretches the time bounds for slower builds. */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../support/http_client.h"
#include "../support/itest.h"
#include "../support/server_proc.h"
#include "../support/test_env.h"

static char shm_file[64];

static void release_all(void)
{
    itest_release();
    if (shm_file[0])
        unlink(shm_file);
    shm_file[0] = '\0';
}

TestSuite(file_wait, .fini = release_all, .timeout = 60);

static const char *const MODES[] = {"loop", "pool", "uring"};

/* Runs fn once per --file-io mode of srv (with "--file-io", mode as its first arguments),
   or once without for a server that has none. */
static void for_each_mode(const struct sut *srv,
                          void (*fn)(const struct sut *srv, const char *mode, const char **args))
{
    if (!(srv->flags & SUT_FILE_IO)) {
        const char *args[8] = {NULL};
        fn(srv, "", args);
        return;
    }
    for (size_t i = 0; i < sizeof MODES / sizeof MODES[0]; i++) {
        const char *args[8] = {"--file-io", MODES[i], NULL};
        fn(srv, MODES[i], args);
    }
}

/* Appends more arguments to a NULL-terminated args array of 8. */
static void add_args(const char **args, const char *a, const char *b)
{
    size_t n = 0;
    while (args[n])
        n++;
    args[n] = a;
    args[n + 1] = b;
    args[n + 2] = NULL;
}

/* Reads of 4 KiB and 1 MiB are answered 200, and each one was read from the device (the
   process's storage reads grow by at least its length: O_DIRECT, not the page cache). */
static void mode_answered(const struct sut *srv, const char *mode, const char **args)
{
    add_args(args, "--data-file", test_data_file());
    struct server_proc *sp = start(srv, args);
    struct hc_conn *c = connect_ok(srv, server_port(sp));
    static const struct {
        const char *target;
        long long len;
    } READS[] = {
        {"/?io=file&bytes=5", 4096},
        {"/?io=file&file_kib=8&bytes=5", 8192},
        {"/?io=file&file_kib=1024&bytes=5", 1 << 20},
        {"/?io=file&file_kib=4&work_us=2000&bytes=5", 4096},
    };
    long long want = 0, before = storage_read_bytes(server_pid(sp));
    EXPECT(srv, before >= 0, "cannot read /proc/%d/io", (int)server_pid(sp));
    for (int round = 0; round < 5; round++)
        for (size_t i = 0; i < sizeof READS / sizeof READS[0]; i++) {
            double ms = timed_get(srv, c, READS[i].target, 5);
            if (strstr(READS[i].target, "work_us"))
                EXPECT(srv, ms >= 2, "[%s] a read and 2 ms of work took %.2f ms", mode, ms);
            want += READS[i].len;
        }
    long long got = storage_read_bytes(server_pid(sp)) - before;
    cr_log_info("[%s%s%s] 20 reads of %lld bytes: the storage layer read %lld", srv->name,
                *mode ? " " : "", mode, want, got);
    EXPECT(srv, got >= want,
           "[%s] 20 io=file requests of %lld bytes in all, but the process read only %lld "
           "from storage: not O_DIRECT?",
           mode, want, got);
    hc_close(c);
    json_t *ctr = stop_counters(srv, sp, SIGTERM, NULL);
    EXPECT(srv, counter(srv, ctr, "requests") == 20 && counter(srv, ctr, "file_errors") == 0,
           "[%s] requests %lld (want 20), file_errors %lld", mode, counter(srv, ctr, "requests"),
           counter(srv, ctr, "file_errors"));
}

static void case_answered(const struct sut *srv)
{
    for_each_mode(srv, mode_answered);
}

SERVER_TEST(file_wait, reads_from_the_device, 0, case_answered, .timeout = 60)

/* Pipelined requests of all three kinds, some waiting long and some not at all, answer in
   the order they came (bodies of 1..9 bytes tell them apart). */
static void mode_pipelined(const struct sut *srv, const char *mode, const char **args)
{
    struct server_proc *be = start_backend(0);
    char up[32];
    snprintf(up, sizeof up, "127.0.0.1:%d", server_port(be));
    add_args(args, "--data-file", test_data_file());
    add_args(args, "--upstream", up);
    struct server_proc *sp = start(srv, args);
    static const char *const TARGETS[] = {
        "/?io=net&wait_us=20000&bytes=1",
        "/?io=file&file_kib=1024&bytes=2",
        "/?bytes=3",
        "/?io=file&bytes=4",
        "/?wait_us=10000&bytes=5",
        "/?io=net&bytes=6",
        "/?io=file&file_kib=64&bytes=7",
        "/?io=net&wait_us=1000&bytes=8",
        "/?io=timer&bytes=9",
    };
    char batch[4096] = "";
    for (size_t i = 0; i < sizeof TARGETS / sizeof TARGETS[0]; i++) {
        char req[256];
        get_req(req, sizeof req, TARGETS[i], NULL);
        strcat(batch, req);
    }
    for (int round = 0; round < 3; round++) {
        struct hc_conn *c = connect_ok(srv, server_port(sp));
        send_ok(srv, c, batch, strlen(batch), "9 pipelined requests of mixed kinds");
        for (size_t i = 0; i < sizeof TARGETS / sizeof TARGETS[0]; i++) {
            char what[128];
            snprintf(what, sizeof what, "[%s] pipelined answer %zu (%s)", mode, i + 1, TARGETS[i]);
            expect_200(srv, c, i + 1, what);
        }
        hc_close(c);
    }
    json_t *ctr = stop_counters(srv, sp, SIGTERM, NULL);
    EXPECT(srv, counter(srv, ctr, "requests") == 27, "[%s] requests = %lld, want 27", mode,
           counter(srv, ctr, "requests"));
    stop_ok(&BACKEND, be);
}

static void case_pipelined(const struct sut *srv)
{
    for_each_mode(srv, mode_pipelined);
}

SERVER_TEST(file_wait, pipelined_kinds_in_order, 0, case_pipelined, .timeout = 60)

/* Reads the answers a connection gets after the signal until it is closed: each a 200 of one
   byte. Returns how many. */
static long answers_until_close(const struct sut *srv, struct hc_conn *c, const char *mode)
{
    long n = 0;
    for (;;) {
        struct hc_response *r = resp_new();
        int rc = hc_read_response(c, r, tenv_io_ms());
        int e = errno;
        if (rc < 0) {
            resp_done(r);
            EXPECT(srv, e == ECONNABORTED || e == ECONNRESET,
                   "[%s] after the signal: %s, want answers and then a close", mode, strerror(e));
            return n;
        }
        EXPECT(srv, r->status == 200 && hc_body_is(r, 1, 'x'), "[%s] an answer: %d, %.100s", mode,
               r->status, r->body);
        n++;
        resp_done(r);
    }
}

/* SIGTERM while 1 MiB reads are in flight on 20 connections (8 pipelined on each): every
   read in flight is answered and none cut (a read is short next to the grace), the
   connections are closed, the exit is prompt, and (under ASan) no task is freed while the
   pool or the kernel still writes into its buffer, none leaked. */
static void mode_sigterm(const struct sut *srv, const char *mode, const char **args)
{
    add_args(args, "--data-file", test_data_file());
    struct server_proc *sp = start(srv, args);
    struct hc_conn *c[20];
    char batch[4096] = "";
    for (int i = 0; i < 8; i++) {
        char req[128];
        get_req(req, sizeof req, "/?io=file&file_kib=1024&bytes=1", NULL);
        strcat(batch, req);
    }
    for (int i = 0; i < 20; i++) {
        c[i] = connect_ok(srv, server_port(sp));
        send_ok(srv, c[i], batch, strlen(batch), "8 pipelined 1 MiB reads");
    }
    tenv_sleep_ms(50);
    double t0 = tenv_now_ms();
    kill(server_pid(sp), SIGTERM);
    long answers = 0;
    for (int i = 0; i < 20; i++)
        answers += answers_until_close(srv, c[i], mode);
    json_t *ctr = await_counters(srv, sp, NULL);
    double ms = tenv_now_ms() - t0;
    EXPECT(srv, ms < 2000 * tenv_slack(), "[%s] SIGTERM with reads in flight took %.0f ms", mode,
           ms);
    EXPECT(srv, counter(srv, ctr, "stop_cut") == 0, "[%s] stop_cut = %lld: a read was cut", mode,
           counter(srv, ctr, "stop_cut"));
    EXPECT(srv, counter(srv, ctr, "stop_answered") == counter(srv, ctr, "stop_inflight"),
           "[%s] stop_answered %lld of stop_inflight %lld", mode,
           counter(srv, ctr, "stop_answered"), counter(srv, ctr, "stop_inflight"));
    EXPECT(srv, answers <= counter(srv, ctr, "requests") && counter(srv, ctr, "file_errors") == 0,
           "[%s] %ld answers read, requests %lld, file_errors %lld", mode, answers,
           counter(srv, ctr, "requests"), counter(srv, ctr, "file_errors"));
    for (int i = 0; i < 20; i++)
        hc_close(c[i]);
}

static void case_sigterm(const struct sut *srv)
{
    for_each_mode(srv, mode_sigterm);
}

SERVER_TEST(file_wait, sigterm_with_reads_in_flight, 0, case_sigterm, .timeout = 60)

/* Runs srv with args; asserts exit 2 and a message naming each of needles. */
static void expect_refused(const struct sut *srv, const char *const *args, const char *what,
                           const char *n1, const char *n2, const char *n3)
{
    char path[4096], out[8192];
    char *argv[16] = {path};
    int n = 1;
    snprintf(path, sizeof path, "%s/%s", tenv_bin_dir(), srv->binary);
    for (size_t i = 0; srv->args && srv->args[i] && n < 8; i++)
        argv[n++] = (char *)srv->args[i];
    for (size_t i = 0; args[i] && n < 15; i++)
        argv[n++] = (char *)args[i];
    int st = tenv_run_cmd(argv, out, sizeof out, (int)(5000 * tenv_slack()));
    EXPECT(srv, st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 2,
           "%s: exit %d, want 2 (a start-up error); output: %s", what,
           WIFEXITED(st) ? WEXITSTATUS(st) : -1, out);
    const char *needles[] = {n1, n2, n3};
    for (int i = 0; i < 3; i++)
        EXPECT(srv, !needles[i] || strstr(out, needles[i]), "%s: the message lacks '%s': %s", what,
               needles[i], out);
    EXPECT(srv, !strstr(out, "listening on"), "%s: it listened anyway: %s", what, out);
}

/* A data file that is missing, too short or not a file, and io flags without what they
   need: the server refuses to start (exit 2), naming the file or flag, what is wrong and
   the fix. */
static void case_startup(const struct sut *srv)
{
    char shortf[] = "build/itest-data/short-XXXXXX", block[4096];
    test_data_file(); /* makes build/itest-data, skips on a memory filesystem */
    int fd = mkstemp(shortf);
    EXPECT(srv, fd >= 0, "mkstemp: %s", strerror(errno));
    memset(block, 's', sizeof block);
    for (int i = 0; i < 256; i++) /* 1 MiB: under the 2 MiB minimum */
        EXPECT(srv, write(fd, block, sizeof block) == (ssize_t)sizeof block, "write");
    close(fd);
    const char *a_short[] = {"--data-file", shortf, NULL};
    expect_refused(srv, a_short, "a 1 MiB data file", shortf, "2 MiB", NULL);
    unlink(shortf);
    const char *a_missing[] = {"--data-file", "build/itest-data/no-such-file", NULL};
    expect_refused(srv, a_missing, "a missing data file", "build/itest-data/no-such-file",
                   "No such file", NULL);
    const char *a_dir[] = {"--data-file", "build/itest-data", NULL};
    expect_refused(srv, a_dir, "a directory", "not a regular file", NULL, NULL);
    const char *a_nofile[] = {"--io", "file", NULL};
    expect_refused(srv, a_nofile, "--io file without a data file", "--data-file", NULL, NULL);
    const char *a_noup[] = {"--io", "net", NULL};
    expect_refused(srv, a_noup, "--io net without a backend", "--upstream", NULL, NULL);
    const char *a_kib[] = {"--file-kib", "6", NULL};
    expect_refused(srv, a_kib, "--file-kib 6", "--file-kib", "multiple of 4", NULL);
    const char *a_remote[] = {"--upstream", "192.0.2.1:80", NULL};
    expect_refused(srv, a_remote, "a remote backend", "loopback", "--allow-remote", NULL);
}

SERVER_TEST(file_wait, bad_data_file_stops_the_start, 0, case_startup, .timeout = 60)

/* A data file on tmpfs: O_DIRECT opens there (Linux 6.6 on) but reads are memory copies,
   so the server refuses it, naming tmpfs and the fix. */
static void case_tmpfs(const struct sut *srv)
{
    char block[4096];
    snprintf(shm_file, sizeof shm_file, "/dev/shm/tvt-itest-%d", (int)getpid());
    int fd = open(shm_file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    EXPECT(srv, fd >= 0, "%s: %s", shm_file, strerror(errno));
    memset(block, 's', sizeof block);
    for (int i = 0; i < 1024; i++) /* 4 MiB: long enough, on the wrong filesystem */
        EXPECT(srv, write(fd, block, sizeof block) == (ssize_t)sizeof block, "write");
    close(fd);
    const char *a_shm[] = {"--data-file", shm_file, NULL};
    expect_refused(srv, a_shm, "a data file on tmpfs", shm_file, "tmpfs", "--data-dir");
    unlink(shm_file);
    shm_file[0] = '\0';
}

static void case_tmpfs_here(const struct sut *srv)
{
    struct statfs sf;
    if (statfs("/dev/shm", &sf) != 0 || sf.f_type != TMPFS_MAGIC)
        cr_skip_test("/dev/shm is not tmpfs here: no tmpfs to put a data file on");
    case_tmpfs(srv);
}

SERVER_TEST(file_wait, tmpfs_data_file_refused, 0, case_tmpfs_here, .timeout = 30)

/* Bad io= and file_kib= values, and kinds the server was not started for: 400 naming the
   rule or the missing flag, then a close; the server goes on. */
static void case_bad_query(const struct sut *srv)
{
    struct server_proc *sp = start(srv, NULL);
    static const struct {
        const char *target;
        const char *names;
    } BAD[] = {
        {"/?io=disk", "io"},          {"/?io=", "io"},
        {"/?io=FILE", "io"},          {"/?file_kib=6", "file_kib"},
        {"/?file_kib=0", "file_kib"}, {"/?file_kib=1028", "file_kib"},
        {"/?io=net", "--upstream"},   {"/?io=file", "--data-file"},
    };
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        char req[256];
        get_req(req, sizeof req, BAD[i].target, NULL);
        struct hc_conn *c = connect_ok(srv, server_port(sp));
        send_ok(srv, c, req, strlen(req), BAD[i].target);
        struct hc_response *r = resp_new();
        read_ok(srv, c, r, BAD[i].target);
        EXPECT(srv, r->status == 400 && strstr(r->body, BAD[i].names),
               "%s: status %d, want 400 naming '%s'; body: %.200s", BAD[i].target, r->status,
               BAD[i].names, r->body);
        EXPECT(srv, hc_wait_close(c, tenv_io_ms()) == 1, "%s: open after the 400", BAD[i].target);
        resp_done(r);
        hc_close(c);
    }
    expect_served(srv, server_port(sp), "after bad io queries");
    json_t *ctr = stop_counters(srv, sp, SIGTERM, NULL);
    EXPECT(srv, counter(srv, ctr, "status_400") == 8, "status_400 = %lld, want 8",
           counter(srv, ctr, "status_400"));
}

SERVER_TEST(file_wait, bad_io_queries_400, 0, case_bad_query, .timeout = 30)
