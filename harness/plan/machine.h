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

/* CPUs this process may run on (sched_getaffinity), at least 1. */
int machine_cpu_count(void);

/* Size of net.ipv4.ip_local_port_range: the ports one source address has per
 * destination. 28232 if it cannot be read. */
int machine_port_range(void);

#endif
