/* registry.c: the thread server's live connection threads, reached together at a stop. */
#include "registry.h"

#include <signal.h>
#include <sys/socket.h>
#include <time.h>

#include "dlist.h"

int registry_join(struct registry *r, struct registry_entry *e)
{
    pthread_mutex_lock(&r->mu);
    if (r->closed) {
        pthread_mutex_unlock(&r->mu);
        return -1;
    }
    DLIST_PUSH(r->head, e);
    r->live++;
    pthread_mutex_unlock(&r->mu);
    return 0;
}

void registry_leave(struct registry *r, struct registry_entry *e)
{
    pthread_mutex_lock(&r->mu);
    DLIST_UNLINK(r->head, e);
    if (--r->live == 0)
        pthread_cond_signal(&r->empty);
    pthread_mutex_unlock(&r->mu);
}

void registry_stop(struct registry *r)
{
    pthread_mutex_lock(&r->mu);
    r->closed = 1;
    /* A shutdown is a few microseconds: 30,000 threads are woken in well under a second, and
       none is waited for here; each closes its own socket as it leaves. */
    for (struct registry_entry *e = r->head; e; e = e->next)
        shutdown(e->fd, SHUT_RD);
    pthread_mutex_unlock(&r->mu);
}

long registry_wait(struct registry *r, uint32_t timeout_ms)
{
    struct timespec deadline;
    long left;

    clock_gettime(CLOCK_REALTIME, &deadline); /* the condition variable's clock */
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
    if (deadline.tv_nsec >= 1000000000) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&r->mu);
    while (r->live > 0 && pthread_cond_timedwait(&r->empty, &r->mu, &deadline) == 0)
        ;
    left = r->live;
    pthread_mutex_unlock(&r->mu);
    return left;
}

void registry_cut(struct registry *r, int wake_signal)
{
    pthread_mutex_lock(&r->mu);
    for (struct registry_entry *e = r->head; e; e = e->next) {
        shutdown(e->fd, SHUT_RDWR);
        /* The backend fd may have been closed and its number taken by another socket
           meanwhile: harmless, every socket left is being cut anyway. */
        int up = e->backend_fd ? atomic_load(e->backend_fd) : -1;
        if (up >= 0)
            shutdown(up, SHUT_RDWR);
        pthread_kill(e->tid, wake_signal);
    }
    pthread_mutex_unlock(&r->mu);
}
