/* inflight: device reads in flight under the data file of io=file runs, from sysfs: the
 * kernel's own integral of reads in flight over time (the read ticks of DEV/stat), and 100 ms
 * samples of DEV/inflight beside it for the maximum. */
#ifndef TVT_INFLIGHT_H
#define TVT_INFLIGHT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The reads a device completed and the time they spent in flight, summed over reads (DEV/stat
 * fields 1 and 4), at one moment. */
struct inflight_mark {
    bool ok;
    uint64_t t_ns; /* CLOCK_MONOTONIC */
    uint64_t reads, read_ms;
};

/* The inflight file of one block device and the samples taken of it. */
struct inflight {
    int fd;                /* /sys/dev/block/MAJ:MIN/inflight, open; -1 when unavailable */
    int stat_fd;           /* its stat file beside it; -1 when there is none */
    char device[64];       /* the device's name ("vda1"), or "MAJ:MIN" when it has none */
    char source[256];      /* the file read */
    char unavailable[300]; /* why there is no figure; "" when there is one */
    bool window_on, step_on;
    long n, max, step_n; /* samples of the window (n, max) and of a capacity step */
    double sum, step_sum;
    struct inflight_mark win_a, win_b, step_a; /* the window's edges, the step's start */
    /* the files read through this when set (the server's host is another machine's; fd and
       stat_fd then only say whether each exists there): n bytes into buf, or -1 */
    long (*read)(void *ctx, bool stat, char *buf, size_t len);
    void *read_ctx;
};

/* Parses the text of an inflight file ("       3        0\n": reads, then writes). 0 ok, -1
 * malformed. Pure. */
int inflight_parse(const char *text, long *reads, long *writes);

/* Parses the text of a block device's stat file: reads completed (field 1) and the ms they
 * spent in flight, summed (field 4). 0 ok, -1 malformed. Pure. */
int inflight_parse_stat(const char *text, uint64_t *reads, uint64_t *read_ms);

/* Mean reads in flight between two marks: the kernel's summed read time over the time between
 * them (Little's law, integrated by the kernel rather than sampled); -1 without both. Pure. */
double inflight_mean_between(const struct inflight_mark *a, const struct inflight_mark *b);

/* Finds the inflight file of device major:minor under sys_root ("/sys"): the device's own (a
 * partition has one), else its parent disk's. Always fills d; d->fd < 0 and d->unavailable
 * say why when there is none. */
void inflight_open_dev(struct inflight *d, const char *sys_root, unsigned major, unsigned minor);

/* inflight_open_dev for the device that holds path (its st_dev). */
void inflight_open_file(struct inflight *d, const char *path);

/* Reads the reads in flight now; adds it to the window's figures (window_on) and the step's
 * (step_on). Returns it, or -1 when unavailable or unreadable. */
long inflight_sample(struct inflight *d);

/* The measured window's edges (window_on between them), now_ns on CLOCK_MONOTONIC. */
void inflight_window_begin(struct inflight *d, uint64_t now_ns);
void inflight_window_end(struct inflight *d, uint64_t now_ns);

/* Starts a capacity step's figures (step_on; step_n and step_sum zeroed). */
void inflight_step_begin(struct inflight *d, uint64_t now_ns);

/* Ends the step: its mean (the kernel's integral, else the samples'), -1 without a figure. */
double inflight_step_end(struct inflight *d, uint64_t now_ns);

/* {device, source, mean, method, reads, sampled_mean, max, samples} over the window, or
 * {device, unavailable}. Caller owns it. */
json_t *inflight_json(const struct inflight *d);

/* The text of the inflight file (stat false) or the stat file, for a reader elsewhere: bytes
 * read into buf (NUL-terminated), or -1. */
long inflight_read_here(struct inflight *d, bool stat, char *buf, size_t len);

void inflight_close(struct inflight *d);

#endif
