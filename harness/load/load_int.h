/* load_int: the load generator's insides, shared by its two halves: load_conn.c (one
 * connection's state machine, on its loop) and load.c (the loops, their commands, the results).
 * Not an API: load.h is. */
#ifndef TVT_LOAD_INT_H
#define TVT_LOAD_INT_H

#include <ev.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "client_http.h"
#include "load/load.h"
#include "load/sched.h"

#define RBUF_SIZE      (64 * 1024) /* one per thread: answers are parsed, never kept */
#define TICK_S         0.1         /* timeout scan and progress publication */
#define BACKOFF_NS     10000000ULL /* first connect retry after 10 ms, doubling */
#define BACKOFF_MAX_NS 1000000000ULL
#define COMMAND_WAIT_NS                                                                            \
    10000000000ULL /* a loop thread acts on a command within ms; 10 s means it is stuck */
#define RAMP_WINDOW                                                                                \
    1024 /* connections opened but not yet answered, over all loops: well                          \
            below the usual accept backlog (somaxconn 4096), so a fast ramp                        \
            does not overflow it and lose handshakes */

/* The ramp opens the connections, each with one request whose answer confirms it; traffic
 * starts with the warmup, once every connection is open, so that a server busy answering
 * the first ones does not starve its own accept loop for the last ones. */
enum phase { PH_RAMP, PH_WARMUP, PH_MEASURE, PH_COOLDOWN, PH_STOP };

enum conn_state {
    CS_WAIT_CONNECT, /* queued to (re)connect */
    CS_CONNECTING,   /* non-blocking connect in progress */
    CS_IDLE,         /* connected, no request out (maybe queued to send) */
    CS_WAITING,      /* request out, answer pending */
    CS_RETIRED,      /* given up on after its retries */
};

struct lthread;

/* One connection: owns its fd, its watcher and its place in the schedule. */
struct conn {
    ev_io io;
    struct sched_node due; /* next connect attempt or next send */
    struct chttp http;
    struct lthread *t;
    int fd;
    int idx;     /* global index: picks the source address */
    int local;   /* index in its thread */
    int retries; /* failed connect attempts in a row */
    int woff;    /* request bytes already written */
    uint8_t state;
    bool started; /* its first connect was let through the ramp */
    bool ever_connected;
    bool confirmed; /* its first answer came: the server really accepted it */
    bool is_open;
    bool want_write;
    bool in_ready;        /* its next request goes out before the next poll */
    uint64_t state_ns;    /* CLOCK_MONOTONIC: start of the connect or of the request */
    uint64_t intended_ns; /* when this request was due (open loop); = state_ns closed loop */
    uint64_t next_ns;     /* closed loop with think time: earliest next send */
    uint64_t restart_ns;  /* a new step's slot for the request after the one in flight */
    bool resched;         /* restart_ns replaces the schedule once the request in flight ends */
    bool slow;            /* a stop watch's slow request is its request */
    uint8_t stop_end;     /* a stop watch: 1 + its load_stop_kind once it ended; 0 not yet */
};

/* The figures of one measured window of one thread. */
struct acc {
    struct load_counts c;
    struct hist *lat, *lat_raw;
    uint64_t start_ns, end_ns; /* CLOCK_MONOTONIC; the CPU figures span them */
    /* only requests due in [from, until) count: a step settles first, and its last requests
       get time to be answered */
    uint64_t from_ns, until_ns;
    double cpu_start_s, cpu_end_s; /* the thread's CPU time */
};

/* One loop thread. Everything but the pub_* atomics is touched by that thread only while it
 * runs; the main thread reads the rest after join. */
struct lthread {
    struct load *l;
    pthread_t tid;
    bool started;
    struct ev_loop *loop;
    ev_async wake;
    ev_timer tick;
    ev_io timer_io;
    ev_prepare rearm;
    int tfd; /* timerfd: microsecond wake-ups where libev's epoll sleeps whole ms */
    uint64_t armed_ns;
    struct sched sched;
    struct conn *conns;
    int nconns;
    struct conn **ready; /* requests to send before the next poll, as wrk batches its writes */
    int nready, ready_cap;
    char *rbuf;
    uint64_t interval_ns; /* open loop: between two requests of one connection */
    uint64_t think_ns;
    int seen_phase;
    int ramp_pending, connected, failed, open_now, open_peak, open_end;
    int ramping, ramp_window; /* started, neither answered nor given up on; the cap */
    struct conn **ramp_wait;  /* due to open, waiting for room in the window (FIFO) */
    int ramp_head, ramp_tail;
    uint64_t ramp_done_ns;
    bool traffic, measuring, frozen, quota_reached;
    bool watching; /* a stop watch: only how connections end counts */
    uint64_t stop[LOAD_STOP_N], stop_open;
    uint64_t quota, measured;
    struct acc win;  /* the measured window (begin_measure .. end_measure) */
    struct acc step; /* the open-loop step of a capacity curve, after the window */
    struct acc *cur; /* where answers and errors count now: &win, &step or NULL */
    unsigned step_gen;
    uint64_t all_responses, all_errors;
    char first_error[LOAD_ERR_N][128];
    _Atomic uint64_t pub_progress, pub_errors;
    _Atomic int pub_ramped, pub_quota_done, pub_open, pub_failed;
    _Atomic unsigned pub_seq; /* the last command of the main thread applied */
};

struct load {
    struct load_opts o;
    int nthreads;
    struct lthread *t;
    uint64_t start_ns;
    _Atomic int phase;
    /* commands that the main thread waits for: written, then seq bumped, then the threads
       woken; each thread stores the seq it has seen in pub_seq once it has acted on them */
    _Atomic unsigned seq;
    _Atomic unsigned step_gen; /* bumped by every step command */
    _Atomic int step_open;     /* 1: a step runs at step_rate; 0: none */
    _Atomic double step_rate;  /* this process's share, requests/s */
    _Atomic uint64_t step_settle_ns, step_length_ns;
    _Atomic int watch; /* 1: a stop watch (load_stop_watch) */
};

/* A stop watch: connection c ended as kind (its first end counts); its fd is closed, and it
 * is never reopened. */
void ld_stop_end(struct conn *c, int kind);

/* Opens window a at now; closes it (counting the connections still failing to reconnect as
 * connect errors), and stops counting there if it was t->cur. */
void ld_acc_open(struct acc *a, uint64_t now);
void ld_acc_close(struct lthread *t, struct acc *a, uint64_t now);

/* Ends the measured window of t (once). */
void ld_freeze(struct lthread *t, uint64_t now);

/* Sends the connection's request now (its slow one in a stop watch). */
void ld_conn_send(struct conn *c, uint64_t now);

/* Decides a connection's next send: at once, at its open-loop slot, or after the think time. */
void ld_conn_next(struct conn *c, uint64_t now);

/* Undoes the connection's fd and watcher, in reverse order: stop, unqueue, close. */
void ld_conn_close(struct conn *c);

/* The loop's callbacks: a connection's socket, the timerfd of the schedule, before each poll
 * (batched sends, the timerfd re-armed), every TICK_S (timeouts, progress). */
void ld_on_io(struct ev_loop *loop, ev_io *w, int revents);
void ld_on_timerfd(struct ev_loop *loop, ev_io *w, int revents);
void ld_on_prepare(struct ev_loop *loop, ev_prepare *w, int revents);
void ld_on_tick(struct ev_loop *loop, ev_timer *w, int revents);

#endif
