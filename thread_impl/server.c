/* server.c: the pthread server: a blocking accept loop, one thread per connection.
 *
 * Each connection thread is detached and owns its socket: it reads, waits
 * (sleeps for wait_us, blocks on its backend connection for io=net, preads
 * the data file for io=file), writes, and closes its sockets before it ends.
 * Its parse state and buffers live on its own stack, the same sizes the async
 * server keeps in its per-connection struct; its file read buffer is on the
 * heap, allocated at its first io=file request and grown to its largest read,
 * as the async server's tasks do. state=shared requests update one table under
 * a mutex (--lock mutex) or none (--lock none, a data race on purpose).
 *
 * At SIGTERM/SIGINT the stop is graceful: the listening socket is shut down at
 * once, every client socket is shut down for reading through the registry (an
 * idle thread's read returns EOF and it closes, one pass, no thread waited
 * for), a thread busy with a request answers it with Connection: close and
 * closes, and past --grace-ms the rest are cut (registry_cut). */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "counters.h"
#include "datafile.h"
#include "fdio.h"
#include "framing.h"
#include "net.h"
#include "registry.h"
#include "response.h"
#include "server_main.h"
#include "server_opts.h"
#include "shared_serve.h"
#include "stop.h"
#include "timeout.h"
#include "workers.h"

#define STACK_KIB_MIN   32         /* the connection's own state takes ~8 KiB; libc the rest */
#define CUT_DRAIN_MS    1000       /* after the cut: how long connection threads get to end */
#define WAKE_SIGNAL     SIGUSR1    /* interrupts a connection thread's wait when it is cut */
#define ACCEPT_PAUSE_NS 100000000L /* after EMFILE: the backlog keeps the client waiting */

struct server {
    struct server_opts opts;
    struct upstream_addr up; /* io=net, with --upstream */
    struct datafile df;      /* io=file, with --data-file */
    pthread_attr_t attr;     /* detached, --stack-kib */
    struct counters *ctr;
    struct registry reg;
    int listen_fd;
    atomic_int stopping;       /* SIGTERM/SIGINT came: answer what is in flight, then close */
    atomic_int cut;            /* the grace is over: what is still in flight is cut */
    atomic_int exiting;        /* the stop is over: the signal thread may end */
    _Atomic uint64_t t_sig_ns; /* when the signal came (CLOCK_MONOTONIC) */
    pthread_mutex_t shared_mu; /* --lock mutex: around every update of the table */
    struct shared_table shared;
};

static struct server srv = {
    .reg = REGISTRY_INIT,
    .df = {.fd = -1},
    .shared_mu = PTHREAD_MUTEX_INITIALIZER,
};

/* Per-connection state: on the connection thread's stack. */
struct conn {
    struct registry_entry entry;
    int fd;
    struct date_cache date;
    struct framer framer;
    struct request req;
    struct backend backend;       /* io=net: this thread's keep-alive backend connection */
    char *fbuf;                   /* io=file: DATAFILE_ALIGN-aligned, NULL until the first */
    size_t fbuf_cap;              /* bytes fbuf holds */
    struct datafile_rng rng;      /* this thread's read offsets */
    char head[RESPONSE_HEAD_MAX]; /* the answer's head; the backend request while waiting */
    char rbuf[CONN_READ_BUF];
};

/* A blocking sleep of the request's wait, resumed after signals unless the
 * stop's grace is over (then WAKE_SIGNAL cut it short). */
static void wait_sleep(uint32_t wait_us)
{
    struct timespec ts = {.tv_sec = wait_us / 1000000, .tv_nsec = (long)(wait_us % 1000000) * 1000};

    while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts) == EINTR && !atomic_load(&srv.cut))
        ;
}

static void on_wake(int sig)
{
    (void)sig; /* only there to make clock_nanosleep return EINTR */
}

/* Writes every iovec (an answer's head and body in one system call), resuming short writes;
 * the one gathering write of the servers' blocking ones, so it is not in common/fdio.h. 0 ok,
 * -1 errno. */
static int writev_all(int fd, struct iovec *iov, int iovcnt)
{
    size_t left = (size_t)iovcnt;
    while (left > 0) {
        ssize_t n = writev(fd, iov, (int)left);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        iov = fdio_iov_consume(iov, &left, (size_t)n);
    }
    return 0;
}

/* Why a read of the client ended the connection (n: read's result, errno set when < 0). */
static void count_read_end(struct server *s, struct conn *c, ssize_t n)
{
    int timed_out = n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
    if (timed_out)
        counters_add(s->ctr, CTR_IDLE_TIMEOUTS, 1);
    if (framer_mid_request(&c->framer))
        counters_add(s->ctr, CTR_ABORTED, 1);
    else if (n < 0 && !timed_out && errno != ECONNRESET)
        counters_add(s->ctr, CTR_IO_ERRORS, 1);
}

/* Reads until one request is complete. FRAMING_REQUEST or FRAMING_ERROR, or
 * FRAMING_MORE when the connection ended (EOF, reset, idle timeout). */
static enum framing_result read_request(struct server *s, struct conn *c, size_t *rpos,
                                        size_t *rlen)
{
    const int64_t idle_ms = s->opts.idle_timeout_ms;
    int64_t deadline = idle_ms ? timeout_deadline(idle_ms) : 0;
    int narrowed = 0;
    enum framing_result r;

    for (;;) {
        size_t used;
        r = framer_feed(&c->framer, c->rbuf + *rpos, *rlen - *rpos, &used, &c->req);
        *rpos += used;
        if (r != FRAMING_MORE)
            break;
        if (narrowed || (deadline && framer_mid_request(&c->framer))) {
            /* Mid-request: the whole request must arrive within the idle
             * timeout, not each byte (a one-byte-a-second client is idle). */
            int64_t left = timeout_left(deadline);
            if (left <= 0) {
                counters_add(s->ctr, CTR_IDLE_TIMEOUTS, 1);
                counters_add(s->ctr, CTR_ABORTED, 1);
                return FRAMING_MORE;
            }
            timeout_set(c->fd, SO_RCVTIMEO, left);
            narrowed = 1;
        }
        ssize_t n = read(c->fd, c->rbuf, sizeof(c->rbuf));
        if (n > 0) {
            *rpos = 0;
            *rlen = (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (atomic_load(&s->stopping)) /* the stop's shutdown ended the read */
            stop_found(s->ctr, 0, framer_mid_request(&c->framer));
        else
            count_read_end(s, c, n);
        return FRAMING_MORE;
    }
    if (narrowed)
        timeout_set(c->fd, SO_RCVTIMEO, idle_ms);
    return r;
}

/* How one request ended, for the serving loop and the stop's counts. */
enum req_end {
    REQ_KEEP,   /* answered; the connection is kept */
    REQ_DONE,   /* answered; the connection closes */
    REQ_FAILED, /* not answered: the write failed (counted) */
    REQ_CUT,    /* not answered: the stop's grace ran out (counted by the stop) */
};

/* A write of an answer failed: cut by the stop, or counted as the client's doing. */
static enum req_end write_failed(struct server *s)
{
    if (atomic_load(&s->cut))
        return REQ_CUT;
    counters_add(s->ctr, errno == EPIPE || errno == ECONNRESET ? CTR_ABORTED : CTR_IO_ERRORS, 1);
    return REQ_FAILED;
}

/* Answers `status` with why as the body; keeps the connection when keep_alive. */
static enum req_end answer_status(struct server *s, struct conn *c, int status, const char *why,
                                  int keep_alive)
{
    size_t len;

    counters_status(s->ctr, status);
    len = response_status(c->head, status, why, keep_alive, c->req.http_minor, &c->date);
    if (fdio_write_all(c->fd, c->head, len) < 0)
        return write_failed(s);
    return keep_alive ? REQ_KEEP : REQ_DONE;
}

/* io=net: the request to this thread's backend connection. 0 answered; 502 with the cause
 * in why (counted); 0 as well when the stop cut it (the caller checks). */
static int wait_backend(struct server *s, struct conn *c, char *why, size_t whylen)
{
    enum backend_result r =
        backend_exchange(&c->backend, &s->up, c->req.work.wait_us, s->opts.upstream_timeout_ms,
                         c->head, sizeof c->head, &s->cut, why, whylen);
    if (r != BACKEND_FAILED || atomic_load(&s->cut)) /* the stop's cut shut it down */
        return 0;
    counters_add(s->ctr, CTR_UPSTREAM_ERRORS, 1);
    return 502;
}

/* io=file: file_kib KiB at this thread's next offset, into the thread's buffer. 0 read;
 * 500 with the cause in why (counted). */
static int read_file(struct server *s, struct conn *c, char *why, size_t whylen)
{
    uint32_t len = c->req.work.file_kib * 1024;
    uint64_t off = 0;
    ssize_t n = -1;

    if (c->fbuf_cap < len) {
        free(c->fbuf);
        c->fbuf = datafile_buffer(len);
        c->fbuf_cap = c->fbuf ? len : 0;
    }
    errno = ENOMEM;
    if (c->fbuf) {
        off = datafile_offset(&c->rng, s->df.size, len);
        do
            n = pread(s->df.fd, c->fbuf, len, (off_t)off);
        while (n < 0 && errno == EINTR);
    }
    if (datafile_read_check(n, errno, off, len, why, whylen) == 0)
        return 0;
    counters_add(s->ctr, CTR_FILE_ERRORS, 1);
    return 500;
}

/* The wait of c's request (a sleep, the backend, a file read): 0 over, 500 or 502 with the
 * cause in why, -1 cut by the stop. */
static int request_wait(struct server *s, struct conn *c, char *why, size_t whylen)
{
    const struct workload *w = &c->req.work;
    int status = 0;

    if (w->io == IO_NET)
        status = wait_backend(s, c, why, whylen);
    else if (w->io == IO_FILE)
        status = read_file(s, c, why, whylen);
    else if (w->wait_us > 0)
        wait_sleep(w->wait_us);
    return atomic_load(&s->cut) ? -1 : status;
}

/* The 200: the shared table's update (state=shared), the work, the answer. */
static enum req_end answer_ok(struct server *s, struct conn *c, int keep_alive)
{
    const struct workload *w = &c->req.work;
    uint64_t count = 0;
    struct iovec iov[2];

    if (w->state == STATE_SHARED) {
        pthread_mutex_t *mu = s->opts.lock == LOCK_MUTEX ? &s->shared_mu : NULL;
        count = shared_serve(&s->shared, mu, w, s->ctr);
        if (count == 0)
            return answer_status(s, c, 503, shared_full_reason(), keep_alive);
    }
    workload_spin(w->work_us);
    iov[0].iov_base = c->head;
    iov[0].iov_len =
        response_head_ok_shared(c->head, w->bytes, keep_alive, c->req.http_minor, count, &c->date);
    iov[1].iov_base = (void *)response_body();
    iov[1].iov_len = w->bytes;
    counters_add(s->ctr, CTR_REQUESTS, 1);
    if (writev_all(c->fd, iov, c->req.head_only || w->bytes == 0 ? 1 : 2) < 0)
        return write_failed(s);
    return keep_alive ? REQ_KEEP : REQ_DONE;
}

/* Serves c's complete request: its wait, then its answer. *in_stop: the stop had begun when
 * the answer was formatted (it says Connection: close) or the stop cut the wait: the request
 * was in flight at the signal. */
static enum req_end serve_request(struct server *s, struct conn *c, int *in_stop)
{
    const struct workload *w = &c->req.work;
    char why[320];

    *in_stop = 0;
    if (w->io != IO_TIMER) {
        const char *refused = server_opts_io_refusal(&s->opts, w->io);
        if (refused)
            return answer_status(s, c, 400, refused, 0);
    }
    int status = request_wait(s, c, why, sizeof why);
    *in_stop = atomic_load(&s->stopping);
    if (status < 0)
        return REQ_CUT;
    if (w->io != IO_TIMER || w->wait_us > 0)
        date_cache_update(&c->date, time(NULL));
    int keep_alive = c->req.keep_alive && !*in_stop;
    if (status)
        return answer_status(s, c, status, why, keep_alive);
    return answer_ok(s, c, keep_alive);
}

/* A request in flight at the signal: answered or cut. */
static void stop_count(struct server *s, enum req_end e)
{
    stop_found(s->ctr, 1, 0);
    if (e != REQ_FAILED) /* a failed write is counted as the client's doing */
        stop_ended(s->ctr, e != REQ_CUT);
}

static void serve(struct server *s, struct conn *c)
{
    size_t rpos = 0, rlen = 0;

    for (;;) {
        enum framing_result r = read_request(s, c, &rpos, &rlen);
        if (r == FRAMING_MORE)
            return;
        date_cache_update(&c->date, time(NULL));
        if (r == FRAMING_ERROR) {
            answer_status(s, c, c->framer.status, c->framer.error, 0);
            return;
        }
        int in_stop;
        enum req_end e = serve_request(s, c, &in_stop);
        if (in_stop) {
            stop_count(s, e); /* then close: what follows it is not read */
            return;
        }
        if (e != REQ_KEEP)
            return; /* else the next read: at a stop it ends at once (read_request) */
    }
}

static void *conn_main(void *arg)
{
    struct server *s = &srv;
    struct conn c;

    c.fd = (int)(intptr_t)arg;
    backend_init(&c.backend);
    c.entry.tid = pthread_self();
    c.entry.fd = c.fd;
    c.entry.backend_fd = &c.backend.fd;
    if (registry_join(&s->reg, &c.entry) < 0) { /* accepted, but the stop came first */
        close(c.fd);
        stop_found(s->ctr, 0, 0);
        counters_add(s->ctr, CTR_CLOSED, 1);
        return NULL;
    }
    c.date.sec = 0;
    c.date.text[0] = '\0';
    c.fbuf = NULL;
    c.fbuf_cap = 0;
    datafile_rng_seed(&c.rng, datafile_rng_fresh_seed());
    framer_init(&c.framer, &s->opts.defaults);
    net_set_nodelay(c.fd);
    if (s->opts.idle_timeout_ms) {
        timeout_set(c.fd, SO_RCVTIMEO, s->opts.idle_timeout_ms);
        timeout_set(c.fd, SO_SNDTIMEO, s->opts.idle_timeout_ms);
    }
    serve(s, &c);
    counters_add(s->ctr, CTR_CLOSED, 1);
    registry_leave(&s->reg, &c.entry); /* before the closes */
    backend_close(&c.backend);
    free(c.fbuf);
    close(c.fd);
    return NULL;
}

/* No thread for this connection: answer 503 from the accept loop and close.
 * The socket is fresh, so the short answer fits its send buffer at once. */
static void refuse(struct server *s, int fd, int err)
{
    struct date_cache dc = {0};
    char buf[RESPONSE_HEAD_MAX], why[96];
    size_t len;

    snprintf(why, sizeof(why), "no thread for this connection: pthread_create: %s", strerror(err));
    date_cache_update(&dc, time(NULL));
    len = response_error(buf, 503, why, &dc);
    timeout_set(fd, SO_SNDTIMEO, 100);
    (void)fdio_write_all(fd, buf, len);
    close(fd);
    counters_add(s->ctr, CTR_THREAD_CREATE_FAILED, 1);
    counters_status(s->ctr, 503);
    counters_add(s->ctr, CTR_CLOSED, 1);
}

static void accept_loop(struct server *s)
{
    while (!atomic_load(&s->stopping)) {
        int fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            if (atomic_load(&s->stopping))
                break;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                struct timespec pause = {0, ACCEPT_PAUSE_NS};
                counters_add(s->ctr, CTR_ACCEPT_EMFILE, 1);
                nanosleep(&pause, NULL);
                continue;
            }
            counters_add(s->ctr, CTR_ACCEPT_ERRORS, 1);
            continue;
        }
        counters_add(s->ctr, CTR_ACCEPTED, 1);
        pthread_t tid;
        int rc = pthread_create(&tid, &s->attr, conn_main, (void *)(intptr_t)fd);
        if (rc != 0)
            refuse(s, fd, rc);
    }
}

/* Waits for SIGTERM or SIGINT (blocked in every other thread), then stops listening at once:
 * shutdown() refuses new connects and makes the blocked accept() return. A second signal cuts
 * what the stop waits for. Ends there, or when main signals it at exit. */
static void *signal_main(void *arg)
{
    sigset_t *set = arg;
    int sig;

    while (sigwait(set, &sig) != 0)
        ;
    atomic_store(&srv.t_sig_ns, clock_now_ns());
    atomic_store(&srv.stopping, 1);
    shutdown(srv.listen_fd, SHUT_RDWR);
    while (sigwait(set, &sig) != 0)
        ;
    if (atomic_load(&srv.exiting))
        return NULL; /* the stop is over: main woke us to end */
    atomic_store(&srv.cut, 1);
    registry_cut(&srv.reg, WAKE_SIGNAL);
    return NULL;
}

/* The graceful stop, once accepting has: the idle threads are woken at once (they close their
 * connections), those with a request in flight answer it with Connection: close and close;
 * past --grace-ms the rest are cut. Then the shared table is counted. */
static void thread_stop(struct server *s)
{
    uint64_t t_sig = atomic_load(&s->t_sig_ns);
    uint32_t grace_left = stop_grace_left_ms(t_sig, s->opts.grace_ms, clock_now_ns());

    registry_stop(&s->reg);
    long left = registry_wait(&s->reg, grace_left);
    if (left > 0) {
        atomic_store(&s->cut, 1);
        registry_cut(&s->reg, WAKE_SIGNAL);
        left = registry_wait(&s->reg, CUT_DRAIN_MS);
    }
    stop_over(s->ctr, t_sig);
    counters_add(s->ctr, CTR_UNFINISHED, (uint64_t)left); /* still burning work_us */
    pthread_mutex_lock(&s->shared_mu); /* a thread left running may still update it */
    counters_shared_settle(s->ctr, shared_counted(&s->shared));
    pthread_mutex_unlock(&s->shared_mu);
}

/* One process's server: the accept loop, until SIGTERM/SIGINT (see workers.h). */
static int thread_serve(const struct server_opts *o, int listen_fd, struct counters *ctr,
                        void (*ready)(void))
{
    struct server *s = &srv;
    static sigset_t stop_set;
    pthread_t sig_tid;
    int rc;

    struct sigaction wake = {.sa_handler = on_wake}; /* no SA_RESTART: a wait returns EINTR */
    sigaction(WAKE_SIGNAL, &wake, NULL);
    s->opts = *o;
    s->ctr = ctr;
    s->listen_fd = listen_fd;
    pthread_attr_init(&s->attr);
    pthread_attr_setdetachstate(&s->attr, PTHREAD_CREATE_DETACHED);
    if (o->stack_kib &&
        (rc = pthread_attr_setstacksize(&s->attr, (size_t)o->stack_kib * 1024)) != 0) {
        fprintf(stderr, "thread_server: --stack-kib %u: %s\n", o->stack_kib, strerror(rc));
        close(listen_fd);
        return 2;
    }
    sigemptyset(&stop_set);
    sigaddset(&stop_set, SIGTERM);
    sigaddset(&stop_set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_set, NULL); /* inherited by every thread */
    if ((rc = pthread_create(&sig_tid, NULL, signal_main, &stop_set)) != 0) {
        fprintf(stderr, "thread_server: cannot start the signal thread: %s\n", strerror(rc));
        close(listen_fd);
        return 1;
    }

    ready();
    accept_loop(s);

    close(s->listen_fd);
    pthread_attr_destroy(&s->attr);
    thread_stop(s);
    /* It waits for a second signal: this one ends it (not pthread_cancel, whose unwinding
       sanitizers misread). */
    atomic_store(&s->exiting, 1);
    pthread_kill(sig_tid, SIGTERM);
    pthread_join(sig_tid, NULL);
    return 0;
}

/* A connection thread needs room for its frames and buffers. */
static int stack_fits(const struct server_opts *o, char *msg, size_t msglen)
{
    if (!o->stack_kib || o->stack_kib >= STACK_KIB_MIN)
        return 0;
    snprintf(msg, msglen,
             "--stack-kib %u is below %d KiB, too small for a connection thread (use 0 for the "
             "system default)",
             o->stack_kib, STACK_KIB_MIN);
    return 2;
}

int main(int argc, char **argv)
{
    static const struct server_main m = {
        .prog = "thread_server",
        .impl = "thread",
        .flags = SERVER_OPTS_STACK_KIB | SERVER_OPTS_LOCK,
        .serve = thread_serve,
        .check = stack_fits,
        .up = &srv.up,
        .df = &srv.df,
    };
    return server_main(argc, argv, &m);
}
