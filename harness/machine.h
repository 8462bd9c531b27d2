/* machine: what this machine lets a run use: open files, CPUs, ephemeral ports. */
#ifndef TVT_MACHINE_H
#define TVT_MACHINE_H

#include <sched.h>
#include <stdbool.h>
#include <stddef.h>

/* Raises RLIMIT_NOFILE's soft limit to the hard limit (setrlimit past the hard limit
 * fails, even as root, on some machines). Returns the soft limit now in force (-1 for
 * unlimited); *hard gets the hard one. */
long machine_raise_nofile(long *hard);

/* Chooses where to pin. want < 0: no pinning (returns -1). A CPU this process may not run
 * on is an error when explicit; a default one (or one equal to avoid, the other side's)
 * falls back to the first allowed CPU other than avoid, or to avoid itself on a one-CPU
 * machine; note says what happened. Returns the CPU, -1 for none, or -2 with the cause in
 * note. */
int machine_pick_cpu(int want, bool explicit_, int avoid, char *note, size_t notelen);

/* CPUs this process may run on (sched_getaffinity), at least 1. */
int machine_cpu_count(void);

/* Size of net.ipv4.ip_local_port_range: the ports one source address has per
 * destination. 28232 if it cannot be read. */
int machine_port_range(void);

#endif
