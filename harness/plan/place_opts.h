/* place_opts: the CPU plan of a run from its flags, into its record (placement.h does the plan). */
#ifndef TVT_PLACE_OPTS_H
#define TVT_PLACE_OPTS_H

#include <stddef.h>

#include "plan/cli.h"
#include "plan/hosts_plan.h"
#include "record/result.h"

/* Plans where the server, the generator and a backend run (r->place), sets the legacy first
 * CPUs, the note and the generator's loops per process (one per CPU of its set unless
 * --threads). Call it before this process pins itself. 0 ok; -1 with the cause in err. */
int place_from_opts(const struct cli_opts *o, struct run_record *r, char *err, size_t errlen);

/* The same across hosts: the server on its host's K lowest CPUs (--server-cpus, default all),
 * a backend beside it on the ones above, generators on their own hosts' CPUs (loops decided
 * there, unless --threads); one machine's split when the server shares it with generators.
 * 0 ok; -1 with the cause in err. */
int place_on_hosts(const struct cli_opts *o, const struct hosts_plan *hp, struct run_record *r,
                   char *err, size_t errlen);

#endif
