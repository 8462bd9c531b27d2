/* server_opts.h: the command line every server shares, parsed one way. */
#ifndef TVT_SERVER_OPTS_H
#define TVT_SERVER_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "opts.h"
#include "workload.h"

#define SERVER_BACKLOG_DEFAULT      4096
#define SERVER_IDLE_TIMEOUT_DEFAULT 60000 /* ms */
#define SERVER_FILE_THREADS_DEFAULT 4
#define SERVER_GRACE_MS_DEFAULT     5000   /* --grace-ms: a stop's wait for requests in flight */
#define SERVER_GRACE_MS_MAX         600000 /* 10 min */
#define SERVER_HELP_MAX             8192   /* the usage text fits a buffer this large */

/* How the async server reads the data file (--file-io). */
enum file_io {
    FILE_IO_LOOP,  /* pread in the event loop: every other task waits */
    FILE_IO_POOL,  /* --file-threads threads read, the loop goes on (libuv, tokio::fs) */
    FILE_IO_URING, /* io_uring: the kernel reads, the loop reaps completions */
};

/* Where the async server keeps a connection's bytes (--buffers). */
enum conn_buffers {
    BUFFERS_CONN, /* a read buffer and a head buffer per connection, for its whole life */
    BUFFERS_LEAN, /* the loop's buffers; a connection holds bytes only while it must */
};

/* Where the io_uring server's receives land (--recv). */
enum recv_mode {
    RECV_RING, /* multishot recv into the shared provided-buffer ring */
    RECV_CONN, /* one recv at a time into the connection's own 4 KiB buffer */
};

/* How the thread server guards its shared table (--lock). */
enum lock_mode {
    LOCK_MUTEX, /* a pthread mutex around every update */
    LOCK_NONE,  /* none: a data race on purpose, to show what the lock is for */
};

/* What a server offers beyond the flags every server has (server_opts_parse's features). */
#define SERVER_OPTS_STACK_KIB 1u  /* --stack-kib: a thread per connection */
#define SERVER_OPTS_FILE_IO   2u  /* --file-io, --file-threads: an event loop's ways to read */
#define SERVER_OPTS_BUFFERS   4u  /* --buffers: where an event loop keeps a connection's bytes */
#define SERVER_OPTS_RECV      8u  /* --recv: where an io_uring server's receives land */
#define SERVER_OPTS_LOCK      16u /* --lock: threads that share a table need a lock */

struct server_opts {
    const char *host;
    int port;                 /* 0: the kernel picks one */
    struct workload defaults; /* a request's query overrides these */
    int backlog;
    uint32_t idle_timeout_ms; /* 0: never */
    uint32_t stack_kib;       /* thread server only; 0: the system default */
    uint32_t workers;         /* processes sharing the port (SO_REUSEPORT) */
    /* io=net and io=file (defaults.io, defaults.file_kib are --io and --file-kib) */
    const char *upstream;         /* --upstream HOST:PORT; NULL: io=net is refused */
    uint32_t upstream_timeout_ms; /* from sending the backend request to its whole answer */
    bool allow_remote;            /* --allow-remote: a non-loopback upstream */
    const char *data_file;        /* --data-file PATH; NULL: io=file is refused */
    uint32_t file_io;             /* enum file_io (SERVER_OPTS_FILE_IO servers) */
    uint32_t file_threads;        /* FILE_IO_POOL's threads */
    uint32_t buffers;             /* enum conn_buffers (SERVER_OPTS_BUFFERS servers) */
    uint32_t recv;                /* enum recv_mode (SERVER_OPTS_RECV servers) */
    bool pin_workers;             /* worker i pins itself to the i-th CPU of its affinity mask */
    uint32_t grace_ms;            /* at SIGTERM: how long requests in flight get to finish */
    uint32_t lock;                /* enum lock_mode (SERVER_OPTS_LOCK servers) */
};

/* Parses argv into o. features (SERVER_OPTS_*) enables the flags of one kind of server;
 * 0 gives the common ones. OPTS_HELP: the usage text is in err (print it to stdout, exit 0;
 * it needs SERVER_HELP_MAX bytes). OPTS_ERROR: a message naming the bad flag is in err
 * (exit 2), also for --io net without --upstream and --io file without --data-file. */
enum opts_result server_opts_parse(struct server_opts *o, int argc, char **argv, const char *prog,
                                   unsigned features, char *err, size_t errlen);

/* Why a request of io kind `io` cannot be served by a server started with o (the flag it
 * lacks), or NULL when it can. Static storage. */
const char *server_opts_io_refusal(const struct server_opts *o, uint32_t io);

/* The name of a file_io mode ("loop", "pool", "uring"). Static storage. */
const char *server_opts_file_io_name(uint32_t mode);

/* The name of a lock mode ("mutex", "none"). Static storage. */
const char *server_opts_lock_name(uint32_t mode);

/* The name of a buffers mode ("conn", "lean"). Static storage. */
const char *server_opts_buffers_name(uint32_t mode);

#endif
