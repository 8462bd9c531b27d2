/* placement: which CPUs the server, the load generator and a backend get (a pure planner). */
#ifndef TVT_PLACEMENT_H
#define TVT_PLACEMENT_H

#include <stdbool.h>
#include <stddef.h>

#define PLACE_MAX_CPUS 1024 /* CPU_SETSIZE */

/* A set of CPU numbers, ascending, no duplicates. */
struct cpu_list {
    int n;
    int cpu[PLACE_MAX_CPUS];
};

/* What a run asks for. Lists are NULL when not given. */
struct place_req {
    const int *allowed; /* the CPUs this process may use (sched_getaffinity), any order */
    int nallowed;
    int server_k;                   /* --server-cpus K; 0: the default, half of them, at least 1 */
    const struct cpu_list *server;  /* --server-cpu N: this exact set (K = its size) */
    const struct cpu_list *client;  /* --client-cpus LIST / --client-cpu N */
    const struct cpu_list *backend; /* --backend-cpus LIST */
    bool server_unpinned;           /* --server-cpu none: K CPUs are still kept for it */
    bool client_unpinned;           /* --client-cpu none */
    bool server_external; /* `harness load`: no server of ours; the first K CPUs are only left
                             free for the one the user runs, never checked for overlap */
    bool need_backend;    /* the run starts a backend server (io=net) */
    bool allow_overlap;   /* --allow-overlap */
    const char *server_flag, *client_flag; /* named in errors; NULL: --server-cpu, --client-cpus */
};

/* The plan. An empty set means "not pinned" (or, for the backend, no backend). */
struct placement {
    struct cpu_list allowed, server, client, backend;
    int server_k;       /* CPUs planned for the server (its loops, --workers) */
    bool overlap;       /* the server's CPUs are shared with the generator or the backend */
    bool server_pinned; /* the harness pins a server it starts to `server` */
    bool client_pinned;
    char note[240]; /* what the plan had to decide, "" if nothing worth saying */
};

/* The plan, by these rules: the server gets the K lowest allowed CPUs; the generator the rest,
 * never fewer than the server where the machine allows; a backend gets CPUs of its own (at most
 * K, the highest ones) only when more than K are left after the server, else it shares the
 * generator's. Overlapping server and generator (or backend) sets need allow_overlap, except on
 * a one-CPU machine where they cannot be avoided; overlap is then true. Explicit lists replace
 * the planned set. 0 ok; -1 with a message naming the CPUs and the fix in err. Pure. */
int place_plan(const struct place_req *rq, struct placement *out, char *err, size_t errlen);

/* Parses a taskset-style list ("0-3,6", "5") into out (sorted, duplicates merged). 0 ok; -1
 * with the cause in err (flag names the option in the message). */
int place_parse_list(const char *flag, const char *s, struct cpu_list *out, char *err,
                     size_t errlen);

/* Formats l as a taskset-style list ("0-3,6"; "" when empty) into buf. Returns buf. */
char *place_format(const struct cpu_list *l, char *buf, size_t len);

/* true if a and b share a CPU. */
bool place_intersects(const struct cpu_list *a, const struct cpu_list *b);

#endif
