/* test_contestants: the Tokio, Rust-threads, Go and nginx contestants answer like the C
 * servers.
 *
 * For each contestant that is there: curl gets a 200 with the asked body, a keep-alive
 * sequence and a pipelined pair are answered in order on one connection, malformed input
 * (the io kinds' keys included) gets a 4xx and a close, an idle connection is closed after
 * --idle-timeout-ms, --workers is taken, and SIGTERM ends the server with exit 0 and its
 * counters (claim C7's shared table and graceful stop: test_contestants_c7.c). The Rust
 * thread server's own flags (--stack-kib), its 503 when no thread can be made, and its wall
 * of threads (no crash, two maps a thread) are checked too. A contestant whose binary or
 * toolchain is absent is skipped with the reason. `make contestants` builds bin/ only (never
 * into TVT_BIN_DIR), so they are looked for in bin/ relative to the repo root, where the tests
 * run. The io= kinds are in test_contestants_io.c, tokio_micro in test_tokio_micro.c. */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../support/child_proc.h"
#include "../support/contestant.h"
#include "../support/http_client.h"
#include "../support/server_proc.h"
#include "../support/test_env.h"
#include "procfs.h"

#define EXPECT CT_EXPECT

static bool honours_query(const struct ct_running *r)
{
    return r->who->impl != NULL;
}

static void case_curl(const struct contestant *who)
{
    char curl[4096], url[128], out[4096];
    if (!tenv_find_program("curl", curl, sizeof curl))
        cr_skip_test("curl is not installed (apt-get install curl)");
    struct ct_running *r = ct_start(who, NULL);
    size_t bytes = honours_query(r) ? 13 : CT_NGINX_BYTES;
    snprintf(url, sizeof url, "http://127.0.0.1:%d/?bytes=%zu", r->port, bytes);
    char *argv[] = {curl, "-s", "--max-time", "5", "-w", "\n%{http_code}", url, NULL};
    int st = tenv_run_cmd(argv, out, sizeof out, tenv_io_ms() + 1000);
    EXPECT(who->name, WIFEXITED(st) && WEXITSTATUS(st) == 0, "curl %s: status %d: %s", url, st,
           out);
    char want[64];
    snprintf(want, sizeof want, "%.*s\n200", (int)bytes, "xxxxxxxxxxxxxxxxxxxx");
    EXPECT(who->name, strcmp(out, want) == 0, "curl %s printed '%s', want '%s'", url, out, want);
    ct_stop(r, honours_query(r) ? 1 : -1);
}

/* Five requests of different sizes on one connection, then a pipelined pair whose first
   waits 20 ms: the second must not overtake it, and the wait must really be waited. */
static void case_keep_alive(const struct contestant *who)
{
    struct ct_running *r = ct_start(who, NULL);
    bool query = honours_query(r);
    struct hc_conn *c = ct_connect(r);
    char req[256], what[64];
    for (int i = 0; i < 5; i++) {
        size_t bytes = query ? (size_t)i * 31 : CT_NGINX_BYTES;
        snprintf(req, sizeof req, "GET /?bytes=%zu HTTP/1.1\r\nHost: a\r\n\r\n", bytes);
        snprintf(what, sizeof what, "keep-alive request %d", i);
        ct_send(r, c, req, what);
        ct_expect_200(r, c, bytes, what);
    }
    const char *pair = "GET /?bytes=3&wait_us=20000 HTTP/1.1\r\nHost: a\r\n\r\n"
                       "GET /?bytes=5 HTTP/1.1\r\nHost: a\r\n\r\n";
    double t0 = tenv_now_ms();
    ct_send(r, c, pair, "a pipelined pair");
    ct_expect_200(r, c, query ? 3 : CT_NGINX_BYTES, "the first of a pipelined pair");
    double waited = tenv_now_ms() - t0;
    ct_expect_200(r, c, query ? 5 : CT_NGINX_BYTES, "the second of a pipelined pair");
    if (query)
        EXPECT(who->name, waited >= 19.5, "wait_us=20000 answered after %.1f ms", waited);
    EXPECT(who->name, hc_wait_close(c, 50) == 0, "connection closed after keep-alive answers");
    hc_close(c);
    ct_stop(r, query ? 7 : -1);
}

/* Query mistakes answered with a 4xx and a close by the contestants that honour the query:
   the target, the status, a text the body must hold (NULL: any) and what it is. */
static const struct {
    const char *target;
    int status;
    const char *body_has, *what;
} QUERY_ERRORS[] = {
    {"/elsewhere", 404, NULL, "another path"},
    {"/?nope=1", 400, "nope", "an unknown key"},
    {"/?wait_us=60000001", 400, "wait_us", "wait_us out of range"},
    {"/?bytes=1048577", 400, "bytes", "bytes out of range"},
    {"/?io=disk", 400, "io", "an unknown io kind"},
    {"/?file_kib=6", 400, "multiple of 4", "file_kib not a multiple of 4"},
    {"/?file_kib=1028", 400, "file_kib", "file_kib over 1024 (never clamped)"},
    {"/?io=net", 400, "--upstream", "io=net without --upstream"},
    {"/?io=file", 400, "--data-file", "io=file without --data-file"},
};

static void case_malformed(const struct contestant *who)
{
    struct ct_running *r = ct_start(who, NULL);
    ct_expect_error_close(r, "GARBAGE\r\n\r\n", 400, NULL, "a malformed request line");
    /* nginx keeps the connection after its own 404: only the suite's rules are checked. */
    if (honours_query(r)) {
        static char big[12000];
        for (size_t i = 0; i < sizeof QUERY_ERRORS / sizeof QUERY_ERRORS[0]; i++) {
            char req[256];
            snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: a\r\n\r\n", QUERY_ERRORS[i].target);
            ct_expect_error_close(r, req, QUERY_ERRORS[i].status, QUERY_ERRORS[i].body_has,
                                  QUERY_ERRORS[i].what);
        }
        ct_expect_error_close(r, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", 405,
                              NULL, "POST");
        snprintf(big, sizeof big, "GET /?bytes=1&%02100d HTTP/1.1\r\nHost: a\r\n\r\n", 0);
        ct_expect_error_close(r, big, 414, NULL, "a 2.1 KB request-target");
        snprintf(big, sizeof big, "GET / HTTP/1.1\r\nHost: a\r\nX-Big: %09000d\r\n\r\n", 0);
        ct_expect_error_close(r, big, 431, NULL, "a 9 KB header field");
    }
    /* The server still serves after all that. */
    struct hc_conn *c = ct_connect(r);
    ct_send(r, c, "GET /?bytes=7 HTTP/1.1\r\nHost: a\r\n\r\n", "a request after the errors");
    ct_expect_200(r, c, 7, "a request after the errors");
    hc_close(c);
    json_t *ctr = ct_stop(r, honours_query(r) ? 1 : -1);
    if (ctr)
        EXPECT(who->name, ct_counter(who->name, ctr, "status_400") == 9,
               "status_400 = %lld, want 9", ct_counter(who->name, ctr, "status_400"));
}

/* --idle-timeout-ms: a silent connection and one that stops mid-request are both closed,
   and counted; a connection that keeps asking is not. No upper bound on when. */
static void case_idle_timeout(const struct contestant *who)
{
    const char *const args[] = {"--idle-timeout-ms", "300", NULL};
    struct ct_running *r = ct_start(who, args);
    struct hc_conn *busy = ct_connect(r);
    struct hc_conn *silent = ct_connect(r);
    struct hc_conn *partial = ct_connect(r);
    ct_send(r, partial, "GET /?bytes=1 HTTP/1.1\r\nHo", "half a request");
    for (int i = 0; i < 4; i++) { /* 4 x 100 ms: past the timeout in all, never idle */
        ct_send(r, busy, "GET /?bytes=2&wait_us=100000 HTTP/1.1\r\nHost: a\r\n\r\n", "busy");
        ct_expect_200(r, busy, 2, "a request every 100 ms");
    }
    EXPECT(who->name, hc_wait_close(silent, tenv_io_ms()) == 1,
           "a silent connection is still open well past --idle-timeout-ms 300");
    EXPECT(who->name, hc_wait_close(partial, tenv_io_ms()) == 1,
           "a connection stuck mid-request is still open well past --idle-timeout-ms 300");
    EXPECT(who->name, silent->len == 0 && partial->len == 0, "an idle close sent bytes");
    ct_send(r, busy, "GET /?bytes=3 HTTP/1.1\r\nHost: a\r\n\r\n", "busy, last");
    ct_expect_200(r, busy, 3, "the busy connection, still open");
    hc_close(busy);
    json_t *ctr = ct_stop(r, 5);
    EXPECT(who->name, ct_counter(who->name, ctr, "idle_timeouts") == 2,
           "idle_timeouts = %lld, want 2", ct_counter(who->name, ctr, "idle_timeouts"));
    EXPECT(who->name, ct_counter(who->name, ctr, "aborted") >= 1,
           "the mid-request close is not counted as aborted");
}

/* --workers 2 means what each --help says (threads, processes or GOMAXPROCS); all serve. */
static void case_workers(const struct contestant *who)
{
    const char *const args[] = {"--workers", "2", NULL};
    struct ct_running *r = ct_start(who, args);
    for (int i = 0; i < 6; i++) {
        struct hc_conn *c = ct_connect(r);
        ct_send(r, c, "GET /?bytes=4 HTTP/1.1\r\nHost: a\r\n\r\n", "a request with --workers 2");
        ct_expect_200(r, c, 4, "a request with --workers 2");
        hc_close(c);
    }
    json_t *ctr = ct_stop(r, 6);
    json_t *w = json_object_get(ctr, "workers");
    if (w) /* processes behind SO_REUSEPORT: the counters are their sum */
        EXPECT(who->name, json_integer_value(w) == 2, "counters say %lld workers, want 2",
               (long long)json_integer_value(w));
}

TestSuite(contestants, .fini = ct_release, .timeout = 30);

#define CONTESTANT_TESTS(tag, who)                                                                 \
    CT_TEST(contestants, tag, who, curl)                                                           \
    CT_TEST(contestants, tag, who, keep_alive)                                                     \
    CT_TEST(contestants, tag, who, malformed)

#define QUERY_TESTS(tag, who)                                                                      \
    CONTESTANT_TESTS(tag, who)                                                                     \
    CT_TEST(contestants, tag, who, idle_timeout)                                                   \
    CT_TEST(contestants, tag, who, workers)

CT_QUERY_CONTESTANTS(QUERY_TESTS)
CONTESTANT_TESTS(nginx, CT_NGINX)

/* nginx --workers 2: a master and two workers (the process tree the harness measures), under
   the wrapper that makes SIGTERM nginx's graceful stop, serving, and ended by SIGTERM with
   exit 0. */
Test(contestants, nginx_workers)
{
    const char *const args[] = {"--workers", "2", NULL};
    struct ct_running *r = ct_start(&CT_NGINX, args);
    pid_t master = child_find(r->pid, "nginx");
    EXPECT("nginx", master > 0, "nginx --workers 2: no nginx master under the stop wrapper %d",
           (int)r->pid);
    char path[64], kids[256] = "";
    snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)master, (int)master);
    FILE *f = fopen(path, "r");
    if (f) {
        if (!fgets(kids, sizeof kids, f))
            kids[0] = '\0';
        fclose(f);
        int n = 0;
        for (char *save, *t = strtok_r(kids, " \n", &save); t; t = strtok_r(NULL, " \n", &save))
            n++;
        EXPECT("nginx", n == 2, "nginx --workers 2 has %d worker processes, want 2", n);
    }
    for (int i = 0; i < 4; i++) {
        struct hc_conn *c = ct_connect(r);
        ct_send(r, c, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", "a request to 2 workers");
        ct_expect_200(r, c, CT_NGINX_BYTES, "a request to 2 workers");
        hc_close(c);
    }
    ct_stop(r, -1);
}

/* `scripts/contestants.sh list`: NAME<TAB>COMMAND<TAB>QUERY, one line per ready contestant;
   the runtimes that are sized by the server's CPUs say {workers}, the others do not. */
Test(contestants, list_sizes_runtimes_with_workers)
{
    char out[8192];
    char *argv[] = {"scripts/contestants.sh", "list", NULL};
    int st = tenv_run_cmd(argv, out, sizeof out, tenv_io_ms());
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "contestants.sh list: status %d: %s", st, out);
    static const struct {
        const char *name, *bin;
        bool sized;
    } want[] = {{"tokio-current", "bin/tokio_server", false},
                {"tokio-multi", "bin/tokio_server", true},
                {"rust-threads", "bin/rust_thread_server", false},
                {"go", "bin/go_server", true}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        char head[64];
        snprintf(head, sizeof head, "%s\t", want[i].name);
        const char *line = strstr(out, head);
        if (access(want[i].bin, X_OK) < 0) {
            cr_expect(!line, "list offers %s, whose %s is not built", want[i].name, want[i].bin);
            continue;
        }
        cr_assert(line && (line == out || line[-1] == '\n'), "list has no %s line: %s",
                  want[i].name, out);
        const char *end = strchr(line, '\n');
        char l[512];
        snprintf(l, sizeof l, "%.*s", end ? (int)(end - line) : (int)strlen(line), line);
        char *tab1 = strchr(l, '\t'), *tab2 = tab1 ? strchr(tab1 + 1, '\t') : NULL;
        cr_assert(tab2 && !strchr(tab2 + 1, '\t'), "not NAME<TAB>COMMAND<TAB>QUERY: '%s'", l);
        cr_expect(strcmp(tab2 + 1, "query") == 0, "%s: QUERY '%s', want query", want[i].name,
                  tab2 + 1);
        cr_expect((strstr(l, "{workers}") != NULL) == want[i].sized, "%s: '%s' %s {workers}",
                  want[i].name, l, want[i].sized ? "lacks" : "should not have");
    }
    char nginx[4096];
    if (tenv_find_program("nginx", nginx, sizeof nginx))
        cr_expect(strstr(out, "nginx\tcontestants/nginx/nginx.sh exec {dir} --port {port} "
                              "--bytes {bytes} --workers {workers}\tfixed"),
                  "the nginx line is not the expected one: %s", out);
}

/* --stack-kib: taken from 32 KiB up, refused below with exit 2 and the reason. */
Test(contestants, rust_threads_stack_kib)
{
    const char *who = CT_RUST_THREADS.name;
    char path[256], out[4096];
    ct_binary(&CT_RUST_THREADS, path, sizeof path);
    char *argv[] = {path, "--stack-kib", "16", NULL};
    int st = tenv_run_cmd(argv, out, sizeof out, tenv_io_ms());
    EXPECT(who, WIFEXITED(st) && WEXITSTATUS(st) == 2, "--stack-kib 16: status %d, want exit 2",
           st);
    EXPECT(who, strstr(out, "--stack-kib"), "--stack-kib 16 refused without naming it: %s", out);
    const char *const args[] = {"--stack-kib", "64", NULL};
    struct ct_running *r = ct_start(&CT_RUST_THREADS, args);
    struct hc_conn *c = ct_connect(r);
    ct_send(r, c, "GET /?bytes=9&wait_us=1000 HTTP/1.1\r\nHost: a\r\n\r\n", "on a 64 KiB stack");
    ct_expect_200(r, c, 9, "on a 64 KiB stack");
    hc_close(c);
    ct_stop(r, 1);
}

/* Lines of /proc/PID/maps: the process's memory maps, or -1. */
static long map_count(pid_t pid)
{
    char path[64], line[512];
    snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    long n = 0;
    while (fgets(line, sizeof line, f))
        n += strchr(line, '\n') != NULL;
    fclose(f);
    return n;
}

/* Opens n connections to r and has each answered once (so each holds its thread). */
static void open_served(struct ct_running *r, int n, const char *what)
{
    for (int i = 0; i < n; i++) {
        struct hc_conn *c = ct_connect(r);
        ct_send(r, c, "GET /?bytes=1 HTTP/1.1\r\nHost: a\r\n\r\n", what);
        ct_expect_200(r, c, 1, what);
    }
}

/* A connection thread takes two maps, its stack and its guard, as a C thread does. std's
   own threads take two more, an alternate signal stack and its guard page, mapped in the
   new thread before its closure runs and a panic (so an abort) when the map fails: at
   vm.max_map_count that made the whole server a SIGABRT, not 503s. Measured after 20
   threads, so that malloc's arenas (made by the first threads) are not counted. */
Test(contestants, rust_threads_two_maps_a_thread)
{
    const char *who = CT_RUST_THREADS.name;
    const char *const args[] = {"--stack-kib", "64", NULL};
    struct ct_running *r = ct_start(&CT_RUST_THREADS, args);
    pid_t pid = server_pid(r->sp);
    open_served(r, 20, "before counting maps");
    long before = map_count(pid);
    open_served(r, 40, "while counting maps");
    long after = map_count(pid);
    EXPECT(who, before > 0 && after > 0, "reading /proc/%d/maps: %s", (int)pid, strerror(errno));
    double per = (double)(after - before) / 40;
    EXPECT(who, per < 3,
           "%.2f maps per connection thread, want 2 (stack and guard); 4 is std's "
           "signal stack and guard back, which abort the server at max_map_count",
           per);
    hc_close_all();
    ct_stop(r, 60);
}

/* A real wall of threads, with no address space left at all: 30 connections served, 20 of
   them closed (their threads end and glibc keeps their stacks for reuse), RLIMIT_AS set to
   what the server holds. The next connections get threads on the kept stacks, which need
   no new memory, until there are none: then pthread_create fails and each further one is
   answered 503, while the connections that have a thread go on, and SIGTERM still ends it
   with exit 0 and its counters. With std's signal stacks a thread on a kept stack would
   have needed a new map, and its panic would have aborted the server. */
Test(contestants, rust_threads_wall_of_threads)
{
    const char *who = CT_RUST_THREADS.name;
    const char *const args[] = {"--stack-kib", "64", NULL};
    struct ct_running *r = ct_start(&CT_RUST_THREADS, args);
    pid_t pid = server_pid(r->sp);
    struct hc_conn *kept[30]; /* all open at once, so that 20 threads end together */
    for (int i = 0; i < 30; i++) {
        kept[i] = ct_connect(r);
        ct_send(r, kept[i], "GET /?bytes=1 HTTP/1.1\r\nHost: a\r\n\r\n", "before the wall");
        ct_expect_200(r, kept[i], 1, "before the wall");
    }
    for (int i = 10; i < 30; i++)
        hc_close(kept[i]);
    struct proc_mem pm = {0};
    double deadline = tenv_now_ms() + tenv_io_ms();
    /* the 10 kept, the accept loop and the signal thread */
    while (procfs_read_status(pid, &pm) == 0 && pm.threads > 12 && tenv_now_ms() < deadline)
        tenv_sleep_ms(5);
    EXPECT(who, pm.threads == 12, "%ld threads 1 s after 20 connections closed, want 12",
           pm.threads);
    EXPECT(who, server_set_rlimit(r->sp, RLIMIT_AS, (rlim_t)pm.vsz_kib * 1024, RLIM_INFINITY) == 0,
           "prlimit(RLIMIT_AS): %s", strerror(errno));
    int n200 = 0, n503 = 0;
    for (int j = 0; j < 40; j++) {
        struct hc_conn *x = ct_connect(r);
        ct_send(r, x, "GET /?bytes=1 HTTP/1.1\r\nHost: a\r\n\r\n", "at the wall");
        struct hc_response *resp = resp_new();
        int rc = hc_read_response(x, resp, tenv_io_ms());
        EXPECT(who, rc == 0, "connection %d at the wall: no answer (the server crashed?)", j);
        EXPECT(who, resp->status == 200 || resp->status == 503,
               "connection %d at the wall: answer %d", j, resp->status);
        if (resp->status == 503) {
            EXPECT(who, strstr(resp->body, "thread"), "a 503 that does not say why: %s",
                   resp->body);
            n503++;
        } else {
            EXPECT(who, n503 == 0, "a 200 after a 503: a thread made with no room left?");
            n200++; /* kept open: it holds its thread */
        }
        resp_done(resp);
    }
    EXPECT(who, n200 >= 10 && n503 >= 10,
           "%d of 40 connections at the wall served on kept stacks and %d answered 503, want "
           "10 of each at least",
           n200, n503);
    for (int i = 0; i < 10; i++) {
        ct_send(r, kept[i], "GET /?bytes=2 HTTP/1.1\r\nHost: a\r\n\r\n", "after the wall");
        ct_expect_200(r, kept[i], 2, "a connection that has a thread, after the wall");
    }
    hc_close_all();
    json_t *ctr = ct_stop(r, 30 + n200 + 10);
    EXPECT(who, ct_counter(who, ctr, "status_503") == n503, "status_503 = %lld, want %d",
           ct_counter(who, ctr, "status_503"), n503);
    EXPECT(who, ct_counter(who, ctr, "thread_create_failed") == n503,
           "thread_create_failed = %lld, want %d", ct_counter(who, ctr, "thread_create_failed"),
           n503);
    EXPECT(who, ct_counter(who, ctr, "accepted") == 70, "accepted = %lld, want 70",
           ct_counter(who, ctr, "accepted"));
}

/* Out of address space for more stacks (RLIMIT_AS at its size plus room for about one
   more 8 MiB stack), the Rust thread server answers the excess connections 503 and counts
   them, as the C thread server does, while the connection that has a thread goes on. */
Test(contestants, rust_threads_503_without_a_thread)
{
    const char *who = CT_RUST_THREADS.name;
    const char *const args[] = {"--stack-kib", "8192", NULL};
    struct ct_running *r = ct_start(&CT_RUST_THREADS, args);
    struct hc_conn *kept = ct_connect(r);
    ct_send(r, kept, "GET /?bytes=1 HTTP/1.1\r\nHost: a\r\n\r\n", "before the limit");
    ct_expect_200(r, kept, 1, "before the limit");
    tenv_sleep_ms(50);
    struct proc_mem pm;
    pid_t pid = server_pid(r->sp);
    EXPECT(who, procfs_read_status(pid, &pm) == 0, "reading /proc/%d/status: %s", (int)pid,
           strerror(errno));
    rlim_t limit = (rlim_t)(pm.vsz_kib + 8192 + 4096) * 1024;
    EXPECT(who, server_set_rlimit(r->sp, RLIMIT_AS, limit, RLIM_INFINITY) == 0,
           "prlimit(RLIMIT_AS): %s", strerror(errno));
    int n503 = 0;
    for (int j = 0; j < 6; j++) {
        struct hc_conn *x = ct_connect(r);
        struct hc_response *resp = resp_new();
        /* It sends nothing: an answer can only be the 503. */
        if (hc_read_response(x, resp, (int)(300 * tenv_slack())) == 0) {
            EXPECT(who, resp->status == 503, "excess connection %d: unasked answer %d", j,
                   resp->status);
            EXPECT(who, strstr(resp->body, "thread"), "a 503 that does not say why: %s",
                   resp->body);
            n503++;
        }
        resp_done(resp);
    }
    EXPECT(who, n503 >= 4, "%d of 6 excess connections got 503, want at least 4", n503);
    ct_send(r, kept, "GET /?bytes=2 HTTP/1.1\r\nHost: a\r\n\r\n", "after the limit");
    ct_expect_200(r, kept, 2, "the connection that has a thread, after the limit");
    hc_close_all();
    json_t *ctr = ct_stop(r, 2);
    EXPECT(who, ct_counter(who, ctr, "status_503") == n503, "status_503 = %lld, want %d",
           ct_counter(who, ctr, "status_503"), n503);
    EXPECT(who, ct_counter(who, ctr, "thread_create_failed") == n503,
           "thread_create_failed = %lld, want %d", ct_counter(who, ctr, "thread_create_failed"),
           n503);
}
