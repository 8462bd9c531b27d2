/* harness_run: run bin/harness from a test (bounded, its output to a log or kept in memory)
   and read its JSON result (the readers are json_read.h's, included). Every function asserts
   through Criterion. */
#ifndef TVT_HARNESS_RUN_H
#define TVT_HARNESS_RUN_H

#include <jansson.h>
#include <stddef.h>

#include "child_proc.h"
#include "json_read.h"

#define HRUN_TIMEOUT_MS 30000 /* hrun_child's bound */

/* The kinds a result counts its errors by (client.errors, capacity.steps[].errors),
   NULL-terminated. */
extern const char *const HRUN_ERROR_KINDS[];

/* The server the harness tests start: async unless TVT_IMPLS leaves only the thread server
   (the TSan pass). */
const char *hrun_impl(void);

/* Starts $TVT_BIN_DIR/<impl>_server (server_proc.h) for a `harness load --target`, asserting
   it listens, and writes its address ("127.0.0.1:PORT") into target. Stop it with
   server_stop and server_free. */
struct server_proc *hrun_server(const char *impl, char *target, size_t len);

/* Skips the test, saying that `who` needs it, when $TVT_BIN_DIR/harness is not built. */
void hrun_need(const char *who);

/* $TVT_BIN_DIR/harness, asserting it is built. Static storage. */
const char *hrun_path(void);

/* The argv of `harness ARGS...` (args NULL-terminated). Static storage, overwritten by the
   next call. */
const char *const *hrun_argv(const char *const *args);

/* Runs `harness ARGS...` to its end (HRUN_TIMEOUT_MS at most) as c, its output in c->out,
   with the options o (may be NULL). Returns its code (see struct child). */
int hrun_child(struct child *c, const char *const *args, const struct child_opts *o);

/* Runs $TVT_BIN_DIR/harness with args (NULL-terminated), stdout and stderr to DIR/NAME.log;
   SIGKILLs it after timeout_s. Returns its exit code (128 + signal if killed by one), or -1 if
   it had to be killed. */
int hrun(const char *dir, const char *name, const char *const *args, int timeout_s);

/* The whole log of a hrun, NUL-terminated; caller frees. */
char *hrun_log(const char *dir, const char *name);

/* hrun with `--out DIR/NAME.json --quiet` added to args (before a `--`: what follows it goes
   to the server). Returns the exit code; *doc is the parsed result when the harness wrote one,
   else NULL. */
int hrun_result(const char *dir, const char *name, const char *const *args, int timeout_s,
                json_t **doc);

/* hrun_result that must exit 0 with status "ok" (the log in the message if not): the parsed
   result; caller json_decref()s it. */
json_t *hrun_ok(const char *dir, const char *name, const char *const *args, int timeout_s);

#endif
