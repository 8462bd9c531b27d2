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

#include "load/target.h"
#include "run/data_here.h"
#include "run/node.h"
#include "run/prepare.h"
#include "run/watch.h"
#include "workload.h"

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
