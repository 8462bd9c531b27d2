/* file_pool.c: --file-io pool: --file-threads threads do the loop's file reads, as libuv's
 * and tokio::fs's blocking pools do. A read is handed over through a locked queue; a thread
 * preads, puts the job on the done queue and wakes the loop with ev_async_send; the loop
 * drains the whole done queue in one callback (sends coalesce) and hands each job back. The
 * threads touch only the jobs they were handed and the reader's fd, never the loop's state. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "container.h"
#include "file_io.h"

struct job_queue {
    struct file_job *head, *tail;
};

struct file_pool {
    pthread_mutex_t todo_mu; /* guards todo and stopping */
    pthread_cond_t todo_cv;
    struct job_queue todo;
    int stopping;            /* the threads finish the queue, then end */
    pthread_mutex_t done_mu; /* guards done */
    struct job_queue done;
    ev_async wake;
    struct file_reader *r; /* the loop, the data file, whom to hand a read back */
    pthread_t *threads;
    uint32_t nthreads;
};

static void queue_push(struct job_queue *q, struct file_job *j)
{
    j->next = NULL;
    if (q->tail)
        q->tail->next = j;
    else
        q->head = j;
    q->tail = j;
}

static struct file_job *queue_take_all(struct job_queue *q)
{
    struct file_job *all = q->head;
    q->head = q->tail = NULL;
    return all;
}

static void *pool_main(void *arg)
{
    struct file_pool *p = arg;
    sigset_t all;

    sigfillset(&all); /* signals are the loop's */
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    for (;;) {
        pthread_mutex_lock(&p->todo_mu);
        while (!p->todo.head && !p->stopping)
            pthread_cond_wait(&p->todo_cv, &p->todo_mu);
        struct file_job *j = p->todo.head;
        if (!j) { /* stopping, and nothing left */
            pthread_mutex_unlock(&p->todo_mu);
            return NULL;
        }
        p->todo.head = j->next;
        if (!p->todo.head)
            p->todo.tail = NULL;
        pthread_mutex_unlock(&p->todo_mu);

        ssize_t n;
        do
            n = pread(p->r->fd, j->buf, j->len, (off_t)j->off);
        while (n < 0 && errno == EINTR);
        j->res = n;
        j->err = n < 0 ? errno : 0;

        pthread_mutex_lock(&p->done_mu);
        queue_push(&p->done, j);
        pthread_mutex_unlock(&p->done_mu);
        ev_async_send(p->r->loop, &p->wake);
    }
}

/* Hands every job on the done queue back. */
static void drain_done(struct file_pool *p)
{
    pthread_mutex_lock(&p->done_mu);
    struct file_job *j = queue_take_all(&p->done);
    pthread_mutex_unlock(&p->done_mu);
    while (j) {
        struct file_job *next = j->next; /* done may free j */
        p->r->done(p->r->data, j);
        j = next;
    }
}

static void on_reads_done(struct ev_loop *loop, ev_async *w, int revents)
{
    (void)loop;
    (void)revents;
    drain_done(container_of(w, struct file_pool, wake));
}

static int pool_submit(struct file_reader *r, struct file_job *job)
{
    struct file_pool *p = r->state;

    pthread_mutex_lock(&p->todo_mu);
    queue_push(&p->todo, job);
    pthread_cond_signal(&p->todo_cv);
    pthread_mutex_unlock(&p->todo_mu);
    return FILE_READ_QUEUED;
}

static void pool_stop(struct file_reader *r);

static int pool_start(struct file_reader *r, char *err, size_t errlen)
{
    struct file_pool *p = calloc(1, sizeof *p);
    int rc;

    if (!p || !(p->threads = calloc(r->threads, sizeof *p->threads))) {
        free(p);
        snprintf(err, errlen, "out of memory for the file pool");
        return -1;
    }
    pthread_mutex_init(&p->todo_mu, NULL);
    pthread_cond_init(&p->todo_cv, NULL);
    pthread_mutex_init(&p->done_mu, NULL);
    p->r = r;
    ev_async_init(&p->wake, on_reads_done);
    ev_async_start(r->loop, &p->wake);
    r->state = p;
    for (; p->nthreads < r->threads; p->nthreads++) {
        rc = pthread_create(&p->threads[p->nthreads], NULL, pool_main, p);
        if (rc != 0) {
            snprintf(err, errlen, "starting file thread %u of %u: %s", p->nthreads + 1, r->threads,
                     strerror(rc));
            pool_stop(r);
            return -1;
        }
    }
    return 0;
}

static void pool_stop(struct file_reader *r)
{
    struct file_pool *p = r->state;

    pthread_mutex_lock(&p->todo_mu);
    p->stopping = 1;
    pthread_cond_broadcast(&p->todo_cv);
    pthread_mutex_unlock(&p->todo_mu);
    for (uint32_t i = 0; i < p->nthreads; i++)
        pthread_join(p->threads[i], NULL);
    drain_done(p); /* every read is over: hand the last ones back */
    ev_async_stop(r->loop, &p->wake);
    pthread_mutex_destroy(&p->todo_mu);
    pthread_cond_destroy(&p->todo_cv);
    pthread_mutex_destroy(&p->done_mu);
    free(p->threads);
    free(p);
    r->state = NULL;
}

const struct file_io_ops file_pool_ops = {
    .start = pool_start,
    .submit = pool_submit,
    .stop = pool_stop,
};
