/* task.h: the io_uring server's task (struct conn), shared by its modules: conn.c (the
 * task's life, the client socket, timer waits), backend.c (io=net) and file_read.c
 * (io=file). Everything runs on the loop's one thread. */
#ifndef TVT_TASK_H
#define TVT_TASK_H

#include <stdint.h>

#include "framing.h"
#include "loop.h"

/* The operations a task can have in flight, one of each kind at most. */
#define CONN_OPS                                                                                   \
    (BIT(OP_RECV) | BIT(OP_SEND) | BIT(OP_TIMER) | BIT(OP_UP_CONNECT) | BIT(OP_UP_SEND) |          \
     BIT(OP_UP_RECV) | BIT(OP_UP_POLL) | BIT(OP_FILE))
#define UP_OPS (BIT(OP_UP_CONNECT) | BIT(OP_UP_SEND) | BIT(OP_UP_RECV) | BIT(OP_UP_POLL))

enum conn_state {
    CONN_READING, /* waiting for (the rest of) a request */
    CONN_WAITING, /* the request's wait: a ring timeout, the backend or a file read */
    CONN_WRITING, /* the answer's send is in flight */
};

struct conn {
    struct conn *prev, *next; /* s->live (by idle deadline) or s->closing */
    int64_t idle_deadline_ms; /* CLOCK_MONOTONIC; INT64_MAX: no idle timeout */
    struct framer *fr;        /* parse state: RECV_CONN: its own, after the task; RECV_RING:
                                 from the pool while a request is being read, else NULL */
    struct req_block *blk;    /* the request in service; NULL while reading */
    char *rbuf;               /* RECV_CONN: CONN_READ_BUF bytes after the framer */
    char *pending;            /* RECV_RING: bytes read ahead, allocated to fit; or NULL */
    int fd;
    int up_fd;           /* io=net: the task's keep-alive backend connection; -1 none */
    uint32_t rpos, rlen; /* RECV_CONN: unparsed input, rbuf[rpos, rlen) */
    uint32_t plen;       /* RECV_RING: bytes at pending */
    uint16_t armed;      /* operations in flight: BIT(OP_...) of CONN_OPS */
    uint8_t state;
    uint8_t closing;        /* closed: nothing new is started; freed at the last completion */
    uint8_t close_after;    /* close once the answer in flight is written */
    uint8_t peer_eof;       /* the client half-closed while its request was served */
    uint8_t recv_cancelled; /* RECV_RING: read ahead past PENDING_MAX, receive cancelled */
    uint8_t up_closing;     /* the backend connection closes once its operations are done */
    uint8_t stop_inflight;  /* its request was in flight at the stop: counted answered or cut */
};

/* 1 when part of a request has been read: a close now aborts it. */
static inline int conn_mid_request(const struct conn *c)
{
    return c->fr && framer_mid_request(c->fr);
}

/* conn.c */
/* Closes c: cancels what it has in flight; it is freed once nothing is. */
void conn_close(struct server *s, struct conn *c);
/* conn_close, outside a completion of c's: c is freed at once when nothing is in flight. */
void conn_close_reap(struct server *s, struct conn *c);
/* The next request's idle clock starts now (c's deadline moves to the list's end). */
void conn_restart_idle(struct server *s, struct conn *c);

/* input.c */
/* Arms c's receive: the multishot one (RECV_RING) or the next one into c->rbuf. */
void input_arm(struct server *s, struct conn *c);
/* The answer is out: serves what was read ahead, if anything. */
void input_resume(struct server *s, struct conn *c);
/* A completion of c's receive (OP_RECV). */
void input_complete(struct server *s, struct conn *c, const struct io_uring_cqe *cqe);

/* answer.c */
/* A request is complete (req; c->blk is NULL): its wait (a ring timeout, the backend, a
   file read) starts, or its answer is sent at once. */
void conn_start(struct server *s, struct conn *c, const struct request *req);
/* Answers c's request 200 (after burning work_us) and starts sending. */
void conn_answer(struct server *s, struct conn *c);
/* Answers c's request `status` (500, 502) with why as the body, keeping the connection
   unless the client asked to close; counted by status. */
void conn_answer_failed(struct server *s, struct conn *c, int status, const char *why);
/* Bad input: `status` with why (it may be in c->fr) as the body, then a close. */
void conn_answer_bad(struct server *s, struct conn *c, int status, const char *why);
/* The answer's send completed (OP_SEND): the rest of a short write, or the next request. */
void answer_sent(struct server *s, struct conn *c, int res);
/* The request's timer wait is over (OP_TIMER). */
void answer_timer(struct server *s, struct conn *c);

/* backend.c */
/* Sends c's io=net request to the backend (connecting first if need be); the answer, or a
   502, follows from the completions. */
void backend_start(struct server *s, struct conn *c);
/* A completion of one of c's backend operations (OP_UP_*). */
void backend_complete(struct server *s, struct conn *c, enum op op, const struct io_uring_cqe *cqe);
/* Closes c's backend connection (once its operations are done). */
void backend_close(struct server *s, struct conn *c);

/* file_read.c */
/* Queues c's io=file read on the ring; its completion answers. */
void file_start(struct server *s, struct conn *c);
/* The read's completion (OP_FILE). */
void file_complete(struct server *s, struct conn *c, const struct io_uring_cqe *cqe);

#endif
