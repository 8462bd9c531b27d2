/* task.h: the async server's task (struct conn) and its loop's state, shared by the modules
 * of the server: server.c (the task's life, timer waits), backend.c (io=net), file_read.c
 * (io=file) with file_pool.c and file_uring.c. Everything runs on the loop's thread, except
 * the file pool's threads, which touch only the file_job they were handed. */
#ifndef TVT_TASK_H
#define TVT_TASK_H

#include <ev.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "client_http.h"
#include "counters.h"
#include "datafile.h"
#include "framing.h"
#include "response.h"
#include "server_opts.h"
#include "upstream.h"
#include "wait_clock.h"

enum conn_state {
    CONN_READING, /* waiting for (the rest of) a request */
    CONN_WAITING, /* the request's wait: a timer, the backend or a file read */
    CONN_WRITING, /* an answer did not fit the socket buffer */
};

/* One io=file read of a task. The read buffer is the task's: allocated at its first io=file
   request, grown to its largest read (file_kib), kept until the task ends; never one
   allocation per request. In every --file-io mode a task holds one such buffer (the data is
   the task's, as a real server's would be), and at most one read in flight. */
struct file_job {
    struct file_job *next; /* the pool's queues */
    char *buf;             /* DATAFILE_ALIGN-aligned */
    size_t cap;            /* bytes buf holds */
    uint64_t off;
    uint32_t len;
    ssize_t res; /* bytes read, or -1 with err */
    int err;
    int inflight; /* handed to the pool or the ring: the task must outlive the read */
    int orphan;   /* the task closed meanwhile: free it once the read completes */
};

struct conn {
    ev_io io;                 /* the client socket: readable or writable, never both */
    ev_timer wait;            /* the request's wait_us; for io=net, the backend's timeout */
    ev_timer idle;            /* closes a connection that sends no full request in time */
    struct conn *prev, *next; /* every live connection, to close them at exit */
    int fd;
    enum conn_state state;
    int closing; /* close once the answer in flight is written */
    struct request req;
    size_t rpos, rlen; /* unparsed input: rbuf[rpos, rlen) */
    struct iovec iov[2];
    int iovcnt;
    /* io=net: the task's own keep-alive backend connection, opened at its first io=net
       request, kept across requests, closed after a failure (backend.c). */
    ev_io up_io;
    int up_fd;              /* -1: not connected */
    int up_connecting;      /* a non-blocking connect is in progress */
    size_t up_sent, up_len; /* the backend request, formatted into head[0, up_len) */
    struct chttp up_http;
    struct file_job job; /* io=file */
    struct framer framer;
    char head[RESPONSE_HEAD_MAX]; /* the answer's head; the backend request while waiting */
    char rbuf[CONN_READ_BUF];
};

struct file_pool;
struct file_uring;

struct server {
    struct ev_loop *loop;
    struct server_opts opts;
    ev_io accept_io;
    ev_timer accept_pause;
    ev_signal sigterm, sigint;
    struct wait_clock clock;
    struct conn *conns; /* list head */
    struct date_cache date;
    struct counters *ctr;
    int listen_fd;
    const struct upstream_addr *up; /* io=net; NULL without --upstream */
    const struct datafile *df;      /* io=file; NULL without --data-file */
    struct datafile_rng rng;        /* this loop's read offsets */
    struct file_pool *pool;         /* --file-io pool */
    struct file_uring *uring;       /* --file-io uring */
};

/* server.c */
/* Answers c's request 200 (after burning work_us) and starts writing. 1 written, 0 the
   rest waits for writability, -1 the connection was closed. */
int conn_answer(struct server *s, struct conn *c);
/* Answers c's request `status` (500, 502) with why as the body, keeping the connection
   unless the client asked to close; counted by status. Returns as conn_answer. */
int conn_answer_failed(struct server *s, struct conn *c, int status, const char *why);
/* Serves buffered requests in order until input runs out, a wait starts or a write blocks. */
void conn_process(struct server *s, struct conn *c);
/* Makes c's client watcher wait for exactly `events` (0 = stopped). */
void conn_watch(struct server *s, struct conn *c, int events);
/* Frees a task (and its read buffer) whose connection is already closed. */
void conn_free(struct conn *c);

/* backend.c */
/* Prepares c's backend watcher (no connection yet). */
void backend_init(struct conn *c);
/* Sends c's io=net request to the backend; the answer (or a 502) comes later. */
void backend_start(struct server *s, struct conn *c);
/* The request's ev_timer fired while waiting on the backend: a 502. */
void backend_timeout(struct server *s, struct conn *c);
/* Stops watching and closes c's backend connection, if any. */
void backend_close(struct server *s, struct conn *c);

/* file_read.c */
/* Starts the loop's --file-io mode; 0 ok, -1 with a message in err. */
int file_io_init(struct server *s, char *err, size_t errlen);
/* Completes every read in flight (freeing orphaned tasks) and stops the mode. */
void file_io_destroy(struct server *s);
/* Starts c's io=file read. 1: done already (loop mode, or it failed to start), its outcome
   in c->job; answer with file_read_answer. 0: in flight; file_read_done follows. */
int file_read_start(struct server *s, struct conn *c);
/* Answers c's request after its read: 200, or 500 naming the error. Returns as conn_answer. */
int file_read_answer(struct server *s, struct conn *c);
/* A pool or ring read of job completed (job->res, job->err set): answers its task and
   serves what follows, or frees an orphan. */
void file_read_done(struct server *s, struct file_job *job);

/* file_pool.c: FILE_IO_POOL. */
int file_pool_start(struct server *s, char *err, size_t errlen);
void file_pool_submit(struct server *s, struct file_job *job);
void file_pool_stop(struct server *s);

/* file_uring.c: FILE_IO_URING. */
int file_uring_start(struct server *s, char *err, size_t errlen);
/* 0 queued (submitted before the loop next sleeps); -1 the ring is full (errno EBUSY). */
int file_uring_submit(struct server *s, struct file_job *job);
void file_uring_stop(struct server *s);

#endif
