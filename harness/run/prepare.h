/* prepare: what io=net and io=file runs need before the server starts. */
#ifndef TVT_PREPARE_H
#define TVT_PREPARE_H

#include <stddef.h>

#include "run/run.h"

/* io=file: the data file, written (with progress lines) or reused, or --data-file checked as
 * the servers check it, and its device opened for sampling; io=net with --upstream: that
 * backend answers now. A stop signal abandons the data file's write. 0 ok; -1 a usage error
 * with the cause and the fix in err (exit 2). */
int prepare_waits(struct run *x, char *err, size_t errlen);

#endif
