/* itest.c: fixtures the server integration tests share (itest_proc.c has those that read
   /proc): the servers under test, and the servers, responses and helper thread that a
   failed assertion leaves behind, released by the test's .fini. */
#include "itest.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_env.h"

/* ---- the servers under test ------------------------------------------------------------- */

/* One line per server: name, program under $TVT_BIN_DIR, the arguments it always gets
   (ARGS("--flag", "value")), what it is (SUT_*). */
#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})
const struct sut SUTS[] = {
    {"async", "async_server", NULL, SUT_FILE_IO},
    {"async-lean", "async_server", ARGS("--buffers", "lean"), SUT_FILE_IO},
    {"thread", "thread_server", NULL, SUT_THREADED},
    {"uring", "uring_server", NULL, 0},
    {"uring-conn", "uring_server", ARGS("--recv", "conn"), 0},
};
const size_t NSUTS = sizeof SUTS / sizeof SUTS[0];

const struct sut BACKEND = {"backend", "async_server", NULL, SUT_FILE_IO};

/* The "impl" a counters line should give: the binary's name without "_server". */
static void impl_of(const struct sut *s, char *out, size_t len)
{
    size_t n = strlen(s->binary), k = strlen("_server");
    if (n > k && strcmp(s->binary + n - k, "_server") == 0)
        n -= k;
    snprintf(out, len, "%.*s", (int)n, s->binary);
}

#define SUTS_MAX  8
#define FLAGS_MAX 4
struct criterion_test_params itest_params(unsigned flags)
{
    /* one array per flags value: Criterion keeps the pointer until the tests have run */
    static struct sut_param params[FLAGS_MAX][SUTS_MAX];
    if (flags >= FLAGS_MAX || NSUTS > SUTS_MAX) { /* the runner, not a test: no cr_assert */
        fprintf(stderr, "itest_params: flags %u or %zu servers out of range\n", flags, NSUTS);
        abort();
    }
    size_t n = 0;
    for (size_t i = 0; i < NSUTS; i++)
        if ((SUTS[i].flags & flags) == flags)
            params[flags][n++].index = i;
    return cr_make_param_array(struct sut_param, params[flags], n);
}

void itest_run(const struct sut_param *p, void (*fn)(const struct sut *s))
{
    const struct sut *s = &SUTS[p->index];
    if (!tenv_impl_enabled(s->name))
        cr_skip_test("TVT_IMPLS=%s leaves out %s", getenv("TVT_IMPLS"), s->name);
    fn(s);
}

const struct sut *sut_named(const char *name)
{
    for (size_t i = 0; i < NSUTS; i++)
        if (strcmp(SUTS[i].name, name) == 0)
            return tenv_impl_enabled(name) ? &SUTS[i] : NULL;
    return NULL;
}

/* ---- starting and stopping -------------------------------------------------------------- */

#define MAX_LIVE 4
#define MAX_ARGS 64
static struct server_proc *live[MAX_LIVE];

static json_t *counters_doc; /* the last stop_counters document */

void forget(struct server_proc *sp)
{
    for (int i = 0; i < MAX_LIVE; i++)
        if (live[i] == sp)
            live[i] = NULL;
}

void stop_leftovers(void)
{
    for (int i = 0; i < MAX_LIVE; i++) {
        server_free(live[i]); /* SIGKILL; the assert that left it here already failed */
        live[i] = NULL;
    }
}

struct server_proc *start_with(const struct sut *s, const char *const *args,
                               const struct server_rlimit *limits, size_t nlimits)
{
    const char *argv[MAX_ARGS];
    size_t n = 0;
    for (size_t i = 0; s->args && s->args[i]; i++)
        argv[n++] = s->args[i];
    for (size_t i = 0; args && args[i]; i++) {
        cr_assert(n + 1 < MAX_ARGS, "more than %d server arguments", MAX_ARGS - 1);
        argv[n++] = args[i];
    }
    argv[n] = NULL;
    struct server_spec spec = {
        .impl = s->name, .binary = s->binary, .args = argv, .limits = limits, .nlimits = nlimits};
    char err[2048];
    struct server_proc *sp = server_start(&spec, err, sizeof err);
    cr_assert(sp, "[%s] server did not start: %s", s->name, err);
    int slot = 0;
    while (slot < MAX_LIVE && live[slot])
        slot++;
    cr_assert(slot < MAX_LIVE, "too many servers in one test");
    live[slot] = sp;
    EXPECT(s, strcmp(server_host(sp), "127.0.0.1") == 0, "listening on %s, want 127.0.0.1",
           server_host(sp));
    return sp;
}

struct server_proc *start(const struct sut *s, const char *const *args)
{
    return start_with(s, args, NULL, 0);
}

struct server_proc *start_backend(int port)
{
    char p[16];
    snprintf(p, sizeof p, "%d", port);
    const char *args[] = {"--port", p, NULL};
    return start(&BACKEND, args);
}

void expect_alive(const struct sut *s, struct server_proc *sp, const char *when)
{
    if (server_alive(sp))
        return;
    char *err = server_stderr_copy(sp);
    struct server_exit ex;
    server_stop(sp, SIGKILL, 100, &ex);
    EXPECT(s, 0, "server died %s: exited=%d code=%d signal=%d; stderr: %s", when, ex.exited,
           ex.code, ex.signal, err);
}

json_t *stop_counters(const struct sut *s, struct server_proc *sp, int sig, double *elapsed_ms)
{
    struct server_exit ex;
    int rc = server_stop(sp, sig, (int)(5000 * tenv_slack()), &ex);
    EXPECT(s, rc == 0, "could not reap the server: %s", strerror(errno));
    EXPECT(s, !ex.killed, "no exit within %.0f ms of signal %d; had to SIGKILL (stderr: %s)",
           5000 * tenv_slack(), sig, ex.err);
    EXPECT(s, ex.exited && ex.code == 0,
           "exit after signal %d: exited=%d code=%d signal=%d, want exit 0; stderr: %s", sig,
           ex.exited, ex.code, ex.signal, ex.err);
    size_t len = strlen(ex.err);
    const char *nl = strchr(ex.err, '\n');
    EXPECT(s, len > 0 && nl == ex.err + len - 1,
           "stderr should be exactly one line (the counters), got: %s", ex.err);
    json_error_t jerr;
    json_decref(counters_doc);
    json_t *doc = counters_doc = json_loads(ex.err, 0, &jerr);
    EXPECT(s, doc && json_is_object(doc), "counters line is not a JSON object (%s): %s", jerr.text,
           ex.err);
    const char *named = json_string_value(json_object_get(doc, "impl"));
    char want[64];
    impl_of(s, want, sizeof want);
    EXPECT(s, named && strcmp(named, want) == 0, "counters name impl '%s', want '%s'", named, want);
    if (elapsed_ms)
        *elapsed_ms = ex.elapsed_ms;
    forget(sp);
    server_free(sp);
    return doc;
}

json_t *await_counters(const struct sut *s, struct server_proc *sp, double *elapsed_ms)
{
    return stop_counters(s, sp, 0, elapsed_ms); /* kill(pid, 0) sends nothing */
}

void stop_ok(const struct sut *s, struct server_proc *sp)
{
    stop_counters(s, sp, SIGTERM, NULL);
}

long long counter(const struct sut *s, json_t *doc, const char *key)
{
    json_t *v = json_object_get(doc, key);
    EXPECT(s, json_is_integer(v), "counters have no integer '%s'", key);
    return json_integer_value(v);
}

/* ---- requests and answers --------------------------------------------------------------- */

struct hc_conn *connect_ok(const struct sut *s, int port)
{
    struct hc_conn *c = hc_connect(port, tenv_io_ms());
    int e = errno;
    EXPECT(s, c, "connect to port %d: %s", port, strerror(e));
    return c;
}

void send_ok(const struct sut *s, struct hc_conn *c, const void *data, size_t len, const char *what)
{
    int rc = hc_send(c, data, len, tenv_io_ms());
    int e = errno;
    EXPECT(s, rc == 0, "%s: send: %s", what, strerror(e));
}

void get_req(char *buf, size_t len, const char *target, const char *extra_headers)
{
    snprintf(buf, len, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s\r\n", target,
             extra_headers ? extra_headers : "");
}

void send_get(const struct sut *s, struct hc_conn *c, const char *target)
{
    char req[4096];
    get_req(req, sizeof req, target, NULL);
    send_ok(s, c, req, strlen(req), target);
}

void read_ok(const struct sut *s, struct hc_conn *c, struct hc_response *r, const char *what)
{
    int rc = hc_read_response(c, r, tenv_io_ms());
    int e = errno;
    EXPECT(s, rc == 0, "%s: no complete response: %s (%zu bytes buffered: %.200s)", what,
           strerror(e), c->len, c->buf ? c->buf : "");
}

void expect_200_within(const struct sut *s, struct hc_conn *c, size_t bytes, int timeout_ms,
                       const char *what)
{
    struct hc_response *r = resp_new();
    int rc = hc_read_response(c, r, timeout_ms);
    int e = errno;
    EXPECT(s, rc == 0, "%s: no complete response within %d ms: %s (%zu bytes buffered: %.200s)",
           what, timeout_ms, strerror(e), c->len, c->buf ? c->buf : "");
    EXPECT(s, r->status == 200, "%s: status %d, want 200; head: %s body: %.200s", what, r->status,
           r->head, r->body);
    EXPECT(s, r->content_length == (long)bytes, "%s: Content-Length %ld, want %zu", what,
           r->content_length, bytes);
    EXPECT(s, hc_body_is(r, bytes, 'x'), "%s: body is %zu bytes, not %zu 'x'", what, r->body_len,
           bytes);
    resp_done(r);
}

void expect_200(const struct sut *s, struct hc_conn *c, size_t bytes, const char *what)
{
    expect_200_within(s, c, bytes, tenv_io_ms(), what);
}

double timed_get(const struct sut *s, struct hc_conn *c, const char *target, size_t bytes)
{
    double t0 = tenv_now_ms();
    send_get(s, c, target);
    expect_200(s, c, bytes, target);
    return tenv_now_ms() - t0;
}

void expect_served(const struct sut *s, int port, const char *when)
{
    struct hc_conn *c = connect_ok(s, port);
    send_get(s, c, "/?bytes=5");
    char what[128];
    snprintf(what, sizeof what, "a normal request %s", when);
    expect_200(s, c, 5, what);
    hc_close(c);
}

void expect_error_close(const struct sut *s, int port, const char *data, size_t len, int status,
                        const char *what)
{
    struct hc_conn *c = connect_ok(s, port);
    /* The server may answer and close before it has read everything: a failed send is
       fine, the answer is what counts. */
    hc_send(c, data, len, tenv_io_ms());
    struct hc_response *r = resp_new();
    read_ok(s, c, r, what);
    EXPECT(s, r->status == status, "%s: status %d, want %d; head: %s body: %.200s", what, r->status,
           status, r->head, r->body);
    EXPECT(s, r->conn_close, "%s: a %d should say Connection: close; head: %s", what, status,
           r->head);
    int closed = hc_wait_close(c, tenv_io_ms());
    EXPECT(s, closed == 1, "%s: connection still open after the %d", what, status);
    EXPECT(s, c->len == 0, "%s: %zu unexpected bytes after the %d: %.200s", what, c->len, status,
           c->buf);
    resp_done(r);
    hc_close(c);
}

void read_at_least(struct hc_conn *c, size_t want, int timeout_ms)
{
    double deadline = tenv_now_ms() + timeout_ms;
    while (c->len < want && !c->eof && !c->reset && tenv_now_ms() < deadline) {
        int f = hc_fill(c);
        if (f < 0)
            break;
        if (f == 0) {
            struct pollfd p = {.fd = c->fd, .events = POLLIN};
            poll(&p, 1, 10);
        }
    }
}

/* ---- one helper thread that drives sockets ---------------------------------------------- */

atomic_bool bg_stop;
static pthread_t bg_tid;
static bool bg_running;

void bg_start(void *(*fn)(void *), void *arg)
{
    cr_assert(!bg_running, "a helper thread is already running");
    atomic_store(&bg_stop, false);
    int rc = pthread_create(&bg_tid, NULL, fn, arg);
    cr_assert(rc == 0, "pthread_create: %s", strerror(rc));
    bg_running = true;
}

void bg_join(bool tell)
{
    if (!bg_running)
        return;
    if (tell)
        atomic_store(&bg_stop, true);
    pthread_join(bg_tid, NULL);
    bg_running = false;
}

void expect_cli(const struct sut *s, const char *path, const char *const *own,
                const struct cli_case *c)
{
    char *argv[24] = {(char *)path}, out[8192];
    size_t n = 1;
    while (own && own[n - 1])
        n++;
    cr_assert(n <= 16, "[%s] too many arguments of its own for a command-line case", s->name);
    for (size_t k = 0; k < n - 1; k++)
        argv[1 + k] = (char *)own[k];
    for (int k = 0; k < 4 && c->args[k]; k++)
        argv[n++] = (char *)c->args[k];
    int st = tenv_run_cmd(argv, out, sizeof out, (int)(5000 * tenv_slack()));
    EXPECT(s, st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == c->code,
           "%s %s: exit %d, want %d; output: %s", path, c->args[0],
           WIFEXITED(st) ? WEXITSTATUS(st) : -1, c->code, out);
    EXPECT(s, strstr(out, c->needle), "%s %s: output does not mention %s: %s", path, c->args[0],
           c->needle, out);
}

void itest_release(void)
{
    bg_join(true); /* before closing the sockets it drives */
    stop_leftovers();
    hc_close_all();
    resp_release();
    json_decref(counters_doc);
    counters_doc = NULL;
}
