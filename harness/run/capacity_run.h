/* capacity_run: drives the open-loop steps of a capacity curve (capacity.h has the curve). */
#ifndef TVT_CAPACITY_RUN_H
#define TVT_CAPACITY_RUN_H

#include "run/run.h"

/* --capacity, once the closed-loop window has closed: its throughput X, then the open-loop
 * steps from CAP_LOW to CAP_HIGH of X on the same server and connections, each measured and
 * printed. A failure is in x->r; the steps measured so far are kept and decided on. */
void capacity_run(struct run *x);

#endif
