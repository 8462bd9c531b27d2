/* file_io.h: the three ways an event loop can read a file (--file-io), one table of operations
 * chosen once at start-up. `loop` preads in the loop itself, so every other task waits for the
 * device (what a naive event loop does: epoll cannot wait for a regular file); `pool` hands the
 * read to --file-threads threads (file_pool.c: libuv's and tokio::fs's way); `uring` queues it
 * on io_uring (file_uring.c), the one way that keeps the loop single-threaded. A mode reads the
 * jobs it is given and hands each one back through the function pointer and client data it was
 * started with: it knows nothing of who waits for the read. */
#ifndef TVT_FILE_IO_H
#define TVT_FILE_IO_H

#include <ev.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* One read. The mode reads len bytes at off into buf and sets res and err; it touches nothing
   else but next (its queues). The other fields are its user's. */
struct file_job {
    struct file_job *next; /* the pool's queues */
    void *conn;            /* the task the read is for (the user's) */
    char *buf;             /* DATAFILE_ALIGN-aligned */
    size_t cap;            /* bytes buf holds */
    uint64_t off;
    uint32_t len;
    ssize_t res;  /* bytes read, or -1 with err */
    int err;      /* errno of a failed read */
    int inflight; /* queued: the task must outlive the read (the user's) */
    int orphan;   /* the task closed meanwhile: free it once the read is over (the user's) */
};

/* A read that submit left queued is over (job->res, job->err set). Called on the loop's
   thread with the data the mode was started with; it may free the job. */
typedef void file_done_fn(void *data, struct file_job *job);

/* What submit did with a job. */
enum file_submitted {
    FILE_READ_OVER,   /* read already (the loop's mode), or refused (res -1, err): no callback */
    FILE_READ_QUEUED, /* in flight: done(data, job) follows from the loop */
};

struct file_reader;

/* A mode's operations (wrk's struct sock is the model). */
struct file_io_ops {
    /* Sets the mode up on r->loop. 0 ok, -1 with a message in err (nothing left to stop). */
    int (*start)(struct file_reader *r, char *err, size_t errlen);
    /* Reads job, or queues it: enum file_submitted. */
    int (*submit)(struct file_reader *r, struct file_job *job);
    /* Waits for every queued read (each handed to done: a device read cannot be taken back)
       and frees what start took. */
    void (*stop)(struct file_reader *r);
};

/* The three implementations. */
extern const struct file_io_ops file_loop_ops;  /* file_loop.c */
extern const struct file_io_ops file_pool_ops;  /* file_pool.c */
extern const struct file_io_ops file_uring_ops; /* file_uring.c */

/* A loop's reader of the data file: its mode and what every mode is given. One loop's. */
struct file_reader {
    const struct file_io_ops *ops;
    struct ev_loop *loop;
    int fd;             /* the data file, O_DIRECT */
    uint32_t threads;   /* the pool's (--file-threads) */
    file_done_fn *done; /* a queued read is over */
    void *data;         /* done's first argument */
    void *state;        /* the mode's own (the pool, the ring); NULL for the loop's mode */
};

/* Starts mode (enum file_io: loop, pool, uring) on loop, reading fd; queued reads end in
   done(data, job). 0 ok; -1 with a message in err (r is then not started). */
int file_io_start(struct file_reader *r, uint32_t mode, struct ev_loop *loop, int fd,
                  uint32_t threads, file_done_fn *done, void *data, char *err, size_t errlen);

/* Reads job (buf, off, len set) by r's mode: enum file_submitted. */
static inline int file_io_submit(struct file_reader *r, struct file_job *job)
{
    return r->ops->submit(r, job);
}

/* Ends every queued read through done, then stops r's mode. */
static inline void file_io_stop(struct file_reader *r)
{
    r->ops->stop(r);
}

#endif
