/* registry.h: every live connection thread of the thread server, so that stopping can end
 * them before the counters are printed (a thread still answering after that would go
 * uncounted). Locked once when a connection starts and once when it ends, never per
 * request. */
#ifndef TVT_REGISTRY_H
#define TVT_REGISTRY_H

#include <pthread.h>
#include <stdatomic.h>

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

/* Call before closing e->fd: once the fd number is free it may be reused, and the drain
 * must not shut down someone else's socket. Thread-safe. */
void registry_leave(struct registry *r, struct registry_entry *e);

/* Ends every live connection: shutdown() wakes a blocked read (of the client or the
 * backend) with EOF and fails any further write, wake_signal cuts a sleep short, so
 * nothing is answered after this returns. Waits up to timeout_s for the threads to leave;
 * returns how many did not (still burning work_us: they end with the process). */
long registry_drain(struct registry *r, int wake_signal, int timeout_s);

#endif
