/* test_contestants: the Tokio, Go and nginx contestants answer like the C servers.
 *
 * For each contestant that is there: curl gets a 200 with the asked body, a keep-alive
 * sequence and a pipelined pair are answered in order on one connection, malformed input
 * gets a 4xx and a close, and SIGTERM ends the server with exit 0. A contestant whose
 * binary or toolchain is absent is skipped with the reason. `make contestants` builds
 * bin/tokio_server and bin/go_server only (never into TVT_BIN_DIR), so they are looked
 * for in bin/ relative to the repo root, where the tests run. */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../support/http_client.h"
#include "../support/server_proc.h"
#include "../support/test_env.h"

#define CONTESTANT_BIN "bin"
#define NGINX_SCRIPT   "contestants/nginx/nginx.sh"
#define NGINX_BYTES    7 /* nginx answers this body whatever the query asks */

#define EXPECT(who, cond, fmt, ...) cr_assert((cond), "[%s] " fmt, (who), ##__VA_ARGS__)

struct contestant {
    const char *name; /* as in `scripts/contestants.sh list` */
    const char *impl; /* runs bin/<impl>_server; NULL: nginx through its script */
    const char *const *args;
};

static const char *const TOKIO_CURRENT[] = {"--runtime", "current", NULL};
static const char *const TOKIO_MULTI[] = {"--runtime", "multi", NULL};

static const struct contestant TOKIO_CURRENT_C = {"tokio-current", "tokio", TOKIO_CURRENT};
static const struct contestant TOKIO_MULTI_C = {"tokio-multi", "tokio", TOKIO_MULTI};
static const struct contestant GO_C = {"go", "go", NULL};
static const struct contestant NGINX_C = {"nginx", NULL, NULL};

/* ---- environment ------------------------------------------------------------------- */

static int io_ms(void)
{
    const char *s = getenv("TVT_SANITIZER");
    return s && *s ? 15000 : 5000; /* this test's own code runs sanitized, slower */
}

/* Full path of an executable named prog on PATH (or in /usr/sbin, where Debian puts
   nginx outside a user's PATH) into out; false when there is none. */
static bool find_program(const char *prog, char *out, size_t outlen)
{
    const char *path = getenv("PATH");
    char dirs[4096];
    snprintf(dirs, sizeof dirs, "%s:/usr/sbin:/sbin", path ? path : "/usr/bin:/bin");
    char *save = NULL;
    for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        snprintf(out, outlen, "%s/%s", *d ? d : ".", prog);
        if (access(out, X_OK) == 0)
            return true;
    }
    return false;
}

/* ---- a running contestant -------------------------------------------------------------- */

struct running {
    const struct contestant *who;
    struct server_proc *sp; /* tokio, go */
    pid_t pid;              /* nginx, started here */
    int port;
    char dir[64]; /* nginx's run folder, removed at the end */
};

/* The one contestant a test runs; .fini stops it after a failed assertion. */
static struct running live;
static struct hc_response resp_slot[2];
static bool resp_used[2];
static json_t *counters_doc;

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void release_all(void)
{
    if (live.sp) {
        server_free(live.sp); /* SIGKILL; the assert that left it here already failed */
        live.sp = NULL;
    }
    if (live.pid > 0) {
        kill(live.pid, SIGKILL);
        waitpid(live.pid, NULL, 0);
        live.pid = 0;
    }
    if (live.dir[0]) {
        nftw(live.dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        live.dir[0] = '\0';
    }
    hc_close_all();
    for (int i = 0; i < 2; i++)
        if (resp_used[i]) {
            hc_response_free(&resp_slot[i]);
            resp_used[i] = false;
        }
    json_decref(counters_doc);
    counters_doc = NULL;
}

static struct hc_response *resp_new(void)
{
    for (int i = 0; i < 2; i++)
        if (!resp_used[i]) {
            resp_used[i] = true;
            return &resp_slot[i];
        }
    cr_assert_fail("more than 2 responses held at once");
    return NULL;
}

static void resp_done(struct hc_response *r)
{
    hc_response_free(r);
    resp_used[r - resp_slot] = false;
}

static bool accepts(int port)
{
    struct hc_conn *c = hc_connect(port, 200);
    if (!c)
        return false;
    hc_close(c);
    return true;
}

/* Writes nginx's config with the script, starts nginx in the foreground the way
   `harness run --server-cmd` does (sh -c "exec CMD"), and waits for its port. */
static void start_nginx(struct running *r)
{
    char script_out[4096], err[4096] = "";
    snprintf(r->dir, sizeof r->dir, "/tmp/tvt-contestants-XXXXXX");
    cr_assert(mkdtemp(r->dir), "mkdtemp: %s", strerror(errno));
    char bytes[16];
    snprintf(bytes, sizeof bytes, "%d", NGINX_BYTES);
    char *argv[] = {NGINX_SCRIPT, "config", r->dir, "--bytes", bytes, NULL};
    int st = tenv_run_cmd(argv, script_out, sizeof script_out, io_ms());
    EXPECT("nginx", WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s config failed (status %d): %s",
           NGINX_SCRIPT, st, script_out);
    const char *p = strstr(script_out, "port=");
    const char *c = strstr(script_out, "cmd='");
    EXPECT("nginx", p && c, "%s printed no port= and cmd= lines: %s", NGINX_SCRIPT, script_out);
    r->port = atoi(p + 5);
    char cmd[1024] = "exec ";
    const char *end = strchr(c + 5, '\'');
    EXPECT("nginx", r->port > 0 && end && (size_t)(end - c) < sizeof cmd - 8,
           "unusable port or command: %s", script_out);
    strncat(cmd, c + 5, (size_t)(end - c - 5));

    char log[128];
    snprintf(log, sizeof log, "%s/stderr.log", r->dir);
    pid_t parent = getpid();
    r->pid = fork();
    cr_assert(r->pid >= 0, "fork: %s", strerror(errno));
    if (r->pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        int devnull = open("/dev/null", O_RDONLY);
        if (fd < 0 || devnull < 0 || dup2(devnull, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
            _exit(127);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    double deadline = tenv_now_ms() + io_ms();
    while (!accepts(r->port)) {
        int wst;
        if (waitpid(r->pid, &wst, WNOHANG) == r->pid) {
            r->pid = 0;
            FILE *f = fopen(log, "r");
            size_t n = f ? fread(err, 1, sizeof err - 1, f) : 0;
            err[n] = '\0';
            if (f)
                fclose(f);
            cr_assert_fail("[nginx] exited before listening (status %d): %s", wst, err);
        }
        EXPECT("nginx", tenv_now_ms() < deadline, "port %d accepts nothing after %d ms (%s)",
               r->port, io_ms(), cmd);
        tenv_sleep_ms(10);
    }
}

/* Starts the contestant, or skips the test saying why it cannot. */
static struct running *start(const struct contestant *who)
{
    struct running *r = &live;
    memset(r, 0, sizeof *r);
    r->who = who;
    if (!who->impl) {
        char path[4096];
        if (!find_program("nginx", path, sizeof path))
            cr_skip_test("nginx is not installed (apt-get install nginx-light)");
        start_nginx(r);
        return r;
    }
    char path[256], err[4096];
    snprintf(path, sizeof path, "%s/%s_server", CONTESTANT_BIN, who->impl);
    if (access(path, X_OK) < 0)
        cr_skip_test("%s: %s (build it with `make contestants`; it needs %s)", path,
                     strerror(errno),
                     strcmp(who->impl, "go") == 0 ? "golang-go" : "cargo and librust-tokio-dev");
    /* server_start runs $TVT_BIN_DIR/<impl>_server; the contestants live in bin/ only.
       Each Criterion test runs in its own process, so this setenv stays here. */
    setenv("TVT_BIN_DIR", CONTESTANT_BIN, 1);
    struct server_spec spec = {.impl = who->impl, .args = who->args, .ready_timeout_ms = io_ms()};
    r->sp = server_start(&spec, err, sizeof err);
    EXPECT(who->name, r->sp, "did not start: %s", err);
    r->port = server_port(r->sp);
    return r;
}

static bool honours_query(const struct running *r)
{
    return r->who->impl != NULL;
}

/* SIGTERM: exit 0; tokio and go also print one JSON line of counters naming them. */
static void stop(struct running *r, long long want_requests)
{
    const char *name = r->who->name;
    if (r->pid > 0) {
        kill(r->pid, SIGTERM);
        int st = 0;
        double deadline = tenv_now_ms() + io_ms();
        while (waitpid(r->pid, &st, WNOHANG) == 0) {
            EXPECT(name, tenv_now_ms() < deadline, "no exit within %d ms of SIGTERM", io_ms());
            tenv_sleep_ms(5);
        }
        r->pid = 0;
        EXPECT(name, WIFEXITED(st) && WEXITSTATUS(st) == 0, "exit status %d after SIGTERM, want 0",
               st);
        return;
    }
    struct server_exit ex;
    int rc = server_stop(r->sp, SIGTERM, io_ms(), &ex);
    EXPECT(name, rc == 0 && !ex.killed, "no exit within %d ms of SIGTERM (stderr: %s)", io_ms(),
           ex.err);
    EXPECT(name, ex.exited && ex.code == 0, "exit after SIGTERM: exited=%d code=%d signal=%d; %s",
           ex.exited, ex.code, ex.signal, ex.err);
    const char *line = strrchr(ex.err, '{');
    json_error_t jerr;
    counters_doc = line ? json_loads(line, 0, &jerr) : NULL;
    EXPECT(name, counters_doc, "no JSON counters line on stderr: %s", ex.err);
    const char *impl = json_string_value(json_object_get(counters_doc, "impl"));
    EXPECT(name, impl && strcmp(impl, name) == 0, "counters name impl '%s'", impl);
    if (want_requests >= 0) {
        json_int_t got = json_integer_value(json_object_get(counters_doc, "requests"));
        EXPECT(name, got == want_requests, "counted %lld requests, want %lld", (long long)got,
               want_requests);
    }
    server_free(r->sp);
    r->sp = NULL;
}

/* ---- requests ------------------------------------------------------------------------ */

static struct hc_conn *connect_ok(const struct running *r)
{
    struct hc_conn *c = hc_connect(r->port, io_ms());
    int e = errno;
    EXPECT(r->who->name, c, "connect to port %d: %s", r->port, strerror(e));
    return c;
}

static void send_ok(const struct running *r, struct hc_conn *c, const char *data, const char *what)
{
    int rc = hc_send_str(c, data, io_ms());
    int e = errno;
    EXPECT(r->who->name, rc == 0, "%s: send: %s", what, strerror(e));
}

/* Reads one answer: a 200 with exactly `bytes` 'x' bytes, connection kept. */
static void expect_200(const struct running *r, struct hc_conn *c, size_t bytes, const char *what)
{
    struct hc_response *resp = resp_new();
    int rc = hc_read_response(c, resp, io_ms());
    int e = errno;
    EXPECT(r->who->name, rc == 0, "%s: no complete answer: %s", what, strerror(e));
    EXPECT(r->who->name, resp->status == 200, "%s: status %d, want 200; head: %s", what,
           resp->status, resp->head);
    EXPECT(r->who->name, hc_body_is(resp, bytes, 'x'), "%s: body is %zu bytes, not %zu 'x'", what,
           resp->body_len, bytes);
    EXPECT(r->who->name, !resp->conn_close, "%s: keep-alive answer says Connection: close", what);
    resp_done(resp);
}

/* Sends raw bytes on a fresh connection; expects `status`, Connection: close, a close. */
static void expect_error_close(const struct running *r, const char *data, int status,
                               const char *what)
{
    struct hc_conn *c = connect_ok(r);
    hc_send_str(c, data, io_ms()); /* the server may close before reading it all */
    struct hc_response *resp = resp_new();
    int rc = hc_read_response(c, resp, io_ms());
    int e = errno;
    EXPECT(r->who->name, rc == 0, "%s: no complete answer: %s", what, strerror(e));
    EXPECT(r->who->name, resp->status == status, "%s: status %d, want %d; body: %.200s", what,
           resp->status, status, resp->body);
    EXPECT(r->who->name, resp->conn_close, "%s: a %d should say Connection: close; head: %s", what,
           status, resp->head);
    EXPECT(r->who->name, hc_wait_close(c, io_ms()) == 1, "%s: still open after the %d", what,
           status);
    resp_done(resp);
    hc_close(c);
}

/* ---- cases --------------------------------------------------------------------------- */

static void case_curl(const struct contestant *who)
{
    char curl[4096], url[128], out[4096];
    if (!find_program("curl", curl, sizeof curl))
        cr_skip_test("curl is not installed (apt-get install curl)");
    struct running *r = start(who);
    size_t bytes = honours_query(r) ? 13 : NGINX_BYTES;
    snprintf(url, sizeof url, "http://127.0.0.1:%d/?bytes=%zu", r->port, bytes);
    char *argv[] = {curl, "-s", "--max-time", "5", "-w", "\n%{http_code}", url, NULL};
    int st = tenv_run_cmd(argv, out, sizeof out, io_ms() + 1000);
    EXPECT(who->name, WIFEXITED(st) && WEXITSTATUS(st) == 0, "curl %s: status %d: %s", url, st,
           out);
    char want[64];
    snprintf(want, sizeof want, "%.*s\n200", (int)bytes, "xxxxxxxxxxxxxxxxxxxx");
    EXPECT(who->name, strcmp(out, want) == 0, "curl %s printed '%s', want '%s'", url, out, want);
    stop(r, honours_query(r) ? 1 : -1);
}

/* Five requests of different sizes on one connection, then a pipelined pair whose first
   waits 20 ms: the second must not overtake it, and the wait must really be waited. */
static void case_keep_alive(const struct contestant *who)
{
    struct running *r = start(who);
    bool query = honours_query(r);
    struct hc_conn *c = connect_ok(r);
    char req[256], what[64];
    for (int i = 0; i < 5; i++) {
        size_t bytes = query ? (size_t)i * 31 : NGINX_BYTES;
        snprintf(req, sizeof req, "GET /?bytes=%zu HTTP/1.1\r\nHost: a\r\n\r\n", bytes);
        snprintf(what, sizeof what, "keep-alive request %d", i);
        send_ok(r, c, req, what);
        expect_200(r, c, bytes, what);
    }
    const char *pair = "GET /?bytes=3&wait_us=20000 HTTP/1.1\r\nHost: a\r\n\r\n"
                       "GET /?bytes=5 HTTP/1.1\r\nHost: a\r\n\r\n";
    double t0 = tenv_now_ms();
    send_ok(r, c, pair, "a pipelined pair");
    expect_200(r, c, query ? 3 : NGINX_BYTES, "the first of a pipelined pair");
    double waited = tenv_now_ms() - t0;
    expect_200(r, c, query ? 5 : NGINX_BYTES, "the second of a pipelined pair");
    if (query)
        EXPECT(who->name, waited >= 19.5, "wait_us=20000 answered after %.1f ms", waited);
    EXPECT(who->name, hc_wait_close(c, 50) == 0, "connection closed after keep-alive answers");
    hc_close(c);
    stop(r, query ? 7 : -1);
}

static void case_malformed(const struct contestant *who)
{
    struct running *r = start(who);
    expect_error_close(r, "GARBAGE\r\n\r\n", 400, "a malformed request line");
    /* nginx keeps the connection after its own 404: only the suite's rules are checked. */
    if (honours_query(r)) {
        expect_error_close(r, "GET /elsewhere HTTP/1.1\r\nHost: a\r\n\r\n", 404, "another path");
        static char big[12000];
        expect_error_close(r, "GET /?nope=1 HTTP/1.1\r\nHost: a\r\n\r\n", 400, "an unknown key");
        expect_error_close(r, "GET /?wait_us=60000001 HTTP/1.1\r\nHost: a\r\n\r\n", 400,
                           "wait_us out of range");
        expect_error_close(r, "GET /?bytes=1048577 HTTP/1.1\r\nHost: a\r\n\r\n", 400,
                           "bytes out of range");
        expect_error_close(r, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", 405,
                           "POST");
        snprintf(big, sizeof big, "GET /?bytes=1&%02100d HTTP/1.1\r\nHost: a\r\n\r\n", 0);
        expect_error_close(r, big, 414, "a 2.1 KB request-target");
        snprintf(big, sizeof big, "GET / HTTP/1.1\r\nHost: a\r\nX-Big: %09000d\r\n\r\n", 0);
        expect_error_close(r, big, 431, "a 9 KB header field");
    }
    /* The server still serves after all that. */
    struct hc_conn *c = connect_ok(r);
    send_ok(r, c, "GET /?bytes=7 HTTP/1.1\r\nHost: a\r\n\r\n", "a request after the errors");
    expect_200(r, c, 7, "a request after the errors");
    hc_close(c);
    stop(r, honours_query(r) ? 1 : -1);
}

TestSuite(contestants, .fini = release_all, .timeout = 30);

#define CONTESTANT_TESTS(tag, who)                                                                 \
    Test(contestants, tag##_curl)                                                                  \
    {                                                                                              \
        case_curl(&(who));                                                                         \
    }                                                                                              \
    Test(contestants, tag##_keep_alive)                                                            \
    {                                                                                              \
        case_keep_alive(&(who));                                                                   \
    }                                                                                              \
    Test(contestants, tag##_malformed)                                                             \
    {                                                                                              \
        case_malformed(&(who));                                                                    \
    }

CONTESTANT_TESTS(tokio_current, TOKIO_CURRENT_C)
CONTESTANT_TESTS(tokio_multi, TOKIO_MULTI_C)
CONTESTANT_TESTS(go, GO_C)
CONTESTANT_TESTS(nginx, NGINX_C)
