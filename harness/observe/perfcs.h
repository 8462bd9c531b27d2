/* perfcs: a process's context switches from the kernel's perf software counter (all threads). */
#ifndef TVT_PERFCS_H
#define TVT_PERFCS_H

#include <stddef.h>
#include <sys/types.h>

struct perfcs;

/* Opens one PERF_COUNT_SW_CONTEXT_SWITCHES counter per existing thread of each of the n
 * processes, each with inherit=1 so that threads (and processes) they create later are
 * counted too. NULL with the cause in err where the kernel refuses (perf_event_paranoid,
 * seccomp, no perf support). */
struct perfcs *perfcs_open(const pid_t *pids, int n, char *err, size_t errlen);

/* Switches so far, summed over the counters and their inherited children; -1 on error. */
long long perfcs_read(struct perfcs *p);

/* Closes the counters; NULL is fine. */
void perfcs_close(struct perfcs *p);

#endif
