/* contestant.c: starting, driving and stopping contestants for the integration tests. */
#include "contestant.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child_proc.h"
#include "files.h"
#include "test_env.h"

#define NGINX_SCRIPT "contestants/nginx/nginx.sh"
#define MAX_BACKENDS 2

static const char *const TOKIO_CURRENT[] = {"--runtime", "current", NULL};
static const char *const TOKIO_MULTI[] = {"--runtime", "multi", NULL};

const struct contestant CT_TOKIO_CURRENT = {"tokio-current", "tokio", TOKIO_CURRENT};
const struct contestant CT_TOKIO_MULTI = {"tokio-multi", "tokio", TOKIO_MULTI};
const struct contestant CT_RUST_THREADS = {"rust-threads", "rust_thread", NULL};
const struct contestant CT_GO = {"go", "go", NULL};
const struct contestant CT_NGINX = {"nginx", NULL, NULL};

static struct ct_running live;
static struct server_proc *backends[MAX_BACKENDS];
static json_t *counters_doc;

void ct_binary(const struct contestant *who, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s/%s_server", CT_BIN, who->impl);
    if (access(out, X_OK) < 0)
        cr_skip_test("%s: %s (build it with `make contestants`; it needs %s)", out, strerror(errno),
                     strcmp(who->impl, "go") == 0 ? "golang-go" : "cargo and librust-tokio-dev");
}

void ct_release(void)
{
    if (live.sp) {
        server_free(live.sp); /* SIGKILL; the assert that left it here already failed */
        live.sp = NULL;
    }
    if (live.pid > 0) {
        kill(-live.pid, SIGKILL); /* its group: nginx under its stop wrapper too */
        kill(live.pid, SIGKILL);
        waitpid(live.pid, NULL, 0);
        live.pid = 0;
    }
    if (live.dir[0]) {
        tfile_rm_tree(live.dir);
        live.dir[0] = '\0';
    }
    for (int i = 0; i < MAX_BACKENDS; i++) {
        server_free(backends[i]);
        backends[i] = NULL;
    }
    hc_close_all();
    resp_release();
    json_decref(counters_doc);
    counters_doc = NULL;
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
static void start_nginx(struct ct_running *r, const char *const *extra)
{
    char script_out[4096];
    snprintf(r->dir, sizeof r->dir, "/tmp/tvt-contestants-XXXXXX");
    tfile_mkdtemp(r->dir);
    char bytes[16];
    snprintf(bytes, sizeof bytes, "%d", CT_NGINX_BYTES);
    char *argv[16] = {NGINX_SCRIPT, "config", r->dir, "--bytes", bytes};
    int n = 5;
    for (int i = 0; extra && extra[i] && n < 15; i++)
        argv[n++] = (char *)extra[i];
    argv[n] = NULL;
    int st = tenv_run_cmd(argv, script_out, sizeof script_out, tenv_io_ms());
    CT_EXPECT("nginx", WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s config failed (status %d): %s",
              NGINX_SCRIPT, st, script_out);
    const char *p = strstr(script_out, "port=");
    const char *c = strstr(script_out, "cmd='");
    CT_EXPECT("nginx", p && c, "%s printed no port= and cmd= lines: %s", NGINX_SCRIPT, script_out);
    r->port = atoi(p + 5);
    char cmd[1024] = "exec ";
    const char *end = strchr(c + 5, '\'');
    CT_EXPECT("nginx", r->port > 0 && end && (size_t)(end - c) < sizeof cmd - 8,
              "unusable port or command: %s", script_out);
    strncat(cmd, c + 5, (size_t)(end - c - 5));

    char log[128];
    snprintf(log, sizeof log, "%s/stderr.log", r->dir);
    static struct child nginx; /* reaped by its PID: ct_stop, ct_release */
    const char *sh[] = {"/bin/sh", "-c", cmd, NULL};
    struct child_opts o = {.log = log, .group = true};
    child_start(&nginx, sh, &o);
    r->pid = nginx.pid;
    double deadline = tenv_now_ms() + tenv_io_ms();
    while (!accepts(r->port)) {
        int wst;
        if (waitpid(r->pid, &wst, WNOHANG) == r->pid) {
            r->pid = 0;
            cr_assert_fail("[nginx] exited before listening (status %d): %s", wst, tfile_tail(log));
        }
        CT_EXPECT("nginx", tenv_now_ms() < deadline, "port %d accepts nothing after %d ms (%s)",
                  r->port, tenv_io_ms(), cmd);
        tenv_sleep_ms(10);
    }
}

struct ct_running *ct_start(const struct contestant *who, const char *const *extra)
{
    struct ct_running *r = &live;
    memset(r, 0, sizeof *r);
    r->who = who;
    if (!who->impl) {
        char path[4096];
        if (!tenv_find_program("nginx", path, sizeof path))
            cr_skip_test("nginx is not installed (apt-get install nginx-light)");
        start_nginx(r, extra);
        return r;
    }
    char path[256], err[4096];
    ct_binary(who, path, sizeof path);
    const char *args[32];
    int n = 0;
    for (int i = 0; who->args && who->args[i] && n < 16; i++)
        args[n++] = who->args[i];
    for (int i = 0; extra && extra[i] && n < 31; i++)
        args[n++] = extra[i];
    args[n] = NULL;
    /* server_start runs $TVT_BIN_DIR/<impl>_server; the contestants live in bin/ only.
       Each Criterion test runs in its own process, so this setenv stays in it; the
       backend's directory is read before (see ct_backend_start). */
    const char *saved = getenv("TVT_BIN_DIR");
    char keep[1024] = "";
    if (saved)
        snprintf(keep, sizeof keep, "%s", saved);
    setenv("TVT_BIN_DIR", CT_BIN, 1);
    struct server_spec spec = {.impl = who->impl, .args = args, .ready_timeout_ms = tenv_io_ms()};
    r->sp = server_start(&spec, err, sizeof err);
    if (saved)
        setenv("TVT_BIN_DIR", keep, 1);
    else
        unsetenv("TVT_BIN_DIR");
    CT_EXPECT(who->name, r->sp, "did not start: %s", err);
    r->port = server_port(r->sp);
    return r;
}

void ct_signal(const struct ct_running *r, int sig)
{
    pid_t pid = r->sp ? server_pid(r->sp) : r->pid;
    CT_EXPECT(r->who->name, pid > 0 && kill(pid, sig) == 0, "kill(%d, %d): %s", (int)pid, sig,
              strerror(errno));
}

bool ct_exited_within(struct ct_running *r, int timeout_ms)
{
    double deadline = tenv_now_ms() + timeout_ms;
    while (r->sp && server_alive(r->sp)) {
        if (tenv_now_ms() >= deadline)
            return false;
        tenv_sleep_ms(2);
    }
    return true;
}

long long ct_counter(const char *who, json_t *doc, const char *key)
{
    json_t *v = json_object_get(doc, key);
    CT_EXPECT(who, json_is_integer(v), "counters have no integer '%s'", key);
    return (long long)json_integer_value(v);
}

json_t *ct_stop(struct ct_running *r, long long want_requests)
{
    const char *name = r->who->name;
    if (r->pid > 0) {
        kill(r->pid, SIGTERM);
        int st = 0;
        double deadline = tenv_now_ms() + tenv_io_ms();
        while (waitpid(r->pid, &st, WNOHANG) == 0) {
            CT_EXPECT(name, tenv_now_ms() < deadline, "no exit within %d ms of SIGTERM",
                      tenv_io_ms());
            tenv_sleep_ms(5);
        }
        r->pid = 0;
        CT_EXPECT(name, WIFEXITED(st) && WEXITSTATUS(st) == 0,
                  "exit status %d after SIGTERM, want 0", st);
        return NULL;
    }
    struct server_exit ex;
    int rc = server_stop(r->sp, SIGTERM, tenv_io_ms(), &ex);
    CT_EXPECT(name, rc == 0 && !ex.killed, "no exit within %d ms of SIGTERM (stderr: %s)",
              tenv_io_ms(), ex.err);
    CT_EXPECT(name, ex.exited && ex.code == 0,
              "exit after SIGTERM: exited=%d code=%d signal=%d; %s", ex.exited, ex.code, ex.signal,
              ex.err);
    const char *line = strrchr(ex.err, '{');
    json_error_t jerr;
    json_decref(counters_doc);
    counters_doc = line ? json_loads(line, 0, &jerr) : NULL;
    CT_EXPECT(name, counters_doc, "no JSON counters line on stderr: %s", ex.err);
    const char *impl = json_string_value(json_object_get(counters_doc, "impl"));
    CT_EXPECT(name, impl && strcmp(impl, name) == 0, "counters name impl '%s'", impl);
    /* Every contestant prints the C servers' keys, the io kinds' included. */
    static const char *const KEYS[] = {"accepted",      "closed",          "requests",
                                       "status_400",    "status_502",      "status_503",
                                       "idle_timeouts", "upstream_errors", "file_errors",
                                       "aborted",       "io_errors",       "thread_create_failed"};
    for (size_t i = 0; i < sizeof KEYS / sizeof KEYS[0]; i++)
        ct_counter(name, counters_doc, KEYS[i]);
    if (want_requests >= 0) {
        long long got = ct_counter(name, counters_doc, "requests");
        CT_EXPECT(name, got == want_requests, "counted %lld requests, want %lld", got,
                  want_requests);
    }
    server_free(r->sp);
    r->sp = NULL;
    return counters_doc;
}

struct hc_conn *ct_connect(const struct ct_running *r)
{
    struct hc_conn *c = hc_connect(r->port, tenv_io_ms());
    int e = errno;
    CT_EXPECT(r->who->name, c, "connect to port %d: %s", r->port, strerror(e));
    return c;
}

void ct_send(const struct ct_running *r, struct hc_conn *c, const char *data, const char *what)
{
    int rc = hc_send_str(c, data, tenv_io_ms());
    int e = errno;
    CT_EXPECT(r->who->name, rc == 0, "%s: send: %s", what, strerror(e));
}

void ct_expect_200(const struct ct_running *r, struct hc_conn *c, size_t bytes, const char *what)
{
    struct hc_response *resp = resp_new();
    int rc = hc_read_response(c, resp, tenv_io_ms());
    int e = errno;
    const char *name = r->who->name;
    CT_EXPECT(name, rc == 0, "%s: no complete answer: %s", what, strerror(e));
    CT_EXPECT(name, resp->status == 200, "%s: status %d, want 200; head: %s body: %.200s", what,
              resp->status, resp->head, resp->body);
    CT_EXPECT(name, hc_body_is(resp, bytes, 'x'), "%s: body is %zu bytes, not %zu 'x'", what,
              resp->body_len, bytes);
    CT_EXPECT(name, !resp->conn_close, "%s: keep-alive answer says Connection: close", what);
    resp_done(resp);
}

void ct_expect_status(const struct ct_running *r, struct hc_conn *c, int status,
                      const char *body_has, bool keep, const char *what)
{
    struct hc_response *resp = resp_new();
    int rc = hc_read_response(c, resp, tenv_io_ms());
    int e = errno;
    const char *name = r->who->name;
    CT_EXPECT(name, rc == 0, "%s: no complete answer: %s", what, strerror(e));
    CT_EXPECT(name, resp->status == status, "%s: status %d, want %d; body: %.200s", what,
              resp->status, status, resp->body);
    CT_EXPECT(name, !body_has || strstr(resp->body, body_has), "%s: body '%.200s' lacks '%s'", what,
              resp->body, body_has);
    CT_EXPECT(name, resp->conn_close == !keep, "%s: Connection: close is %s, want %s", what,
              resp->conn_close ? "there" : "absent", keep ? "absent" : "there");
    resp_done(resp);
}

void ct_expect_error_close(const struct ct_running *r, const char *data, int status,
                           const char *body_has, const char *what)
{
    struct hc_conn *c = ct_connect(r);
    hc_send_str(c, data, tenv_io_ms()); /* the server may close before reading it all */
    ct_expect_status(r, c, status, body_has, false, what);
    CT_EXPECT(r->who->name, hc_wait_close(c, tenv_io_ms()) == 1, "%s: still open after the %d",
              what, status);
    hc_close(c);
}

void ct_expect_cut(const struct ct_running *r, struct hc_conn *c, double t_sig_ms, int grace_ms,
                   int latest_ms, const char *what)
{
    struct hc_response *resp = resp_new();
    int rc = hc_read_response(c, resp, tenv_io_ms());
    int e = errno;
    double at = tenv_now_ms() - t_sig_ms;
    CT_EXPECT(r->who->name, rc < 0 && (e == ECONNABORTED || e == ECONNRESET),
              "%s past --grace-ms %d: %s, want its connection closed unanswered", what, grace_ms,
              rc == 0 ? "answered" : strerror(e));
    CT_EXPECT(r->who->name, at >= grace_ms - 5 && at < latest_ms,
              "cut %.0f ms after SIGTERM, want after %d", at, grace_ms);
    resp_done(resp);
}

struct server_proc *ct_backend_start(int port)
{
    char path[4096], portbuf[16], err[4096];
    snprintf(path, sizeof path, "%s/async_server", tenv_bin_dir());
    if (access(path, X_OK) < 0)
        cr_skip_test("%s: %s (the io=net backend; build it with `make`)", path, strerror(errno));
    snprintf(portbuf, sizeof portbuf, "%d", port);
    const char *args[] = {"--port", portbuf, NULL};
    struct server_spec spec = {.impl = "async", .args = args, .ready_timeout_ms = tenv_io_ms()};
    int slot = 0;
    while (slot < MAX_BACKENDS && backends[slot])
        slot++;
    cr_assert(slot < MAX_BACKENDS, "more than %d backends at once", MAX_BACKENDS);
    backends[slot] = server_start(&spec, err, sizeof err);
    cr_assert(backends[slot], "[backend] async_server did not start on port %d: %s", port, err);
    return backends[slot];
}

void ct_backend_kill(struct server_proc *sp)
{
    for (int i = 0; i < MAX_BACKENDS; i++)
        if (backends[i] == sp)
            backends[i] = NULL;
    server_free(sp); /* SIGKILL: the backend is gone at once, as a crash would leave it */
}
