/* micro_schema: the keys microbench/SCHEMA.md requires of the microbenchmarks' result files,
   in one place: spawn_*.json and switch_*.json (spawn_bench, switch_bench, and bin/tokio_micro
   that writes the same files), and the env object they share with the harness's results
   (common/sysenv.h). Each list is NULL-terminated, for hexpect_keys (json_read.h). */
#ifndef TVT_MICRO_SCHEMA_H
#define TVT_MICRO_SCHEMA_H

/* env: common to every result file (common/sysenv.h) */
extern const char *const SCHEMA_ENV_KEYS[];

/* spawn_*.json: the top level, params, baseline, each points[] element, slope */
extern const char *const SCHEMA_SPAWN_KEYS[];
extern const char *const SCHEMA_SPAWN_PARAMS_KEYS[];
extern const char *const SCHEMA_BASELINE_KEYS[];
extern const char *const SCHEMA_POINT_KEYS[];
extern const char *const SCHEMA_SLOPE_KEYS[];

/* switch_*.json: the top level, params, each results[] element */
extern const char *const SCHEMA_SWITCH_KEYS[];
extern const char *const SCHEMA_SWITCH_PARAMS_KEYS[];
extern const char *const SCHEMA_RESULT_KEYS[];

#endif
