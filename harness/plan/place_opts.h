/* place_opts: the CPU plan of a run from its flags, into its record (placement.h does the plan). */
#ifndef TVT_PLACE_OPTS_H
#define TVT_PLACE_OPTS_H

#include <stddef.h>

#include "plan/cli.h"
#include "record/result.h"

/* Plans where the server, the generator and a backend run (r->place), sets the legacy first
 * CPUs, the note and the generator's loops per process (one per CPU of its set unless
 * --threads). Call it before this process pins itself. 0 ok; -1 with the cause in err. */
int place_from_opts(const struct cli_opts *o, struct run_record *r, char *err, size_t errlen);

#endif
