/* load_driver: keeps requests in flight on many connections from the helper thread (itest's
   bg_start), checking every answer; the test asserts on the figures after bg_join. */
#ifndef TVT_LOAD_DRIVER_H
#define TVT_LOAD_DRIVER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "http_client.h"

/* Keeps `depth` requests in flight on each connection, sending one more per answer, and
   checks each answer. The connections are opened by the test thread (hc_connect keeps a
   list that is not locked); the helper only sends and receives on them. */
#define LOAD_MAX   100
#define LOAD_DEPTH 4
#define LOAD_TIMES 4096
struct load {
    struct hc_conn *c[LOAD_MAX];
    int n, depth;
    uint32_t wait_us_max; /* each request waits 0..wait_us_max */
    bool stop_on_close;   /* a close is the end (SIGTERM), not a failure */
    /* state */
    bool open[LOAD_MAX];
    uint32_t want[LOAD_MAX][LOAD_DEPTH]; /* body lengths of the requests in flight, FIFO */
    int head[LOAD_MAX], inflight[LOAD_MAX];
    uint32_t seq;
    /* results */
    atomic_long ok;
    long bad, cut, send_failed;
    atomic_long closed; /* read by the test thread while the helper runs */
    char first_bad[256];
    double done_ms[4][LOAD_TIMES]; /* answer times of the first four connections */
    int ndone[4];
};

/* Clears l for n connections (fill l->c before starting the helper). */
void load_init(struct load *l, int n, int depth, uint32_t wait_us_max, bool stop_on_close);

/* The helper's body (bg_start(load_main, l)). Runs until told to stop (bg_stop), then reads
   the answers still in flight (sending no more) so that the test can go on using the
   connections; or until every connection has closed. */
void *load_main(void *arg);

#endif
