/* registry.c: the thread server's live connection threads, ended together at stop. */
#include "registry.h"

#include <signal.h>
#include <sys/socket.h>
#include <time.h>

int registry_join(struct registry *r, struct registry_entry *e)
{
    pthread_mutex_lock(&r->mu);
    if (r->closed) {
        pthread_mutex_unlock(&r->mu);
        return -1;
    }
    e->prev = NULL;
    e->next = r->head;
    if (r->head)
        r->head->prev = e;
    r->head = e;
    r->live++;
    pthread_mutex_unlock(&r->mu);
    return 0;
}

void registry_leave(struct registry *r, struct registry_entry *e)
{
    pthread_mutex_lock(&r->mu);
    if (e->prev)
        e->prev->next = e->next;
    else
        r->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    if (--r->live == 0)
        pthread_cond_signal(&r->empty);
    pthread_mutex_unlock(&r->mu);
}

long registry_drain(struct registry *r, int wake_signal, int timeout_s)
{
    struct timespec deadline;
    long left;

    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += timeout_s;
    pthread_mutex_lock(&r->mu);
    r->closed = 1;
    for (struct registry_entry *e = r->head; e; e = e->next) {
        shutdown(e->fd, SHUT_RDWR);
        /* The backend fd may have been closed and its number taken by another socket
           meanwhile: harmless, every socket is being shut down anyway. */
        int up = e->backend_fd ? atomic_load(e->backend_fd) : -1;
        if (up >= 0)
            shutdown(up, SHUT_RDWR);
        pthread_kill(e->tid, wake_signal);
    }
    while (r->live > 0 && pthread_cond_timedwait(&r->empty, &r->mu, &deadline) == 0)
        ;
    left = r->live;
    pthread_mutex_unlock(&r->mu);
    return left;
}
