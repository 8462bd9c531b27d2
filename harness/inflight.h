/* inflight: device reads in flight under the data file of io=file runs, from sysfs, sampled. */
#ifndef TVT_INFLIGHT_H
#define TVT_INFLIGHT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* The inflight file of one block device and the samples taken of it. */
struct inflight {
    int fd;                /* /sys/dev/block/MAJ:MIN/inflight, open; -1 when unavailable */
    char device[64];       /* the device's name ("vda1"), or "MAJ:MIN" when it has none */
    char source[256];      /* the file read */
    char unavailable[300]; /* why there is no figure; "" when there is one */
    bool window_on, step_on;
    long n, max, step_n; /* samples of the window (n, max) and of a capacity step */
    double sum, step_sum;
};

/* Parses the text of an inflight file ("       3        0\n": reads, then writes). 0 ok, -1
 * malformed. Pure. */
int inflight_parse(const char *text, long *reads, long *writes);

/* Finds the inflight file of device major:minor under sys_root ("/sys"): the device's own (a
 * partition has one), else its parent disk's. Always fills d; d->fd < 0 and d->unavailable
 * say why when there is none. */
void inflight_open_dev(struct inflight *d, const char *sys_root, unsigned major, unsigned minor);

/* inflight_open_dev for the device that holds path (its st_dev). */
void inflight_open_file(struct inflight *d, const char *path);

/* Reads the reads in flight now; adds it to the window's figures (window_on) and the step's
 * (step_on). Returns it, or -1 when unavailable or unreadable. */
long inflight_sample(struct inflight *d);

/* Starts a capacity step's figures (step_on; step_n and step_sum zeroed). */
void inflight_step_begin(struct inflight *d);

/* Ends the step: its mean, -1 without samples or a device. */
double inflight_step_end(struct inflight *d);

/* {device, source, mean, max, samples} over the window, or {device, unavailable}. Caller owns
 * it. */
json_t *inflight_json(const struct inflight *d);

void inflight_close(struct inflight *d);

#endif
