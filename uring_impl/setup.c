/* setup.c: ring creation and the start-up check of io_uring (see setup.h). */
#include "setup.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bufring.h"
#include "procfs.h"

int uring_setup(struct io_uring *ring, unsigned sq_entries, unsigned cq_entries)
{
    static const unsigned models[] = {
        IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
        IORING_SETUP_COOP_TASKRUN,
        0,
    };
    int rc = -EINVAL;

    for (size_t i = 0; i < sizeof(models) / sizeof(models[0]); i++) {
        struct io_uring_params p;
        memset(&p, 0, sizeof(p));
        p.flags = models[i] | IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL;
        p.cq_entries = cq_entries;
        rc = io_uring_queue_init_params(sq_entries, ring, &p);
        if (rc != -EINVAL)
            return rc; /* EINVAL: a flag this kernel does not know; try an older model */
    }
    return rc;
}

/* Reads a one-number sysctl; -1 when it cannot be read. */
static long read_sysctl(const char *path)
{
    char text[64];
    long v;

    if (procfs_slurp(path, text, sizeof(text)) < 0 || sscanf(text, "%ld", &v) != 1)
        return -1;
    return v;
}

static void explain_setup_error(int e, char *err, size_t errlen)
{
    long disabled, group;

    switch (e) {
    case ENOSYS:
        snprintf(err, errlen,
                 "io_uring_setup failed with ENOSYS: this kernel has no io_uring (built without "
                 "CONFIG_IO_URING), or a seccomp filter answers ENOSYS for it. Fix: run on a "
                 "Linux 6.0 or later kernel with io_uring, outside such a filter "
                 "(async_server and thread_server need neither)");
        return;
    case EPERM:
        disabled = read_sysctl("/proc/sys/kernel/io_uring_disabled");
        group = read_sysctl("/proc/sys/kernel/io_uring_group");
        if (disabled == 2) {
            snprintf(err, errlen,
                     "io_uring_setup failed with EPERM: io_uring is disabled for every process "
                     "(sysctl kernel.io_uring_disabled = 2). Fix, as root: sysctl -w "
                     "kernel.io_uring_disabled=0");
        } else if (disabled == 1) {
            snprintf(err, errlen,
                     "io_uring_setup failed with EPERM: io_uring is restricted to "
                     "CAP_SYS_ADMIN and the group kernel.io_uring_group (gid %ld) "
                     "(sysctl kernel.io_uring_disabled = 1), and this process has neither. Fix: "
                     "run it in that group, or as root: sysctl -w kernel.io_uring_disabled=0",
                     group);
        } else {
            snprintf(err, errlen,
                     "io_uring_setup failed with EPERM although kernel.io_uring_disabled is %s: "
                     "a seccomp filter (container runtimes' default profiles often refuse "
                     "io_uring) or a security module denies it. Fix: run outside that filter "
                     "(e.g. docker run --security-opt seccomp=unconfined), or allow "
                     "io_uring_setup, io_uring_enter and io_uring_register",
                     disabled == 0 ? "0" : "unreadable");
        }
        return;
    case ENOMEM:
        snprintf(err, errlen,
                 "io_uring_setup failed with ENOMEM: no memory for the rings (kernels before "
                 "5.12 charge them to RLIMIT_MEMLOCK). Fix: raise the locked-memory limit "
                 "(ulimit -l) or free memory");
        return;
    case EINVAL:
        snprintf(err, errlen,
                 "io_uring_setup failed with EINVAL: this kernel is too old for the ring this "
                 "server needs. Fix: run on Linux 6.0 or later");
        return;
    default: snprintf(err, errlen, "io_uring_setup failed: %s", strerror(e));
    }
}

/* Features whose absence would make the server wrong or slow, with what each is for. */
static const struct {
    unsigned flag;
    const char *name, *why;
} FEATURES[] = {
    {IORING_FEAT_NODROP, "IORING_FEAT_NODROP", "no completion lost when the CQ ring is full"},
    {IORING_FEAT_FAST_POLL, "IORING_FEAT_FAST_POLL",
     "socket operations wait by poll, not in a worker thread"},
    {IORING_FEAT_EXT_ARG, "IORING_FEAT_EXT_ARG", "the wait for completions takes a timeout"},
};

static const struct {
    int op;
    const char *name;
} OPCODES[] = {
    {IORING_OP_ACCEPT, "ACCEPT"},
    {IORING_OP_RECV, "RECV"},
    {IORING_OP_SENDMSG, "SENDMSG"},
    {IORING_OP_TIMEOUT, "TIMEOUT"},
    {IORING_OP_ASYNC_CANCEL, "ASYNC_CANCEL"},
    {IORING_OP_POLL_ADD, "POLL_ADD"},
    {IORING_OP_CONNECT, "CONNECT"}, /* io=net */
    {IORING_OP_SEND, "SEND"},
    {IORING_OP_LINK_TIMEOUT, "LINK_TIMEOUT"},
    {IORING_OP_READ, "READ"}, /* io=file */
};

/* Waits up to 2 s for one completion and copies it. 0 ok, -errno. */
static int wait_one(struct io_uring *ring, struct io_uring_cqe *out)
{
    struct __kernel_timespec ts = {.tv_sec = 2};
    struct io_uring_cqe *cqe;
    int rc = io_uring_submit_and_wait_timeout(ring, &cqe, 1, &ts, NULL);

    if (rc < 0)
        return rc;
    rc = io_uring_peek_cqe(ring, &cqe);
    if (rc < 0)
        return rc;
    *out = *cqe;
    io_uring_cqe_seen(ring, cqe);
    return 0;
}

/* Multishot accept on a loopback listener: one connection must come back with F_MORE. */
static int try_multishot_accept(struct io_uring *ring, char *err, size_t errlen)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    struct io_uring_cqe cqe;
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), cfd = -1, rc = -1;

    if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(lfd, 4) < 0 ||
        getsockname(lfd, (struct sockaddr *)&a, &alen) < 0) {
        snprintf(err, errlen, "checking multishot accept: loopback socket: %s", strerror(errno));
        goto out;
    }
    io_uring_prep_multishot_accept(io_uring_get_sqe(ring), lfd, NULL, NULL, SOCK_CLOEXEC);
    cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (cfd < 0 || connect(cfd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        snprintf(err, errlen, "checking multishot accept: connect: %s", strerror(errno));
        goto out;
    }
    int w = wait_one(ring, &cqe);
    if (w < 0 || cqe.res < 0 || !(cqe.flags & IORING_CQE_F_MORE)) {
        snprintf(err, errlen,
                 "this kernel has no multishot accept (%s). Fix: run on Linux 6.0 or later",
                 strerror(w < 0         ? -w
                          : cqe.res < 0 ? -cqe.res
                                        : EOPNOTSUPP));
        goto out;
    }
    close(cqe.res);
    rc = 0;
out:
    if (cfd >= 0)
        close(cfd);
    if (lfd >= 0)
        close(lfd); /* the armed accept ends with the ring */
    return rc;
}

/* Multishot recv on a socket pair, into a one-buffer ring when need_buf_ring. */
static int try_multishot_recv(struct io_uring *ring, struct buf_ring *br, int need_buf_ring,
                              char *err, size_t errlen)
{
    struct io_uring_cqe cqe;
    struct io_uring_sqe *sqe;
    char plain[8];
    int sv[2], rc = -1;

    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
        snprintf(err, errlen, "checking multishot recv: socketpair: %s", strerror(errno));
        return -1;
    }
    if (need_buf_ring) {
        int b = buf_ring_init(br, ring, 1, 64, URING_BUF_GROUP);
        if (b < 0) {
            snprintf(err, errlen,
                     "registering a provided-buffer ring failed (%s): this kernel has no buffer "
                     "rings (Linux 5.19), or a filter refuses io_uring_register. Fix: run on "
                     "Linux 6.0 or later, or use --recv conn",
                     strerror(-b));
            goto out;
        }
    }
    sqe = io_uring_get_sqe(ring);
    if (need_buf_ring) {
        io_uring_prep_recv_multishot(sqe, sv[0], NULL, 0, 0);
        sqe->flags |= IOSQE_BUFFER_SELECT;
        sqe->buf_group = URING_BUF_GROUP;
    } else {
        io_uring_prep_recv(sqe, sv[0], plain, sizeof(plain), 0);
    }
    if (write(sv[1], "x", 1) != 1) {
        snprintf(err, errlen, "checking multishot recv: write: %s", strerror(errno));
        goto out;
    }
    int w = wait_one(ring, &cqe);
    if (w < 0 || cqe.res != 1 || (need_buf_ring && !(cqe.flags & IORING_CQE_F_MORE))) {
        snprintf(err, errlen, "this kernel cannot %s (%s). Fix: run on Linux 6.0 or later%s",
                 need_buf_ring ? "receive multishot into a buffer ring" : "receive on a ring",
                 strerror(w < 0         ? -w
                          : cqe.res < 0 ? -cqe.res
                                        : EOPNOTSUPP),
                 need_buf_ring ? ", or use --recv conn" : "");
        goto out;
    }
    rc = 0;
out:
    close(sv[0]);
    close(sv[1]);
    return rc;
}

int uring_check(int need_buf_ring, char *err, size_t errlen)
{
    struct io_uring ring;
    struct io_uring_probe *probe;
    struct buf_ring br;
    int rc = uring_setup(&ring, 8, 16);

    memset(&br, 0, sizeof(br));

    if (rc < 0) {
        explain_setup_error(-rc, err, errlen);
        return -1;
    }
    for (size_t i = 0; i < sizeof(FEATURES) / sizeof(FEATURES[0]); i++)
        if (!(ring.features & FEATURES[i].flag)) {
            snprintf(err, errlen,
                     "this kernel's io_uring lacks %s (%s). Fix: run on Linux 6.0 or later",
                     FEATURES[i].name, FEATURES[i].why);
            goto fail;
        }
    probe = io_uring_get_probe_ring(&ring);
    if (!probe) {
        snprintf(err, errlen,
                 "this kernel cannot say which io_uring operations it has "
                 "(IORING_REGISTER_PROBE). Fix: run on Linux 6.0 or later");
        goto fail;
    }
    for (size_t i = 0; i < sizeof(OPCODES) / sizeof(OPCODES[0]); i++)
        if (!io_uring_opcode_supported(probe, OPCODES[i].op)) {
            snprintf(err, errlen,
                     "this kernel's io_uring has no IORING_OP_%s. Fix: run on Linux 6.0 or later",
                     OPCODES[i].name);
            io_uring_free_probe(probe);
            goto fail;
        }
    io_uring_free_probe(probe);
    if (try_multishot_accept(&ring, err, errlen) < 0)
        goto fail;
    if (try_multishot_recv(&ring, &br, need_buf_ring, err, errlen) < 0)
        goto fail;
    rc = 0;
    goto out;
fail:
    rc = -1;
out:
    /* The armed recv ends with the ring; only then may its buffers go. */
    io_uring_queue_exit(&ring);
    buf_ring_destroy(&br, NULL);
    return rc;
}
