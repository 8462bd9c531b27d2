/* Unit tests for harness/fdplan: the file descriptors of a run's processes against their
 * limit: io=net's two per connection, the spread over --workers and --procs, the backend,
 * and the message that names the fix. */
#include <criterion/criterion.h>
#include <string.h>

#include "../../harness/load/load.h"
#include "../../harness/plan/fdplan.h"

struct fd_case {
    long conns;
    bool net;
    long workers, procs, threads, backend, nofile;
    bool fits;
    const char *err1, *err2; /* in the message when it does not fit */
};

static const struct fd_case CASES[] = {
    /* 1000 connections, 20000 fds: everything fits */
    {1000, false, 1, 1, 1, 0, 20000, true, NULL, NULL},
    /* unlimited: never refused */
    {10000000, true, 1, 1, 1, 1, -1, true, NULL, NULL},
    /* 10000 io=net connections in one server process: 20064 > 20000, refused naming --workers */
    {10000, true, 1, 1, 1, 0, 20000, false, "--workers 1", "at least --workers 2"},
    /* the same without io=net fits */
    {10000, false, 1, 1, 1, 0, 20000, true, NULL, NULL},
    /* over two workers it fits (even share 5000, + 3 sd of the hash, x 2, + 64) */
    {10000, true, 2, 1, 1, 0, 20000, true, NULL, NULL},
    /* the generator alone: 200 connections + 8 + 64 > 256, refused naming --procs */
    {200, false, 0, 1, 1, 0, 256, false, "--procs 1", "at least --procs 2"},
    /* 150 io=net connections, limit 256: the server (364) does not fit, the generator (222)
       does; the message names --workers and both flags */
    {150, true, 1, 1, 1, 0, 256, false, "the server needs about 364", "--procs the generator"},
    /* a backend of one process at 300 connections and limit 256: --backend-cpus */
    {300, false, 0, 0, 1, 1, 256, false, "the backend", "--backend-cpus"},
    /* server unchecked (--server-cmd), generator fits */
    {150, true, 0, 1, 1, 0, 256, true, NULL, NULL},
};

Test(fdplan, cases)
{
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        const struct fd_case *c = &CASES[i];
        struct fdplan_req rq = {c->conns,   c->net,     c->workers, c->procs,
                                c->threads, c->backend, c->nofile};
        struct fdplan out;
        char err[1200];
        int rc = fdplan_check(&rq, &out, err, sizeof err);
        cr_assert_eq(rc == 0, c->fits, "case %zu: rc %d: %s", i, rc, err);
        if (!c->fits) {
            cr_assert(strstr(err, c->err1), "case %zu: '%s' not in: %s", i, c->err1, err);
            cr_assert(strstr(err, c->err2), "case %zu: '%s' not in: %s", i, c->err2, err);
            cr_assert(strstr(err, "RLIMIT_NOFILE"), "case %zu: the limit is named: %s", i, err);
        }
    }
}

/* io=net doubles the server's connections; the generator's need is load.c's own formula */
Test(fdplan, needs)
{
    struct fdplan_req rq = {1000, true, 1, 1, 2, 0, 20000};
    struct fdplan out;
    char err[600];
    cr_assert_eq(fdplan_check(&rq, &out, err, sizeof err), 0);
    cr_assert_eq(out.server_need, 2 * 1000 + FDPLAN_SERVER_RESERVE);
    cr_assert_eq(out.gen_need, load_fds_needed(1000, 2));
    cr_assert_eq(out.backend_need, -1, "no backend");
    rq.net = false;
    fdplan_check(&rq, &out, err, sizeof err);
    cr_assert_eq(out.server_need, 1000 + FDPLAN_SERVER_RESERVE);
}

/* one process takes all; the generator's processes split evenly; a hashed spread gets a
   margin that stays below the whole */
Test(fdplan, share)
{
    cr_assert_eq(fdplan_share(1000, 1, true), 1000);
    cr_assert_eq(fdplan_share(1000, 3, false), 334);
    long s = fdplan_share(10000, 2, true);
    cr_assert(s > 5000 && s < 5300, "share %ld", s);
    cr_assert_eq(fdplan_share(3, 2, true), 3, "never more than all of them");
}
