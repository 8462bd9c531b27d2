/* server.c: the io_uring server: one thread, one ring, one task per connection.
 *
 * Where the libev server waits for readiness and then makes a system call per read and
 * write, this one queues the operations themselves (accept, recv, sendmsg, timeouts, and
 * for the io= waits connect/send/recv to the backend and reads of the data file) and reaps
 * their completions: each loop pass is one io_uring_enter that submits everything
 * the previous pass queued and waits for the next completions. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "clock.h"
#include "counters.h"
#include "loop.h"
#include "response.h"
#include "server_main.h"
#include "server_opts.h"
#include "setup.h"
#include "stop.h"
#include "workers.h"

#define SQ_ENTRIES      4096
#define CQ_ENTRIES      16384
#define ACCEPT_PAUSE_NS 100000000 /* after EMFILE: the backlog keeps the client waiting */
#define DRAIN_MS        2000      /* at exit, for the cancelled operations to complete */

/* The provided-buffer ring: enough buffers for the receives of one loop pass (each is
 * given back in the pass that filled it). If a pass needs more, the receives that found
 * none end with ENOBUFS and are re-armed. 4 MiB, a fixed cost of the loop. */
#define BUF_COUNT 1024
#define BUF_SIZE  CONN_READ_BUF

/* ---- the server's own operations ------------------------------------------------------ */

static void arm_accept(struct server *s)
{
    struct io_uring_sqe *sqe = loop_sqe(s);

    io_uring_prep_multishot_accept(sqe, s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
    io_uring_sqe_set_data64(sqe, op_tag(NULL, OP_ACCEPT));
    s->armed |= BIT(OP_ACCEPT);
}

static void arm_signal(struct server *s)
{
    struct io_uring_sqe *sqe = loop_sqe(s);

    io_uring_prep_poll_add(sqe, s->signal_fd, POLLIN);
    io_uring_sqe_set_data64(sqe, op_tag(NULL, OP_SIGNAL));
    s->armed |= BIT(OP_SIGNAL);
}

static void on_accept(struct server *s, const struct io_uring_cqe *cqe)
{
    int more = (cqe->flags & IORING_CQE_F_MORE) != 0;

    if (cqe->res >= 0) {
        counters_add(s->ctr, CTR_ACCEPTED, 1);
        if (s->stopping) {
            close(cqe->res); /* accepted while shutting down */
            counters_add(s->ctr, CTR_CLOSED, 1);
        } else if ((rlim_t)cqe->res >= loop_nofile_limit(s)) {
            /* armed before the limit was lowered: parked until a task frees an fd under it,
               and the accept armed again under the new limit */
            counters_add(s->ctr, CTR_ACCEPT_EMFILE, 1);
            loop_park(s, cqe->res);
            if (more && !s->accept_rearm)
                loop_cancel(s, op_tag(NULL, OP_ACCEPT));
            s->accept_rearm = 1;
        } else {
            /* its idle timeout counts from its own accept, not from the start of the pass */
            s->now_ms = (int64_t)clock_now_ms();
            conn_open(s, cqe->res);
        }
    } else if (cqe->res == -EMFILE || cqe->res == -ENFILE || cqe->res == -ENOBUFS ||
               cqe->res == -ENOMEM) {
        /* Out of fds: stop accepting for a moment rather than spin on a listening socket
         * that stays readable. Open connections go on. */
        counters_add(s->ctr, CTR_ACCEPT_EMFILE, 1);
        if (more && !s->out_of_fds)
            loop_cancel(s, op_tag(NULL, OP_ACCEPT));
        s->out_of_fds = 1;
    } else if (cqe->res != -ECANCELED) {
        counters_add(s->ctr, CTR_ACCEPT_ERRORS, 1); /* ECONNABORTED and friends: one client */
    }
    if (more)
        return;
    s->armed &= ~BIT(OP_ACCEPT);
    s->accept_rearm = 0;
    if (s->stopping)
        return;
    if (s->out_of_fds) {
        struct io_uring_sqe *sqe = loop_sqe(s);
        s->out_of_fds = 0;
        s->pause.tv_sec = 0;
        s->pause.tv_nsec = ACCEPT_PAUSE_NS;
        io_uring_prep_timeout(sqe, &s->pause, 0, 0);
        io_uring_sqe_set_data64(sqe, op_tag(NULL, OP_ACCEPT_PAUSE));
        s->armed |= BIT(OP_ACCEPT_PAUSE);
        return;
    }
    arm_accept(s);
}

static void on_signal(struct server *s, const struct io_uring_cqe *cqe)
{
    struct signalfd_siginfo si;

    s->armed &= ~BIT(OP_SIGNAL);
    if (cqe->res < 0)
        return; /* cancelled at exit */
    if (read(s->signal_fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
        stop_begin(s);
    if (!s->stop)
        arm_signal(s); /* a second signal cuts what the stop waits for */
}

static void dispatch(struct server *s, const struct io_uring_cqe *cqe)
{
    enum op op = (enum op)(cqe->user_data & OP_MASK);
    void *owner = (void *)(uintptr_t)(cqe->user_data & ~(uint64_t)OP_MASK);

    switch (op) {
    case OP_NONE: return;
    case OP_ACCEPT: on_accept(s, cqe); return;
    case OP_ACCEPT_PAUSE:
        s->armed &= ~BIT(OP_ACCEPT_PAUSE);
        if (!s->stopping)
            arm_accept(s);
        return;
    case OP_SIGNAL: on_signal(s, cqe); return;
    default: conn_complete(s, owner, op, cqe); return;
    }
}

/* One pass: submit what the last pass queued and wait (at most max_wait_ms, -1 until the
 * next idle deadline), then handle every completion there is. 0 ok, -errno on a failure
 * of io_uring_enter itself. */
static int loop_pass(struct server *s, int64_t max_wait_ms)
{
    struct io_uring_cqe *cqe;
    unsigned head, n = 0;
    int64_t wait_ms;
    int rc;

    if (s->recv == RECV_RING)
        buf_ring_publish(&s->bufs);
    s->now_ms = (int64_t)clock_now_ms();
    wait_ms = conn_next_deadline_ms(s);
    if (max_wait_ms >= 0 && (wait_ms < 0 || wait_ms > max_wait_ms))
        wait_ms = max_wait_ms;
    if (wait_ms < 0) {
        rc = io_uring_submit_and_wait(&s->ring, 1);
    } else {
        struct __kernel_timespec ts = {.tv_sec = wait_ms / 1000,
                                       .tv_nsec = (wait_ms % 1000) * 1000000};
        rc = io_uring_submit_and_wait_timeout(&s->ring, &cqe, 1, &ts, NULL);
    }
    if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY)
        return rc;
    s->pass++;
    s->now_ms = (int64_t)clock_now_ms();
    io_uring_for_each_cqe(&s->ring, head, cqe)
    {
        dispatch(s, cqe);
        n++;
    }
    io_uring_cq_advance(&s->ring, n);
    conn_expire(s);
    return 0;
}

/* At exit: close every task, cancel the server's operations, and reap until every
 * completion is in, so that nothing is freed under the kernel. */
static void drain(struct server *s)
{
    int64_t until = (int64_t)clock_now_ms() + DRAIN_MS;

    conn_close_all(s);
    for (int op = OP_ACCEPT; op <= OP_SIGNAL; op++)
        if (s->armed & BIT(op))
            loop_cancel(s, op_tag(NULL, (enum op)op));
    while ((s->closing || s->live || s->armed) && s->now_ms < until) {
        if (loop_pass(s, 100) < 0)
            break;
        conn_close_all(s); /* any accepted meanwhile */
    }
}

/* The backend and data file, set up by main before any worker starts. */
static struct upstream_addr upstream;
static struct datafile data_file = {.fd = -1};

static struct server srv;

/* One process's server: its ring, until SIGTERM/SIGINT and its stop. */
static int uring_run(const struct server_opts *o, int listen_fd, struct counters *ctr,
                     void (*ready)(void))
{
    struct server *s = &srv;
    sigset_t stop_set;
    int rc = 0;

    s->opts = *o;
    s->ctr = ctr;
    s->listen_fd = listen_fd;
    s->recv = (enum recv_mode)o->recv;
    s->up = o->upstream ? &upstream : NULL;
    s->df = o->data_file ? &data_file : NULL;
    datafile_rng_seed(&s->rng, datafile_rng_fresh_seed());
    pool_init(&s->blocks, sizeof(struct req_block));
    pool_init(&s->framers, sizeof(struct framer));
    sigemptyset(&stop_set);
    sigaddset(&stop_set, SIGTERM);
    sigaddset(&stop_set, SIGINT);
    sigprocmask(SIG_BLOCK, &stop_set, NULL);
    s->signal_fd = signalfd(-1, &stop_set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (s->signal_fd < 0) {
        fprintf(stderr, "uring_server: signalfd: %s\n", strerror(errno));
        return 1;
    }
    rc = uring_setup(&s->ring, SQ_ENTRIES, CQ_ENTRIES);
    if (rc < 0) {
        fprintf(stderr, "uring_server: io_uring_setup: %s (it worked at start-up)\n",
                strerror(-rc));
        close(s->signal_fd);
        return 1;
    }
    if (s->recv == RECV_RING) {
        rc = buf_ring_init(&s->bufs, &s->ring, BUF_COUNT, BUF_SIZE, URING_BUF_GROUP);
        if (rc < 0) {
            fprintf(stderr, "uring_server: buffer ring of %u x %u bytes: %s\n", BUF_COUNT, BUF_SIZE,
                    strerror(-rc));
            io_uring_queue_exit(&s->ring);
            close(s->signal_fd);
            return 1;
        }
    }
    s->now_ms = (int64_t)clock_now_ms();
    arm_accept(s);
    arm_signal(s);

    ready();
    rc = 0;
    int64_t max_wait_ms = -1;
    while (!s->stop) {
        int e = loop_pass(s, max_wait_ms);
        if (e < 0) {
            fprintf(stderr, "uring_server: io_uring_enter: %s\n", strerror(-e));
            rc = 1;
            break;
        }
        if (s->stopping)
            max_wait_ms = stop_pass(s);
    }
    drain(s);
    if (s->stopping)
        stop_over(s->ctr, s->t_sig_ns);
    counters_shared_settle(s->ctr, shared_counted(&s->shared));
    io_uring_queue_exit(&s->ring);
    conn_free_all(s); /* only what the drain did not see complete */
    loop_close_parked(s);
    buf_ring_destroy(&s->bufs, NULL);
    pool_destroy(&s->blocks);
    pool_destroy(&s->framers);
    file_bufs_destroy(&s->files);
    close(s->signal_fd);
    return rc;
}

/* One process's server (see workers.h): uring_run, and its listening socket closed, at the
 * stop or else at the end. */
static int uring_serve(const struct server_opts *o, int listen_fd, struct counters *ctr,
                       void (*ready)(void))
{
    int rc = uring_run(o, listen_fd, ctr, ready);
    if (srv.listen_fd >= 0)
        close(srv.listen_fd);
    return rc;
}

static const char URING_HELP[] =
    "\n"
    "Exits 3 when io_uring is unavailable (no kernel support, kernel.io_uring_disabled,\n"
    "a seccomp filter, a missing feature), with the cause and the fix on stderr.\n";

/* Whether this kernel gives the ring what the options need: exit 3 if not. */
static int uring_usable(const struct server_opts *o, char *msg, size_t msglen)
{
    char why[SERVER_HELP_MAX - 64];
    if (uring_check(o->recv == RECV_RING, why, sizeof(why)) == 0)
        return 0;
    snprintf(msg, msglen, "io_uring unavailable: %s", why);
    return URING_EXIT_UNAVAILABLE;
}

int main(int argc, char **argv)
{
    static const struct server_main m = {
        .prog = "uring_server",
        .impl = "uring",
        .flags = SERVER_OPTS_RECV,
        .help_tail = URING_HELP,
        .serve = uring_serve,
        .check = uring_usable,
        .up = &upstream,
        .df = &data_file,
    };
    return server_main(argc, argv, &m);
}
