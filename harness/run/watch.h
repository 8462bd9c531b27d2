/* watch: the run's clock loop: every 100 ms, is the server (and a backend) alive, what does it
 * hold, is it still answering, and a progress line a second; SIGINT/SIGTERM end a run early. */
#ifndef TVT_WATCH_H
#define TVT_WATCH_H

#include <signal.h>
#include <stdint.h>

#include "run/run.h"

enum until {
    UNTIL_TIME,   /* end_ns */
    UNTIL_RAMPED, /* every connection open or given up on; by end_ns, or the run fails */
    UNTIL_QUOTA,  /* the generator answered its --requests */
};

/* Watches the run until `until`, sampling the server and printing progress as `phase` (a
 * static string, kept in the samples). 0 ok; -1 the run failed (x->r says why). */
int watch_until(struct run *x, const char *phase, uint64_t end_ns, enum until until);

/* Starts the watch clock: samples are timed from now. */
void watch_start_clock(struct run *x);

/* SIGINT and SIGTERM end the run early (as a failure); SIGPIPE is ignored. Restore puts the
 * defaults back. */
void watch_signals_install(void);
void watch_signals_restore(void);

/* The signal that asked the run to end, 0 if none. */
int watch_stop_signal(void);

/* For code that can give up midway (the data file's write): a flag that turns non-zero on a
 * stop signal. */
volatile const sig_atomic_t *watch_stop_flag(void);

#endif
