/* registry.h: every live connection thread of the thread server, so that a stop can reach each
 * of them (wake the idle ones, cut the rest at the end of the grace) and wait for them all
 * before the counters are printed (a thread still answering after that would go uncounted).
 * Locked once when a connection starts and once when it ends, never per request. */
#ifndef TVT_REGISTRY_H
#define TVT_REGISTRY_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

/* One connection thread, embedded in its (stack-allocated) connection. */
struct registry_entry {
    struct registry_entry *prev, *next;
    pthread_t tid;
    int fd;                       /* the client socket */
    const atomic_int *backend_fd; /* the thread's backend socket (-1: none); may be NULL */
};

struct registry {
    pthread_mutex_t mu;
    pthread_cond_t empty;
    struct registry_entry *head;
    long live;
    int closed; /* stopping: no new connection joins */
};

#define REGISTRY_INIT                                                                              \
    {                                                                                              \
        .mu = PTHREAD_MUTEX_INITIALIZER, .empty = PTHREAD_COND_INITIALIZER                         \
    }

/* 0 when e joined; -1 when the server is stopping. Thread-safe. */
int registry_join(struct registry *r, struct registry_entry *e);

/* Call before closing e->fd: once the fd number is free it may be reused, and a stop must
 * not shut down someone else's socket. Thread-safe. */
void registry_leave(struct registry *r, struct registry_entry *e);

/* The start of a stop: no connection joins any more, and every client socket is shut down
 * for reading, so that a thread blocked reading its client (idle, or holding part of a
 * request) wakes at once with EOF, while a thread busy with a request goes on and can still
 * write its answer. One pass over the threads, none waited for. Thread-safe. */
void registry_stop(struct registry *r);

/* Waits until every connection thread has left or timeout_ms has passed; returns how many
 * are still live. Thread-safe. */
long registry_wait(struct registry *r, uint32_t timeout_ms);

/* The end of the grace: every thread left is cut: its sockets (the client's and the
 * backend's) are shut down both ways, so that a blocked read ends with EOF and a write
 * fails, and wake_signal cuts a sleep short. Thread-safe. */
void registry_cut(struct registry *r, int wake_signal);

#endif
