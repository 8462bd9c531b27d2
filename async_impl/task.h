/* task.h: the async server's task (struct conn) and its loop's state, shared by the modules
 * of the server: server.c (the loop: accept, signals, start and stop), conn.c (the task's
 * life, its requests and answers, timer waits), buffers.c (where its bytes live), backend.c
 * (io=net) and file_read.c (io=file, read by one of file_io.h's modes). Everything runs on the
 * loop's thread, except the file pool's threads, which touch only the file_job they were
 * handed. */
#ifndef TVT_TASK_H
#define TVT_TASK_H

#include <ev.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "client_http.h"
#include "counters.h"
#include "datafile.h"
#include "file_io.h"
#include "framing.h"
#include "response.h"
#include "server_opts.h"
#include "shared.h"
#include "spares.h"
#include "upstream.h"
#include "wait_clock.h"

enum conn_state {
    CONN_READING, /* waiting for (the rest of) a request */
    CONN_WAITING, /* the request's wait: a timer, the backend or a file read */
    CONN_WRITING, /* an answer did not fit the socket buffer */
};

/* io=net: one exchange with the backend, from sending the request to its whole answer. */
struct backend_xchg {
    struct chttp http; /* the answer's parse state */
    char *req;         /* the request: conn: the task's head buffer; lean: after this struct */
    size_t sent, len;  /* req[sent, len) is still to send */
};

/* --buffers conn: what a task holds for its whole life, allocated in the same block, the
   same sizes a thread keeps on its stack. */
struct conn_bufs {
    struct framer framer;
    struct backend_xchg ux;
    struct file_job job;
    char head[RESPONSE_HEAD_MAX]; /* the answer's head; the backend request while waiting */
    char rbuf[CONN_READ_BUF];
};

struct conn {
    ev_io io;                 /* the client socket: readable or writable, never both */
    ev_timer wait;            /* the request's wait_us; for io=net, the backend's timeout */
    ev_timer idle;            /* closes a connection that sends no full request in time */
    struct conn *prev, *next; /* every live connection, to close them at exit */
    int fd;
    enum conn_state state;
    int closing;       /* close once the answer in flight is written */
    int stop_inflight; /* its request was in flight at the stop: counted answered or cut */
    int iovcnt;
    int in_kept; /* lean: in is an allocation of the task's own, not the loop's read buffer */
    struct request req;
    char *in;          /* the read buffer, or (lean) the unparsed input kept */
    size_t rpos, rlen; /* unparsed input: in[rpos, rlen) */
    struct iovec iov[2];
    struct framer *framer;   /* conn: the task's own; lean: a partial request's, else NULL */
    struct backend_xchg *ux; /* conn: the task's own; lean: while an io=net request needs it */
    char *out;               /* lean: the unwritten part of a blocked answer's head */
    struct conn_bufs *bufs;  /* conn: right after this struct; lean: NULL */
    /* io=net: the task's own keep-alive backend connection, opened at its first io=net
       request, kept across requests, closed after a failure (backend.c). */
    ev_io up_io;
    int up_fd;         /* -1: not connected */
    int up_connecting; /* a non-blocking connect is in progress */
    /* io=file: a task's read (file_io.h), its conn the task, at most one in flight.
       --buffers conn: the task's own (in its conn_bufs), its buffer allocated at the task's
       first io=file request, grown to its largest read (file_kib) and kept until the task
       ends; never one allocation per request. --buffers lean: a read in the loop (--file-io
       loop) uses the loop's job and buffer; a read handed to the pool or the ring gets a job
       and a buffer of its own, freed once the read is answered. */
    struct file_job *job; /* conn: the task's own; lean: NULL but while reading */
};

/* 1 when part of a request has been read: a close now aborts it. */
static inline int conn_mid_request(const struct conn *c)
{
    return c->framer && framer_mid_request(c->framer);
}

struct server;

/* How a backend or file wait hands its task back, the wait over: c's request is answered,
   200 or status with why as the body, and what follows is served (conn.c). It may close c. */
typedef void wait_end_fn(struct server *s, struct conn *c, int status, const char *why);

struct server {
    struct ev_loop *loop;
    struct server_opts opts;
    ev_io accept_io;
    ev_timer accept_pause;
    ev_signal sigterm, sigint;
    ev_timer grace;             /* the stop's --grace-ms: then what is in flight is cut */
    int stopping;               /* SIGTERM/SIGINT came: no accepting, no new requests */
    int drained;                /* the stop is over: no task is left */
    uint64_t t_sig_ns;          /* when (CLOCK_MONOTONIC) */
    struct shared_table shared; /* state=shared: every task of this loop updates it */
    struct wait_clock clock;
    struct conn *conns; /* list head */
    struct date_cache date;
    struct counters *ctr;
    int listen_fd;
    const struct upstream_addr *up; /* io=net; NULL without --upstream */
    const struct datafile *df;      /* io=file; NULL without --data-file */
    struct datafile_rng rng;        /* this loop's read offsets */
    struct file_reader reader;      /* io=file: the --file-io mode */
    wait_end_fn *on_wait_end;       /* backend.c and file_read.c end a wait through it */
    /* --buffers lean: the loop's buffers, lent to one task at a time while it runs; a task
       that must keep bytes past its callback copies them out (buffers.c). */
    int lean;
    struct framer framer;         /* parses every request that arrives whole */
    char head[RESPONSE_HEAD_MAX]; /* every answer's head, and backend requests */
    char rbuf[CONN_READ_BUF];     /* every read */
    struct file_job file_job;     /* --file-io loop reads; its buffer grown to the largest */
    struct spares xchg_spares;    /* io=net exchanges given back */
    struct spares file_spares;    /* blocks of reads handed to the pool or the ring */
};

/* conn.c: a task's life, its requests and answers. */
/* Takes an accepted socket (non-blocking): a new task, reading. Without the memory for one,
   a best-effort 503 and a close. */
void conn_open(struct server *s, int fd);
/* Undoes everything conn_open did, in reverse: watchers, sockets, memory. A task whose file
   read is in flight stays, an orphan, until the read is over. */
void conn_close(struct server *s, struct conn *c);
/* wait_end_fn: what s->on_wait_end points to. */
void conn_wait_end(struct server *s, struct conn *c, int status, const char *why);

/* stop.c: the graceful stop. */
/* SIGTERM/SIGINT: stops accepting (the listening socket closed), closes the idle tasks and
   those holding part of a request, lets those with a request in flight answer it with
   Connection: close and close, and arms the grace; a second signal cuts at once. The loop
   breaks once no task is left. */
void stop_begin(struct server *s);
/* A task was closed during the stop (conn_close calls it): the last one ends the loop. */
void stop_conn_closed(struct server *s);
/* Stops the grace timer; at exit, after the loop. */
void stop_destroy(struct server *s);

/* buffers.c: where a task's bytes live, --buffers conn|lean. In conn mode every call below
   uses the task's own buffers and allocates nothing, but for a task's first io=file read. In
   lean mode a task borrows the loop's buffers while its callback runs and copies out only
   what must outlive it; the functions returning int give 0, or -1 when out of memory
   (nothing changed; the caller closes c, counted as oom). */
/* The loop's spares, before the first task; and their release, after the last. */
void buffers_init(struct server *s);
void buffers_destroy(struct server *s);
/* A new task: conn: with its conn_bufs in the same block; lean: the task alone. Sets the
   buffer fields (in, framer, ux, out, bufs, job); the caller sets the rest. NULL: no memory. */
struct conn *conn_alloc(struct server *s);
/* Frees what a task holds besides a file read in flight: lean's kept input, partial
   request, blocked head, backend exchange and file read. Safe to call again. */
void conn_release(struct server *s, struct conn *c);
/* Frees a task whose connection is already closed and whose file read, if any, is over:
   conn_release, its own file read buffer, itself. */
void conn_free(struct server *s, struct conn *c);
/* Where the next read goes (CONN_READ_BUF bytes); c->in is set to it. */
char *conn_read_buffer(struct server *s, struct conn *c);
/* The framer to feed c's input to: the task's own, or (lean) its partial request's, or the
   loop's, freshly initialised, when no request is partial. */
struct framer *conn_framer(struct server *s, struct conn *c);
/* f said FRAMING_MORE, every byte of in[start, rlen) consumed: the input is done with (lean
   frees kept input). A request left partial in the loop's framer gets a framer of its own,
   fed again from in[start, rlen), the partial request's bytes. */
int conn_input_consumed(struct server *s, struct conn *c, struct framer *f, size_t start);
/* A request is complete: lean frees its partial request's framer. */
void conn_request_done(struct conn *c);
/* Control goes back to the loop while in[rpos, rlen) is unparsed (a wait starts, a write
   blocks): lean copies it out of the loop's read buffer, once. */
int conn_keep_input(struct conn *c);
/* Where an answer's head (or a backend request) is formatted, RESPONSE_HEAD_MAX bytes. */
char *conn_head_buffer(struct server *s, struct conn *c);
/* A write blocked: lean copies the unwritten head out of the loop's buffer (the body is
   the shared static one: only a pointer), and the unparsed input. */
int conn_keep_output(struct server *s, struct conn *c);
/* The answer is written: lean frees the kept head. */
void conn_output_done(struct conn *c);
/* io=net: the exchange of a backend request of len bytes (at most UPSTREAM_REQUEST_MAX)
   formatted at req, which is conn_head_buffer (lean copies it into a spare); sets c->ux. */
int conn_xchg_open(struct server *s, struct conn *c, const char *req, size_t len);
/* The exchange is over: lean gives it back. Safe to call again. */
void conn_xchg_close(struct server *s, struct conn *c);
/* io=file: the job of c's next read of len bytes, its buffer holding them; sets c->job.
   conn: the task's own (its buffer regrown only for a larger read); lean: the loop's for a
   read in the loop, else a spare block. NULL: out of memory. */
struct file_job *conn_job_open(struct server *s, struct conn *c, size_t len);
/* The read is answered: lean gives the job back (c->job NULL). Not while it is in flight. */
void conn_job_close(struct server *s, struct conn *c);

/* backend.c */
/* Prepares c's backend watcher (no connection yet). */
void backend_init(struct conn *c);
/* Sends c's io=net request to the backend, the task waiting (CONN_WAITING) already; the
   answer, or a 502, comes through s->on_wait_end, later or at once (a connect that failed
   at once): c may be closed when this returns 0. -1: no memory for the exchange, nothing
   started (the caller closes c). */
int backend_start(struct server *s, struct conn *c);
/* The request's ev_timer fired while waiting on the backend: a 502. */
void backend_timeout(struct server *s, struct conn *c);
/* Stops watching and closes c's backend connection, if any. */
void backend_close(struct server *s, struct conn *c);

/* file_read.c */
/* Starts the loop's --file-io mode for the data file; 0 ok, -1 with a message in err. */
int file_read_init(struct server *s, char *err, size_t errlen);
/* Ends every read in flight (freeing the tasks closed meanwhile) and stops the mode. */
void file_read_destroy(struct server *s);
/* Starts c's io=file read. 0: queued, its end comes through s->on_wait_end (the caller makes
   c wait); else it is over already (read in the loop, or it could not start): 200, or 500
   with why set (counted). */
int file_read_start(struct server *s, struct conn *c, char *why, size_t whylen);

#endif
