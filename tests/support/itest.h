/* itest.h: fixtures the server integration tests share (test_servers, test_faults).
   Every function asserts through Criterion, naming the server ("[async] ...").
   Call itest_release() from the test's .fini: it stops the servers, closes the
   connections and frees the responses that a failed assertion left behind. */
#ifndef TVT_ITEST_H
#define TVT_ITEST_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "http_client.h"
#include "server_proc.h"

#define EXPECT(impl, cond, fmt, ...) cr_assert((cond), "[%s] " fmt, (impl), ##__VA_ARGS__)

extern const char *const IMPLS[3];

/* Response slots and the last counters document, released by itest_release(). */
#define MAX_RESP 4
extern struct hc_response resp_slot[MAX_RESP];
extern bool resp_used[MAX_RESP];
extern json_t *counters_doc;

/* Time bound of one send or read, stretched under sanitizers. */
int io_ms(void);

/* Starts the server spec names (spec->impl), asserts it listens on 127.0.0.1 and
   registers it so that itest_release() stops it after a failed assertion. */
struct server_proc *start_spec(const struct server_spec *spec);
struct server_proc *start(const char *impl, const char *const *args);
/* Unregisters a server the test stopped itself. */
void forget(struct server_proc *sp);
void stop_leftovers(void);

/* A response slot (asserts when all MAX_RESP are held); resp_done frees it. */
struct hc_response *resp_new(void);
void resp_done(struct hc_response *r);

/* Asserts the server is still running (its stderr in the message if not). */
void expect_alive(const char *impl, struct server_proc *sp, const char *when);

/* Stops the server with sig, asserts a clean exit 0 with exactly one JSON counters line on
   stderr, and returns that object (borrowed: valid until the next call or the test's end).
   *elapsed_ms (may be NULL): from the signal to the reaped exit. */
json_t *stop_counters(const char *impl, struct server_proc *sp, int sig, double *elapsed_ms);
/* The integer counter key of a counters document (asserts it is there). */
long long counter(const char *impl, json_t *doc, const char *key);

struct hc_conn *connect_ok(const char *impl, int port);
void send_ok(const char *impl, struct hc_conn *c, const void *data, size_t len, const char *what);

/* CPU seconds (user + system) the process has used so far, from /proc/PID/stat. */
double cpu_seconds(pid_t pid);

/* Runs fn once per server TVT_IMPLS enables; skips the test if none. */
void for_each_impl(void (*fn)(const char *impl));

void itest_release(void);

#endif
