/* prepare: what io=net and io=file runs need before the server starts: the data file (written
 * or reused, or --data-file checked), an --upstream answering, the device to sample. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "datafile.h"
#include "load/target.h"
#include "run/datagen.h"
#include "run/prepare.h"
#include "run/watch.h"
#include "workload.h"

struct progress {
    const char *path;
    bool quiet;
    volatile const sig_atomic_t *stop;
    uint64_t last_ns;
};

static int on_progress(void *arg, uint64_t done_mib, uint64_t total_mib)
{
    struct progress *p = arg;
    uint64_t now = clock_now_ns();
    if (!p->quiet && (now - p->last_ns >= 1000000000ULL || done_mib == total_mib)) {
        printf("  data file: writing %s: %llu of %llu MiB\n", p->path, (unsigned long long)done_mib,
               (unsigned long long)total_mib);
        fflush(stdout);
        p->last_ns = now;
    }
    return *p->stop != 0;
}

int prepare_data_here(const struct data_req *rq, volatile const sig_atomic_t *stop,
                      struct data_result *d, struct inflight *dev, char *line, size_t linelen,
                      char *err, size_t errlen)
{
    struct datafile df;
    d->on = true;
    if (rq->file[0]) {
        snprintf(d->path, sizeof d->path, "%s", rq->file);
        d->size_mib = -1;
        d->reused = -1;
    } else {
        struct datagen g;
        char name[64], path[PATH_MAX];
        struct progress p = {path, rq->quiet, stop, clock_now_ns()};
        snprintf(path, sizeof path, "%.3000s/%s", rq->dir,
                 datagen_name(rq->size_mib, name, sizeof name));
        if (datagen_prepare(rq->dir, rq->size_mib, on_progress, &p, &g, err, errlen) < 0)
            return -1;
        snprintf(d->path, sizeof d->path, "%s", g.path);
        d->size_mib = rq->size_mib;
        d->reused = g.reused;
        d->write_s = g.write_s;
    }
    if (datafile_open(&df, d->path, err, errlen) < 0)
        return -1;
    /* the server gets (and the record keeps) the whole path: a --server-cmd may cd */
    char shown[PATH_MAX], abs[PATH_MAX];
    snprintf(shown, sizeof shown, "%s", d->path);
    if (realpath(d->path, abs))
        snprintf(d->path, sizeof d->path, "%s", abs);
    if (d->reused == 1)
        snprintf(line, linelen, "%.1000s (%ld MiB, reused)", shown, d->size_mib);
    else if (d->reused == 0)
        snprintf(line, linelen, "%.1000s (%ld MiB, written in %.1f s)", shown, d->size_mib,
                 d->write_s);
    else
        snprintf(line, linelen, "%.1000s (%llu MiB, --data-file, on %s)", shown,
                 (unsigned long long)(df.size >> 20), df.fs);
    datafile_close(&df);
    inflight_open_file(dev, d->path);
    return 0;
}

/* The file the servers read, on the server's host: --data-file's, or one written (or found) in
 * --data-dir. Each is checked as the servers check it, so that a refusal comes now, named. */
static int prepare_data(struct run *x, char *err, size_t errlen)
{
    const struct cli_opts *o = x->o;
    struct data_req rq = {.size_mib = o->data_size_mib, .quiet = o->quiet};
    char line[1200];
    snprintf(rq.file, sizeof rq.file, "%s", o->data_file ? o->data_file : "");
    snprintf(rq.dir, sizeof rq.dir, "%s", o->data_dir);
    struct node *n = x->srv_node;
    if (n->ops->data(n, &rq, &x->r->data, &x->r->dev, line, sizeof line, err, errlen) < 0)
        return -1;
    printf("data file%s%s: %s\n", n == node_local() ? "" : " on host ",
           n == node_local() ? "" : n->name, line);
    fflush(stdout);
    x->r->dev_on = true;
    return 0;
}

/* --upstream: resolved by the targets' rule, and answering now. */
static int check_upstream(struct run *x, char *err, size_t errlen)
{
    const struct cli_opts *o = x->o;
    struct backend_result *b = &x->r->bk;
    struct sockaddr_storage ss;
    socklen_t len;
    char host[192], why[400];
    if (target_resolve(o->upstream, o->allow_remote, &ss, &len, host, sizeof host, why,
                       sizeof why) < 0) {
        snprintf(err, errlen, "--upstream: %s", why);
        return -1;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct timeval tv = {2, 0};
    int rc = -1, e = errno;
    if (fd >= 0) {
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        rc = connect(fd, (struct sockaddr *)&ss, len);
        e = errno;
        close(fd);
    }
    if (rc < 0) {
        snprintf(err, errlen,
                 "--upstream %s: connect: %s (start the backend first, or drop --upstream and "
                 "the harness starts one)",
                 o->upstream, strerror(e));
        return -1;
    }
    snprintf(b->upstream, sizeof b->upstream, "%s", o->upstream);
    return 0;
}

int prepare_waits(struct run *x, char *err, size_t errlen)
{
    const struct cli_opts *o = x->o;
    if (o->cmd != CLI_RUN)
        return 0;
    if (o->io == IO_NET && o->upstream && check_upstream(x, err, errlen) < 0)
        return -1;
    if (o->io == IO_FILE && prepare_data(x, err, errlen) < 0)
        return -1;
    return 0;
}
