/* micro_schema: the keys microbench/SCHEMA.md requires, section by section. */
#include "micro_schema.h"

#include <stddef.h>

const char *const SCHEMA_ENV_KEYS[] = {"kernel",        "cpu_model",
                                       "cores",         "mem_kib",
                                       "pid_max",       "threads_max",
                                       "nproc_limit",   "nofile_limit",
                                       "max_map_count", "libev_version",
                                       "cc_version",    "git_commit",
                                       "date",          NULL};

const char *const SCHEMA_SPAWN_KEYS[] = {"bench",  "kind",  "unit",   "params", "env", "baseline",
                                         "points", "slope", "totals", "wall",   "ok",  NULL};

const char *const SCHEMA_SPAWN_PARAMS_KEYS[] = {
    "counts", "stack_kib", "stack_kib_effective", "state_bytes", "hold_ms", "until_failure", NULL};

const char *const SCHEMA_BASELINE_KEYS[] = {"rss_kib",      "vsz_kib", "pss_kib",
                                            "rss_anon_kib", "threads", NULL};

const char *const SCHEMA_POINT_KEYS[] = {"requested",
                                         "created",
                                         "ready",
                                         "torn_down",
                                         "create_ns",
                                         "ready_ns",
                                         "teardown_ns",
                                         "create_ns_per_unit",
                                         "ready_ns_per_unit",
                                         "teardown_ns_per_unit",
                                         "rss_kib",
                                         "vsz_kib",
                                         "pss_kib",
                                         "rss_anon_kib",
                                         "threads",
                                         "rss_delta_kib",
                                         "vsz_delta_kib",
                                         "pss_delta_kib",
                                         "rss_anon_delta_kib",
                                         "rss_bytes_per_unit",
                                         "vsz_bytes_per_unit",
                                         "pss_bytes_per_unit",
                                         "kernel_stack_delta_kib",
                                         "sunreclaim_delta_kib",
                                         "kernel_stack_bytes_per_unit",
                                         "sunreclaim_bytes_per_unit",
                                         "failure",
                                         NULL};

const char *const SCHEMA_SLOPE_KEYS[] = {"points_used",
                                         "rss_bytes_per_unit",
                                         "vsz_bytes_per_unit",
                                         "pss_bytes_per_unit",
                                         "rss_anon_bytes_per_unit",
                                         "kernel_stack_bytes_per_unit",
                                         "sunreclaim_bytes_per_unit",
                                         "create_ns_per_unit",
                                         "teardown_ns_per_unit",
                                         NULL};

const char *const SCHEMA_SWITCH_KEYS[] = {"bench", "params", "env", "results", "ok", NULL};

const char *const SCHEMA_SWITCH_PARAMS_KEYS[] = {"mechanisms", "rings",   "iters",
                                                 "warmup",     "pin_cpu", NULL};

const char *const SCHEMA_RESULT_KEYS[] = {"mechanism",
                                          "unit",
                                          "ring",
                                          "iters",
                                          "warmup",
                                          "hops_counted",
                                          "elapsed_ns",
                                          "ns_per_hop",
                                          "baseline_ns_per_hop",
                                          "ns_per_switch",
                                          "nvcsw",
                                          "nivcsw",
                                          "switches_per_hop",
                                          "verified",
                                          "created",
                                          "torn_down",
                                          "ok",
                                          "error",
                                          NULL};
