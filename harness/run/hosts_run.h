/* hosts_run: the hosts of a run across hosts while it goes: their agents opened (the server's
 * and the backend's hosts), the generators' shares, what the result says of each, and nothing
 * left behind at the end. */
#ifndef TVT_HOSTS_RUN_H
#define TVT_HOSTS_RUN_H

#include <stddef.h>

#include "run/run.h"

/* Reads the hosts file (x->hp) and opens the agents of the server's and the backend's hosts:
 * their builds checked, the server host's CPUs known for the plan. 0 ok (nothing to do without
 * --hosts); 2 a usage error in err; 1 a host that cannot be used (x->r failed, initialized). */
int hosts_open(struct run *x, char *err, size_t errlen);

/* The generators across the client hosts (gen_start_spread). NULL with the cause in err. */
struct gen *hosts_start_load(struct run *x, char *err, size_t errlen);

/* The CPUs of the generators' hosts together (each host's cpus_allowed; this machine's own),
 * and their loops into *loops (one per CPU unless --threads); 0 without --hosts. */
int hosts_client_cpus(const struct run *x, int *loops);

/* Each host's roles, environment and share into x->r (after the load's end). */
void hosts_record(struct run *x);

/* The agents and the ssh connections closed. Safe without --hosts. */
void hosts_close(struct run *x);

#endif
