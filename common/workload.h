/* workload.h: what one request asks of a server: a wait, CPU work, a body size. */
#ifndef TVT_WORKLOAD_H
#define TVT_WORKLOAD_H

#include <stddef.h>
#include <stdint.h>

#define WAIT_US_MAX 60000000u  /* 60 s: longer is a typo, not a benchmark */
#define WORK_US_MAX 10000000u  /* 10 s of CPU per request */
#define BYTES_MAX   (1u << 20) /* 1 MiB: the 200 body comes from one static buffer */

struct workload {
    uint32_t wait_us; /* simulated external I/O: a timer or a sleep */
    uint32_t work_us; /* CPU time the serving thread burns */
    uint32_t bytes;   /* body length of the answer */
};

/* Parses a decimal integer of len bytes in [0, max] into *out.
 * 0 ok; -1 empty, not a number, or out of range. */
int workload_parse_u32(const char *s, size_t len, uint32_t max, uint32_t *out);

/* Applies a query string (without '?', not NUL-terminated), e.g.
 * "wait_us=2000&bytes=64", over the values already in *w. Unknown keys are
 * errors so that a typo cannot silently run the default.
 * 0 ok; -1 malformed, unknown or out of range, with a reason in err. */
int workload_parse_query(struct workload *w, const char *q, size_t len, char *err, size_t errlen);

/* Burns work_us of the calling thread's own CPU time (not wall time, so being
 * preempted does not shorten the work). Thread-safe. */
void workload_spin(uint32_t work_us);

#endif
