/* itest.c: fixtures the server integration tests share: servers and responses that a
   failed assertion leaves behind are released by the test's .fini. */
#include "itest.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "procfs.h"
#include "test_env.h"

const char *const IMPLS[3] = {"async", "thread", "uring"};

#define MAX_LIVE 4
static struct server_proc *live[MAX_LIVE];

struct hc_response resp_slot[MAX_RESP];
bool resp_used[MAX_RESP];
json_t *counters_doc;

/* ---- environment ------------------------------------------------------------------- */

int io_ms(void)
{
    return (int)(5000 * tenv_slack());
}

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

/* Starts the server spec names (spec->impl) and registers it for .fini. */
struct server_proc *start_spec(const struct server_spec *spec)
{
    const char *impl = spec->impl;
    char err[2048];
    struct server_proc *sp = server_start(spec, err, sizeof err);
    cr_assert(sp, "[%s] server did not start: %s", impl, err);
    int slot = 0;
    while (slot < MAX_LIVE && live[slot])
        slot++;
    cr_assert(slot < MAX_LIVE, "too many servers in one test");
    live[slot] = sp;
    EXPECT(impl, strcmp(server_host(sp), "127.0.0.1") == 0, "listening on %s, want 127.0.0.1",
           server_host(sp));
    return sp;
}

struct server_proc *start(const char *impl, const char *const *args)
{
    struct server_spec spec = {.impl = impl, .args = args};
    return start_spec(&spec);
}

struct hc_response *resp_new(void)
{
    for (int i = 0; i < MAX_RESP; i++)
        if (!resp_used[i]) {
            resp_used[i] = true;
            return &resp_slot[i];
        }
    cr_assert_fail("more than %d responses held at once", MAX_RESP);
    return NULL;
}

void resp_done(struct hc_response *r)
{
    hc_response_free(r);
    resp_used[r - resp_slot] = false;
}

void expect_alive(const char *impl, struct server_proc *sp, const char *when)
{
    if (server_alive(sp))
        return;
    char *err = server_stderr_copy(sp);
    struct server_exit ex;
    server_stop(sp, SIGKILL, 100, &ex);
    EXPECT(impl, 0, "server died %s: exited=%d code=%d signal=%d; stderr: %s", when, ex.exited,
           ex.code, ex.signal, err);
}

/* Stops the server with sig, asserts a clean exit 0 with exactly one JSON counters line on
   stderr, and returns that object (borrowed: valid until the next call or the test's end).
   *elapsed_ms (may be NULL): from the signal to the reaped exit. */
json_t *stop_counters(const char *impl, struct server_proc *sp, int sig, double *elapsed_ms)
{
    struct server_exit ex;
    int rc = server_stop(sp, sig, (int)(5000 * tenv_slack()), &ex);
    EXPECT(impl, rc == 0, "could not reap the server: %s", strerror(errno));
    EXPECT(impl, !ex.killed, "no exit within %.0f ms of signal %d; had to SIGKILL (stderr: %s)",
           5000 * tenv_slack(), sig, ex.err);
    EXPECT(impl, ex.exited && ex.code == 0,
           "exit after signal %d: exited=%d code=%d signal=%d, want exit 0; stderr: %s", sig,
           ex.exited, ex.code, ex.signal, ex.err);
    size_t len = strlen(ex.err);
    const char *nl = strchr(ex.err, '\n');
    EXPECT(impl, len > 0 && nl == ex.err + len - 1,
           "stderr should be exactly one line (the counters), got: %s", ex.err);
    json_error_t jerr;
    json_decref(counters_doc);
    json_t *doc = counters_doc = json_loads(ex.err, 0, &jerr);
    EXPECT(impl, doc && json_is_object(doc), "counters line is not a JSON object (%s): %s",
           jerr.text, ex.err);
    const char *named = json_string_value(json_object_get(doc, "impl"));
    EXPECT(impl, named && strcmp(named, impl) == 0, "counters name impl '%s'", named);
    if (elapsed_ms)
        *elapsed_ms = ex.elapsed_ms;
    forget(sp);
    server_free(sp);
    return doc;
}

struct hc_conn *connect_ok(const char *impl, int port)
{
    struct hc_conn *c = hc_connect(port, io_ms());
    int e = errno;
    EXPECT(impl, c, "connect to port %d: %s", port, strerror(e));
    return c;
}

long long counter(const char *impl, json_t *doc, const char *key)
{
    json_t *v = json_object_get(doc, key);
    EXPECT(impl, json_is_integer(v), "counters have no integer '%s'", key);
    return json_integer_value(v);
}

/* CPU seconds (user + system) the process has used so far, from /proc/PID/stat. */
double cpu_seconds(pid_t pid)
{
    char path[64], text[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    if (procfs_slurp(path, text, sizeof text) < 0)
        return -1;
    const char *p = strrchr(text, ')'); /* the command name may hold spaces */
    unsigned long long ut = 0, st = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* Runs fn once per enabled server; skips when TVT_IMPLS leaves none. */
void for_each_impl(void (*fn)(const char *impl))
{
    int ran = 0;
    for (size_t i = 0; i < sizeof IMPLS / sizeof IMPLS[0]; i++) {
        if (!tenv_impl_enabled(IMPLS[i]))
            continue;
        fn(IMPLS[i]);
        ran++;
    }
    if (!ran)
        cr_skip_test("TVT_IMPLS=%s names none of async, thread, uring", getenv("TVT_IMPLS"));
}

void send_ok(const char *impl, struct hc_conn *c, const void *data, size_t len, const char *what)
{
    int rc = hc_send(c, data, len, io_ms());
    int e = errno;
    EXPECT(impl, rc == 0, "%s: send: %s", what, strerror(e));
}

void itest_release(void)
{
    stop_leftovers();
    hc_close_all();
    for (int i = 0; i < MAX_RESP; i++)
        if (resp_used[i])
            resp_done(&resp_slot[i]);
    json_decref(counters_doc);
    counters_doc = NULL;
}
