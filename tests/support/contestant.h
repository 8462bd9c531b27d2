/* contestant.h: fixtures of the contestant integration tests (test_contestants*.c): start a
   contestant from bin/ (or nginx through its script), talk to it, stop it, and the io=
   kinds' backend (the suite's async_server). The responses are resp_pool.h's, the data file
   and the storage reads itest_proc.h's (both included). Every function asserts through
   Criterion, naming the contestant ("[tokio-current] ...").
   Call ct_release() from the test suite's .fini: it stops what a failed assertion left and
   frees the responses it held. */
#ifndef TVT_CONTESTANT_H
#define TVT_CONTESTANT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "http_client.h"
#include "itest_proc.h"
#include "resp_pool.h"
#include "server_proc.h"

#define CT_BIN         "bin" /* `make contestants` builds into bin/ only, never TVT_BIN_DIR */
#define CT_NGINX_BYTES 7     /* nginx answers this body whatever the query asks */

#define CT_EXPECT(who, cond, fmt, ...) cr_assert((cond), "[%s] " fmt, (who), ##__VA_ARGS__)

struct contestant {
    const char *name; /* as in `scripts/contestants.sh list` and the counters' "impl" */
    const char *impl; /* runs bin/<impl>_server; NULL: nginx through its script */
    const char *const *args;
};

extern const struct contestant CT_TOKIO_CURRENT, CT_TOKIO_MULTI, CT_RUST_THREADS, CT_GO, CT_NGINX;

/* Calls X(tag, contestant) for each contestant that honours the query's keys (all but
   nginx): the list a test file expands its cases over. */
#define CT_QUERY_CONTESTANTS(X)                                                                    \
    X(tokio_current, CT_TOKIO_CURRENT)                                                             \
    X(tokio_multi, CT_TOKIO_MULTI)                                                                 \
    X(rust_threads, CT_RUST_THREADS)                                                               \
    X(go, CT_GO)

/* The Criterion test suite.tag_kase, which runs the file's case_kase(&who). */
#define CT_TEST(suite, tag, who, kase)                                                             \
    Test(suite, tag##_##kase)                                                                      \
    {                                                                                              \
        case_##kase(&(who));                                                                       \
    }

struct ct_running {
    const struct contestant *who;
    struct server_proc *sp; /* bin/ servers */
    pid_t pid;              /* nginx, started here */
    int port;
    char dir[64]; /* nginx's run folder, removed at the end */
};

/* bin/<impl>_server, or skips the test saying how to build it. */
void ct_binary(const struct contestant *who, char *out, size_t outlen);

/* Starts the contestant with its own args plus extra (NULL-terminated, may be NULL; for
   nginx, flags of `nginx.sh config`), or skips the test saying why it cannot. One at a
   time. */
struct ct_running *ct_start(const struct contestant *who, const char *const *extra);

/* SIGTERM: asserts exit 0; for the bin/ servers also one JSON counters line naming the
   contestant, and requests == want_requests unless that is -1. Returns the counters
   (borrowed until the next call or ct_release), NULL for nginx. */
json_t *ct_stop(struct ct_running *r, long long want_requests);

/* Sends sig to the contestant (nginx: to the command started, its stop wrapper or nginx)
   without waiting for it; ct_stop still reaps it and reads its counters. */
void ct_signal(const struct ct_running *r, int sig);

/* A bin/ contestant: true once it has exited, waiting up to timeout_ms (ct_stop then
   sends nothing more). */
bool ct_exited_within(struct ct_running *r, int timeout_ms);

/* The integer counter key of a counters document (asserts it is there). */
long long ct_counter(const char *who, json_t *doc, const char *key);

struct hc_conn *ct_connect(const struct ct_running *r);
void ct_send(const struct ct_running *r, struct hc_conn *c, const char *data, const char *what);

/* Reads one answer: a 200 with exactly `bytes` 'x' bytes, connection kept. */
void ct_expect_200(const struct ct_running *r, struct hc_conn *c, size_t bytes, const char *what);

/* Reads one answer with this status whose body contains `body_has` (may be NULL);
   keep: the connection must stay open (no Connection: close). */
void ct_expect_status(const struct ct_running *r, struct hc_conn *c, int status,
                      const char *body_has, bool keep, const char *what);

/* Sends raw bytes on a fresh connection; expects `status` (its body containing body_has,
   unless NULL), Connection: close, and a close. */
void ct_expect_error_close(const struct ct_running *r, const char *data, int status,
                           const char *body_has, const char *what);

/* Reads c, whose request is past the grace of a stop signalled at t_sig_ms (tenv_now_ms):
   asserts it is closed unanswered, no sooner than grace_ms after the signal (less 5 ms) and
   within latest_ms of it. what names the request ("a request past --grace-ms 200: ..."). */
void ct_expect_cut(const struct ct_running *r, struct hc_conn *c, double t_sig_ms, int grace_ms,
                   int latest_ms, const char *what);

/* The suite's async_server as an io=net backend on port (0: any), from $TVT_BIN_DIR (or
   bin/); skips the test when it is not built. Stopped by ct_backend_kill or ct_release. */
struct server_proc *ct_backend_start(int port);
void ct_backend_kill(struct server_proc *sp);

void ct_release(void);

#endif
