/* runner: one run from start to end: spawn and watch the server, drive the load, collect. */
#ifndef TVT_RUNNER_H
#define TVT_RUNNER_H

#include <stddef.h>

#include "plan/cli.h"
#include "record/result.h"

/* Runs `load` or `run` as o says and fills r (result_init is done here; result_free is the
 * caller's). Progress lines go to stdout unless o->quiet. Returns 0 when the run succeeded,
 * 1 when it failed (r says why and is complete enough to write), 2 for a usage error whose
 * message is in err (nothing was run). SIGINT/SIGTERM end the run early, as a failure. */
int runner_run(const struct cli_opts *o, struct run_record *r, char *err, size_t errlen);

#endif
