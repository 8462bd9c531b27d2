/* itest.h: fixtures the server integration tests share: the table of servers under test,
   starting and stopping them, requests and the checks on their answers.
   Every function asserts through Criterion, naming the server ("[async] ...").
   Call itest_release() from the test's .fini: it stops the helper thread and the servers,
   closes the connections and frees the responses that a failed assertion left behind. */
#ifndef TVT_ITEST_H
#define TVT_ITEST_H

#include <criterion/parameterized.h>
#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "http_client.h"
#include "itest_proc.h"
#include "resp_pool.h"
#include "server_proc.h"

/* ---- servers under test ----------------------------------------------------------------- */

/* What a server is, for the cases that apply to some servers only. */
enum {
    SUT_THREADED = 1u << 0, /* one thread per connection: --stack-kib, 503 when out of threads */
    SUT_FILE_IO = 1u << 1,  /* an event loop with --file-io loop|pool|uring */
};

/* A server under test. Adding one to SUTS (itest.c) is one line; every case then runs
   against it, except those that ask for a flag it lacks. */
struct sut {
    const char *name;        /* for TVT_IMPLS and assertion messages: "async", "thread" */
    const char *binary;      /* program file under $TVT_BIN_DIR: "async_server" */
    const char *const *args; /* arguments it always gets, before the case's own; may be NULL */
    unsigned flags;          /* SUT_* */
};

extern const struct sut SUTS[];
extern const size_t NSUTS;

/* The suite's own async_server, as the io=net backend of the servers under test. */
extern const struct sut BACKEND;

/* One Criterion test per server of SUTS that has every flag in `flags` (0: all of them):
   Criterion runs each on its own, several at once with --jobs, and names it by its index in
   SUTS; fn gets the server. A server TVT_IMPLS leaves out is skipped, saying so. The test's
   options (.timeout = 30) follow fn.
     static void case_idle(const struct sut *srv) { ... }
     SERVER_TEST(idle, idle_timeout_closes, 0, case_idle, .timeout = 30) */
#define SERVER_TEST(suite, name, flags, fn, ...)                                                   \
    ParameterizedTestParameters(suite, name)                                                       \
    {                                                                                              \
        return itest_params(flags);                                                                \
    }                                                                                              \
    ParameterizedTest(const struct sut_param *p, suite, name, ##__VA_ARGS__)                       \
    {                                                                                              \
        itest_run(p, fn);                                                                          \
    }

/* A SERVER_TEST's parameter: which line of SUTS. */
struct sut_param {
    size_t index;
};
/* The parameters of the servers with every flag in `flags` (for SERVER_TEST). */
struct criterion_test_params itest_params(unsigned flags);
/* Runs fn on the server of p, or skips the test when TVT_IMPLS leaves it out. */
void itest_run(const struct sut_param *p, void (*fn)(const struct sut *s));

/* The SUTS entry called name, if TVT_IMPLS enables it; else NULL. */
const struct sut *sut_named(const char *name);

#define EXPECT(s, cond, fmt, ...) cr_assert((cond), "[%s] " fmt, (s)->name, ##__VA_ARGS__)

/* ---- starting and stopping -------------------------------------------------------------- */

/* Starts server s with its own arguments and then args (NULL-terminated, may be NULL), with
   the resource limits set before exec; asserts it listens on 127.0.0.1 and registers it so
   that itest_release() stops it after a failed assertion. */
struct server_proc *start_with(const struct sut *s, const char *const *args,
                               const struct server_rlimit *limits, size_t nlimits);
struct server_proc *start(const struct sut *s, const char *const *args);
/* Starts BACKEND on port (0: any), registered like a server under test. */
struct server_proc *start_backend(int port);
/* Unregisters a server the test stopped itself. */
void forget(struct server_proc *sp);
void stop_leftovers(void);

/* Asserts the server is still running (its stderr in the message if not). */
void expect_alive(const struct sut *s, struct server_proc *sp, const char *when);

/* Stops the server with sig, asserts a clean exit 0 with exactly one JSON counters line on
   stderr, and returns that object (borrowed: valid until the next call or the test's end).
   *elapsed_ms (may be NULL): from the signal to the reaped exit. */
json_t *stop_counters(const struct sut *s, struct server_proc *sp, int sig, double *elapsed_ms);
/* stop_counters for a server the test has signalled itself (kill): waits for its exit and
   checks it the same way, sending nothing more (a second SIGTERM would cut its stop).
   *elapsed_ms (may be NULL): from this call to the reaped exit. */
json_t *await_counters(const struct sut *s, struct server_proc *sp, double *elapsed_ms);
/* stop_counters with SIGTERM, the counters unused. */
void stop_ok(const struct sut *s, struct server_proc *sp);
/* The integer counter key of a counters document (asserts it is there). */
long long counter(const struct sut *s, json_t *doc, const char *key);

/* ---- command lines that end at once ---------------------------------------------------- */

/* A server run that exits before it listens: its arguments (NULL-terminated), the exit code
   wanted and a text its output must mention. */
struct cli_case {
    const char *args[4];
    int code;
    const char *needle;
};

/* Runs path with the arguments own (NULL-terminated, may be NULL) and then c's, and asserts
   c's exit code and that the output names c's needle. */
void expect_cli(const struct sut *s, const char *path, const char *const *own,
                const struct cli_case *c);

/* ---- requests and answers --------------------------------------------------------------- */

/* Responses: resp_new and resp_done of resp_pool.h (included). */

struct hc_conn *connect_ok(const struct sut *s, int port);
void send_ok(const struct sut *s, struct hc_conn *c, const void *data, size_t len,
             const char *what);

/* Formats `GET target HTTP/1.1` with a Host header and extra_headers (each ending in CRLF;
   may be NULL) into buf. */
void get_req(char *buf, size_t len, const char *target, const char *extra_headers);
void send_get(const struct sut *s, struct hc_conn *c, const char *target);

/* Reads one complete answer within tenv_io_ms() into r (asserts it came). */
void read_ok(const struct sut *s, struct hc_conn *c, struct hc_response *r, const char *what);
/* Reads one answer (within timeout_ms) and checks it is a 200 with exactly `bytes` 'x'. */
void expect_200_within(const struct sut *s, struct hc_conn *c, size_t bytes, int timeout_ms,
                       const char *what);
void expect_200(const struct sut *s, struct hc_conn *c, size_t bytes, const char *what);
/* One request and its 200 answer of `bytes`; returns the latency in ms. */
double timed_get(const struct sut *s, struct hc_conn *c, const char *target, size_t bytes);
/* One request on a fresh connection: the server still serves. */
void expect_served(const struct sut *s, int port, const char *when);
/* Sends raw bytes on a fresh connection and expects `status` and then a close. */
void expect_error_close(const struct sut *s, int port, const char *data, size_t len, int status,
                        const char *what);
/* Reads until at least `want` bytes are buffered (or the peer closes, or timeout_ms). */
void read_at_least(struct hc_conn *c, size_t want, int timeout_ms);

/* ---- one helper thread that drives sockets ---------------------------------------------- */

/* Helper threads never assert: they record, and the test asserts after joining them.
   bg_stop is set by bg_join(true); itest_release() joins a helper still running. */
extern atomic_bool bg_stop;
void bg_start(void *(*fn)(void *), void *arg);
/* Tells the helper to stop (unless it should end on its own) and joins it. */
void bg_join(bool tell);

void itest_release(void);

#endif
