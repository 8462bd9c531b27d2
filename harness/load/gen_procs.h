/* gen_procs: the state of a generator run as processes (gen_procs.c drives them, gen_spawn.c
 * starts them). Not an API: gen.h is. */
#ifndef TVT_GEN_PROCS_H
#define TVT_GEN_PROCS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "hosts/remote.h"
#include "load/gen.h"
#include "load/wire.h"

#define START_WAIT_MS  10000 /* a child's load_start: thread and loop creation only */
#define HOST_WAIT_MS   30000 /* a host's: its ssh session, its own processes too */
#define RESULT_WAIT_MS 60000 /* closing 20k connections takes a while under sanitizers */

struct child {
    pid_t pid;       /* a forked one; -1 */
    struct rproc rp; /* a host's `harness gen` (rp.pid > 0) */
    bool remote;
    int to_fd;   /* parent -> child: commands */
    int from_fd; /* child -> parent: status, results, acks */
    struct wire_rx rx;
    int conns;        /* its share */
    int share;        /* its host's index in shares */
    int64_t shift_ns; /* its clock onto this one's */
    struct wire_status last;
};

struct procs {
    int n, conns;
    struct child *kids;
    struct gen_share *shares;
    int nshares;
    bool own_shares; /* gen_start's one share of this machine: freed with it */
    bool stopping;   /* closed streams are expected now */
};

/* Who child k is, in messages: "host c1" or "generator process 3". Returns buf. */
const char *procs_who(const struct procs *p, int k, char *buf, size_t len);

/* The last line a host's side wrote on its stderr as ": ..." (or ""). Returns buf. */
const char *procs_last_words(struct rproc *rp, char *buf, size_t len);

/* Ends every child and frees p. */
void procs_free(struct procs *p);

/* The driving side's table (gen_procs.c). */
extern const struct gen_ops PROCS_OPS;

#endif
