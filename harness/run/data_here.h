/* data_here: the data file of io=file on this machine, for the local node and a host's agent:
 * written or reused (datagen.h), or --data-file checked as the servers check it, and its
 * device opened for sampling. */
#ifndef TVT_DATA_HERE_H
#define TVT_DATA_HERE_H

#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "observe/inflight.h"
#include "record/result.h"

/* What the data file of io=file is to be. */
struct data_req {
    char file[PATH_MAX]; /* --data-file; "" none */
    char dir[PATH_MAX];  /* --data-dir */
    long size_mib;       /* --data-size-mib */
    bool quiet;          /* no progress lines (and never on an agent: its stdout is the wire) */
};

/* The data file of rq on this machine: written (progress lines unless quiet; stop abandons it)
 * or reused, or --data-file checked as the servers check it; d says which, dev is its device
 * opened for sampling, line what to print of it. 0 ok; -1 with the cause in err. */
int prepare_data_here(const struct data_req *rq, volatile const sig_atomic_t *stop,
                      struct data_result *d, struct inflight *dev, char *line, size_t linelen,
                      char *err, size_t errlen);

#endif
