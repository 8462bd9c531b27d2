/* json_read: read the JSON files the programs under test write (the harness's results, the
   microbenchmarks', compare.json) and their keys. Every function asserts through Criterion,
   naming the file or the key. */
#ifndef TVT_JSON_READ_H
#define TVT_JSON_READ_H

#include <jansson.h>

/* The parsed file (asserts it is valid JSON); caller json_decref()s it. */
json_t *hjson_load(const char *path);

/* obj[key], asserting obj is an object that has it (borrowed). */
json_t *hget(json_t *obj, const char *key);

/* obj[key] as a number / an integer / a string, asserting its type. */
double hnum(json_t *obj, const char *key);
json_int_t hint(json_t *obj, const char *key);
const char *hstr(json_t *obj, const char *key);

/* Expects (cr_expect: the test goes on) every key of keys (NULL-terminated) in obj;
   `what` names obj in the message. */
void hexpect_keys(json_t *obj, const char *const *keys, const char *what);

#endif
