/* harness_run: run bin/harness from a test (bounded, output to a log) and read its JSON result.
   Every function asserts through Criterion. */
#ifndef TVT_HARNESS_RUN_H
#define TVT_HARNESS_RUN_H

#include <jansson.h>

/* Runs $TVT_BIN_DIR/harness with args (NULL-terminated), stdout and stderr to DIR/NAME.log;
   SIGKILLs it after timeout_s. Returns its exit code (128 + signal if killed by one), or -1 if
   it had to be killed. */
int hrun(const char *dir, const char *name, const char *const *args, int timeout_s);

/* The whole log of a hrun, NUL-terminated; caller frees. */
char *hrun_log(const char *dir, const char *name);

/* The parsed result file (asserts it is valid JSON); caller json_decref()s it. */
json_t *hjson_load(const char *path);

/* obj[key], asserting obj is an object that has it (borrowed). */
json_t *hget(json_t *obj, const char *key);

/* obj[key] as a number / a string, asserting its type. */
double hnum(json_t *obj, const char *key);
const char *hstr(json_t *obj, const char *key);

#endif
