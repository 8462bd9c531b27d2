/* data_here: the data file of io=file on this machine (data_here.h). */
#include "run/data_here.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "datafile.h"
#include "run/datagen.h"

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
