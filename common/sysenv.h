/* sysenv: the environment of a run (machine, limits, versions), recorded in every result. */
#ifndef TVT_SYSENV_H
#define TVT_SYSENV_H

#include <jansson.h>

/* New jansson object: kernel, cpu_model, cores, mem_kib, pid_max, threads_max,
   nproc_limit, nofile_limit, max_map_count, libev_version, cc_version, git_commit,
   date (ISO 8601 UTC). Caller owns it. Never fails to return an object; unknown -> null.
   Limits are soft limits; an unlimited one is the string "unlimited". Thread-safe. */
json_t *sysenv_json(void);

#endif
