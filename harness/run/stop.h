/* stop: the stop scenario of `run --stop` (its figures in the record's `stop`). */
#ifndef TVT_STOP_H
#define TVT_STOP_H

#include "run/run.h"

/* Once every connection is open: M of them send their slow request, the server gets SIGTERM a
 * moment later, and its exit is awaited (SIGKILL past its grace) while new connects are tried
 * every 10 ms. The connections' ends are counted by the generator (gen_stop collects them). */
void stop_scenario(struct run *x);

#endif
