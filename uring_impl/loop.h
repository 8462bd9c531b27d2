/* loop.h: the io_uring server's loop state, what its loop does for the tasks (loop.c), and the
 * tasks' entry points (conn.c), shared by server.c, loop.c and the task's modules. */
#ifndef TVT_LOOP_H
#define TVT_LOOP_H

#include <liburing.h>
#include <stdint.h>
#include <sys/resource.h>

#include <sys/socket.h>
#include <sys/uio.h>

#include "bufring.h"
#include "client_http.h"
#include "counters.h"
#include "datafile.h"
#include "filebufs.h"
#include "framing.h"
#include "pool.h"
#include "response.h"
#include "server_opts.h"
#include "shared.h"
#include "upstream.h"

/* What a completion is for: the low 4 bits of its user_data. The rest is the task's
 * address (16-byte aligned), or 0 for the server's own operations. */
enum op {
    OP_NONE,         /* results of cancellations: nothing waits for them */
    OP_ACCEPT,       /* the multishot accept */
    OP_ACCEPT_PAUSE, /* accepting resumes after EMFILE */
    OP_SIGNAL,       /* SIGTERM/SIGINT readable on the signalfd */
    OP_RECV,         /* the client socket */
    OP_SEND,         /* an answer */
    OP_TIMER,        /* a request's wait_us */
    OP_UP_CONNECT,   /* io=net: the backend connection */
    OP_UP_SEND,      /* io=net: the backend request */
    OP_UP_RECV,      /* io=net: the backend's answer */
    OP_UP_POLL,      /* io=net: an idle backend connection, watched for its close */
    OP_FILE,         /* io=file: the read */
    OP__COUNT
};
#define OP_MASK 15u
_Static_assert(OP__COUNT <= OP_MASK + 1, "op kinds must fit the low bits of user_data");

/* An op's bit in a set of operations in flight (struct server's and struct conn's armed). */
#define BIT(op) (1u << (op))

static inline uint64_t op_tag(const void *owner, enum op op)
{
    return (uint64_t)(uintptr_t)owner | (uint64_t)op;
}

/* What a request in service holds, and everything the kernel may read or write for it: the
 * wait's deadline (read at submission), the answer's msghdr, iovecs and head (read until
 * the send completes), the backend exchange or the file read. A task takes one from the
 * pool when a request is complete and gives it back once the answer is written, so an
 * idle task holds none. */
struct req_block {
    struct request req;
    struct __kernel_timespec deadline; /* CLOCK_MONOTONIC, absolute: a timer wait's end, or
                                          io=net's bound (--upstream-timeout-ms) */
    union {
        struct {
            struct chttp http;  /* the backend's answer, parsed as it comes */
            uint32_t sent, len; /* the backend request, in head[0, len) */
        } up;
        struct {
            char *buf; /* DATAFILE_ALIGN-aligned, from s->files; NULL once read */
            uint64_t off;
            uint32_t len;
        } file;
    };
    struct msghdr msg;
    struct iovec iov[2];
    char head[RESPONSE_HEAD_MAX]; /* the answer's head; io=net's request, then its answer */
};

struct conn;

struct server {
    struct io_uring ring;
    struct server_opts opts;
    enum recv_mode recv;
    struct buf_ring bufs;   /* RECV_RING only */
    struct pool blocks;     /* struct req_block */
    struct pool framers;    /* struct framer, RECV_RING: only while a request is being read */
    struct file_bufs files; /* io=file read buffers, only while a read is in flight */
    const struct upstream_addr *up; /* io=net; NULL without --upstream */
    const struct datafile *df;      /* io=file; NULL without --data-file */
    struct datafile_rng rng;        /* this loop's read offsets */
    struct counters *ctr;
    struct date_cache date;
    struct conn *live, *live_tail;  /* open tasks, by idle deadline, earliest first */
    struct conn *closing;           /* closed tasks waiting for their last completion */
    int64_t now_ms;                 /* CLOCK_MONOTONIC, read once per loop pass */
    struct __kernel_timespec pause; /* the accept pause's length: read at submission */
    unsigned armed;                 /* the server's own operations in flight (1 << op) */
    int listen_fd, signal_fd;
    int stop;                   /* the loop ends: the stop is over (or the loop failed) */
    int stopping;               /* SIGTERM/SIGINT came: no accepting, no new requests */
    uint64_t t_sig_ns;          /* when (CLOCK_MONOTONIC) */
    int64_t grace_end_ms;       /* the stop cuts what is left at this moment (CLOCK_MONOTONIC) */
    struct shared_table shared; /* state=shared: every task of this loop updates it */
    int accept_rearm; /* the accept was cancelled to be armed again (a lowered fd limit) */
    int out_of_fds;   /* accept hit EMFILE since it was armed: pause before re-arming */
    int *parked;      /* accepted above a lowered fd limit: waiting, unserved (FIFO) */
    size_t nparked, parked_cap;
    rlim_t nofile; /* RLIMIT_NOFILE's soft limit, read at most once per pass */
    uint64_t pass, nofile_pass;
};

/* loop.c */

/* A free submission slot; submits early (a second system call in this pass) only when the
 * submission ring is full. Never NULL (exits when the kernel refuses submissions for good). */
struct io_uring_sqe *loop_sqe(struct server *s);

/* Two adjacent free slots (an operation and its IOSQE_IO_LINK'ed timeout must not be split
 * by an early submission). Never NULL. */
void loop_sqe_pair(struct server *s, struct io_uring_sqe **a, struct io_uring_sqe **b);

/* Queues a cancellation of the operation tagged `tag`; its own result comes back as OP_NONE. */
void loop_cancel(struct server *s, uint64_t tag);

/* The soft RLIMIT_NOFILE, read at most once per loop pass. */
rlim_t loop_nofile_limit(struct server *s);

/* io_uring reads RLIMIT_NOFILE when an accept is armed, so a multishot accept armed before
 * the limit was lowered (prlimit) installs fds above it. Such a connection is parked,
 * unserved, as it would have waited in the backlog (FIFO); without the memory to park it,
 * it is closed (counted: oom). */
void loop_park(struct server *s, int fd);

/* A task closed fd: when fd is under the limit, the first parked connection moves (dup3) into
 * it and is returned, for the caller to serve (conn_open); -1 when none is to be served. */
int loop_fd_freed(struct server *s, int fd);

/* At exit: closes every parked connection (counted as closed) and frees the list. */
void loop_close_parked(struct server *s);

/* stop.c: the graceful stop. */

/* SIGTERM/SIGINT: stops accepting (the listening socket shut down and closed), closes the
 * idle tasks and those holding part of a request, lets those with a request in flight answer
 * it with Connection: close and close, and sets the grace's end; a second signal cuts at
 * once. */
void stop_begin(struct server *s);

/* After each loop pass while stopping: once no task is open the loop may end (s->stop); past
 * the grace, the tasks left are cut first. Returns the longest the next pass may wait, in ms
 * (-1: no bound). */
int64_t stop_pass(struct server *s);

/* conn.c: a task per connection. */

/* Takes an accepted socket: a new task, reading. On out-of-memory answers 503 and closes. */
void conn_open(struct server *s, int fd);

/* Handles a completion of one of c's operations. May free c. */
void conn_complete(struct server *s, struct conn *c, enum op op, const struct io_uring_cqe *cqe);

/* Closes the tasks whose idle deadline has passed (a task waiting on its timer has only
 * the server to blame: its deadline starts over). */
void conn_expire(struct server *s);

/* Milliseconds until the earliest idle deadline from s->now_ms; -1 none. */
int64_t conn_next_deadline_ms(const struct server *s);

/* Closes every open task (their operations are cancelled; they are freed as their last
 * completions arrive). */
void conn_close_all(struct server *s);

/* Frees every task, open or closing, without waiting: only once the ring is gone. */
void conn_free_all(struct server *s);

#endif
