/* window: the measured window's readings of the server, its backend and both CPU sets, taken
 * at its edges, and the figures they give (CPU, switches, steady memory, kernel memory,
 * whether the generator kept up). */
#ifndef TVT_WINDOW_H
#define TVT_WINDOW_H

#include "run/run.h"

/* The server idle, before any connection: the baseline of the memory figures. */
void window_baseline(struct run *x);

/* The window opens: readings of the server (switches first, then CPU and perf), the backend,
 * both CPU sets, the device. */
void window_open(struct run *x);

/* The window has closed: the server's CPU, switches and perf count over it, its memory with
 * the connections still open ("at steady state"), the backend's CPU, the CPU sets' busy share.
 * Safe to call once only (x->window_closed). */
void window_close(struct run *x);

/* The saturated flag and its figures, from the generator's result (r->load) and a backend
 * that shares its CPUs. */
void window_saturation(struct run_record *r, const struct load_opts *lo, int host_cpus,
                       int host_loops);

#endif
