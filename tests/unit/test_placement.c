/* Unit tests for harness/placement: the CPU plan on made-up machines (1, 2, 3, 16, 64 CPUs and
 * a set with holes), its overrides and its refusals; taskset-style lists. */
#include <criterion/criterion.h>
#include <string.h>

#include "../../harness/plan/placement.h"

enum {
    BACKEND = 1,  /* the run starts a backend server */
    ALLOW = 2,    /* --allow-overlap */
    SRV_NONE = 4, /* --server-cpu none */
    CLI_NONE = 8, /* --client-cpu none */
    LOAD = 16,    /* harness load: the server is not ours */
};

struct plan_case {
    const char *allowed;                   /* the machine, as a list */
    int k;                                 /* --server-cpus; 0 default */
    const char *server, *client, *backend; /* explicit lists, NULL when not given */
    unsigned flags;
    /* expected sets ("" = empty), or want_server NULL: an error mentioning err1 and err2 */
    const char *want_server, *want_client, *want_backend;
    bool overlap;
    const char *err1, *err2;
};

static const struct plan_case CASES[] = {
    /* 1 CPU: nothing to split; the server and the generator share it, flagged */
    {"0", 0, NULL, NULL, NULL, 0, "0", "0", "", true, NULL, NULL},
    /* 1 CPU, explicit K=1 and a backend: all three on the one CPU */
    {"0", 1, NULL, NULL, NULL, BACKEND, "0", "0", "0", true, NULL, NULL},
    /* 1 CPU, K=2: cannot be given */
    {"0", 2, NULL, NULL, NULL, 0, NULL, NULL, NULL, false, "--server-cpus 2", "at most 1"},
    /* 2 CPUs (this machine): server 0, generator 1 */
    {"0-1", 0, NULL, NULL, NULL, 0, "0", "1", "", false, NULL, NULL},
    /* 2 CPUs with a backend: it shares the generator's CPU */
    {"0-1", 0, NULL, NULL, NULL, BACKEND, "0", "1", "1", false, NULL, NULL},
    /* 2 CPUs, K=2: none left for the generator, refused with the fix named */
    {"0-1", 2, NULL, NULL, NULL, 0, NULL, NULL, NULL, false, "0-1", "--allow-overlap"},
    /* 2 CPUs, K=2 with --allow-overlap: the generator shares both */
    {"0-1", 2, NULL, NULL, NULL, ALLOW, "0-1", "0-1", "", true, NULL, NULL},
    /* 2 CPUs, K=3: more than the machine has, even with --allow-overlap */
    {"0-1", 3, NULL, NULL, NULL, ALLOW, NULL, NULL, NULL, false, "--server-cpus 3", "at most 2"},
    /* 3 CPUs: K defaults to 1, the generator gets the other two */
    {"0-2", 0, NULL, NULL, NULL, 0, "0", "1-2", "", false, NULL, NULL},
    /* 3 CPUs with a backend: one more than K is left, so the backend gets its own */
    {"0-2", 0, NULL, NULL, NULL, BACKEND, "0", "1", "2", false, NULL, NULL},
    /* 16 CPUs: half and half */
    {"0-15", 0, NULL, NULL, NULL, 0, "0-7", "8-15", "", false, NULL, NULL},
    /* 16 CPUs with a backend: the generator's 8 are all that is left: shared */
    {"0-15", 0, NULL, NULL, NULL, BACKEND, "0-7", "8-15", "8-15", false, NULL, NULL},
    /* 16 CPUs, K=4: the generator takes all 12 others */
    {"0-15", 4, NULL, NULL, NULL, 0, "0-3", "4-15", "", false, NULL, NULL},
    /* 16 CPUs, K=4 with a backend: generator 8 (at least K), backend K of its own */
    {"0-15", 4, NULL, NULL, NULL, BACKEND, "0-3", "4-11", "12-15", false, NULL, NULL},
    /* 16 CPUs, K=12: the generator gets the 4 left (fewer than K, as asked) */
    {"0-15", 12, NULL, NULL, NULL, 0, "0-11", "12-15", "", false, NULL, NULL},
    /* 64 CPUs: half and half */
    {"0-63", 0, NULL, NULL, NULL, 0, "0-31", "32-63", "", false, NULL, NULL},
    /* 64 CPUs, K=16 with a backend: 48 left, generator 32, backend 16 */
    {"0-63", 16, NULL, NULL, NULL, BACKEND, "0-15", "16-47", "48-63", false, NULL, NULL},
    /* holes (2,3,6,7): the lowest two to the server, the other two to the generator */
    {"2-3,6-7", 0, NULL, NULL, NULL, 0, "2-3", "6-7", "", false, NULL, NULL},
    /* holes with a backend: shares the generator's */
    {"7,6,3,2", 0, NULL, NULL, NULL, BACKEND, "2-3", "6-7", "6-7", false, NULL, NULL},
    /* holes, K=1 with a backend: generator 3,6, backend 7 */
    {"2-3,6-7", 1, NULL, NULL, NULL, BACKEND, "2", "3,6", "7", false, NULL, NULL},
    /* holes: a CPU in a hole is not available */
    {"2-3,6-7", 0, NULL, "4", NULL, 0, NULL, NULL, NULL, false, "CPU 4", "2-3,6-7"},
    /* --client-cpus overrides the plan */
    {"0-15", 0, NULL, "8-9", NULL, 0, "0-7", "8-9", "", false, NULL, NULL},
    /* --client-cpus with a backend: the backend gets CPUs nobody took, at most K */
    {"0-15", 0, NULL, "8-9", NULL, BACKEND, "0-7", "8-9", "10-15", false, NULL, NULL},
    /* --client-cpus on the server's CPU: refused, naming the shared CPU and the fix */
    {"0-1", 0, NULL, "0-1", NULL, 0, NULL, NULL, NULL, false, "CPU 0", "--allow-overlap"},
    /* the same with --allow-overlap: done and flagged */
    {"0-1", 0, NULL, "0-1", NULL, ALLOW, "0", "0-1", "", true, NULL, NULL},
    /* --backend-cpus overrides the plan */
    {"0-2", 0, NULL, NULL, "1", BACKEND, "0", "1-2", "1", false, NULL, NULL},
    /* --backend-cpus on the server's CPU: refused unless asked for */
    {"0-1", 0, NULL, NULL, "0", BACKEND, NULL, NULL, NULL, false, "--backend-cpus", "CPU 0"},
    {"0-1", 0, NULL, NULL, "0", BACKEND | ALLOW, "0", "1", "0", true, NULL, NULL},
    /* --backend-cpus without a backend in the run */
    {"0-1", 0, NULL, NULL, "1", 0, NULL, NULL, NULL, false, "--backend-cpus", "no backend"},
    /* the legacy --server-cpu 1: a one-CPU server set; the generator gets the rest */
    {"0-1", 0, "1", NULL, NULL, 0, "1", "0", "", false, NULL, NULL},
    /* legacy --server-cpu 1 --client-cpu 1: a shared CPU still needs --allow-overlap */
    {"0-3", 0, "1", "1", NULL, 0, NULL, NULL, NULL, false, "CPU 1", "--allow-overlap"},
    /* --server-cpu none: not pinned, one CPU still kept free of the generator */
    {"0-1", 0, NULL, NULL, NULL, SRV_NONE, "", "1", "", false, NULL, NULL},
    /* --client-cpu none: the generator runs anywhere */
    {"0-1", 0, NULL, NULL, NULL, CLI_NONE, "0", "", "", false, NULL, NULL},
    /* harness load: no server of ours, the generator leaves the first K CPUs free */
    {"0-15", 0, NULL, NULL, NULL, LOAD, "", "8-15", "", false, NULL, NULL},
    /* harness load on CPU 0 is no overlap: nothing of ours runs there */
    {"0-1", 0, NULL, "0", NULL, LOAD, "", "0", "", false, NULL, NULL},
    /* harness load on one CPU */
    {"0", 0, NULL, NULL, NULL, LOAD, "", "0", "", false, NULL, NULL},
};

static void list_of(const char *s, struct cpu_list *l)
{
    char err[256];
    cr_assert_eq(place_parse_list("test", s, l, err, sizeof err), 0, "%s", err);
}

Test(placement, plans_every_case)
{
    static struct cpu_list allowed, server, client, backend;
    static struct placement p;
    char got[256], err[512];
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        const struct plan_case *c = &CASES[i];
        list_of(c->allowed, &allowed);
        if (c->server)
            list_of(c->server, &server);
        if (c->client)
            list_of(c->client, &client);
        if (c->backend)
            list_of(c->backend, &backend);
        struct place_req rq = {
            .allowed = allowed.cpu,
            .nallowed = allowed.n,
            .server_k = c->k,
            .server = c->server ? &server : NULL,
            .client = c->client ? &client : NULL,
            .backend = c->backend ? &backend : NULL,
            .need_backend = c->flags & BACKEND,
            .allow_overlap = c->flags & ALLOW,
            .server_unpinned = c->flags & SRV_NONE,
            .client_unpinned = c->flags & CLI_NONE,
            .server_external = c->flags & LOAD,
        };
        err[0] = '\0';
        int rc = place_plan(&rq, &p, err, sizeof err);
        if (!c->want_server) {
            cr_assert_eq(rc, -1, "case %zu (%s, K=%d): accepted", i, c->allowed, c->k);
            cr_assert(strstr(err, c->err1), "case %zu: '%s' lacks '%s'", i, err, c->err1);
            cr_assert(strstr(err, c->err2), "case %zu: '%s' lacks '%s'", i, err, c->err2);
            continue;
        }
        cr_assert_eq(rc, 0, "case %zu (%s, K=%d): %s", i, c->allowed, c->k, err);
        cr_assert_str_eq(place_format(&p.server, got, sizeof got), c->want_server,
                         "case %zu: server", i);
        cr_assert_str_eq(place_format(&p.client, got, sizeof got), c->want_client,
                         "case %zu: client", i);
        cr_assert_str_eq(place_format(&p.backend, got, sizeof got), c->want_backend,
                         "case %zu: backend", i);
        cr_assert_eq(p.overlap, c->overlap, "case %zu: overlap %d", i, p.overlap);
        cr_assert_eq(p.allowed.n, allowed.n, "case %zu: cpus_allowed", i);
        cr_assert_eq(p.server_pinned, !(c->flags & (SRV_NONE | LOAD)), "case %zu", i);
        cr_assert_eq(p.client_pinned, !(c->flags & CLI_NONE), "case %zu", i);
        /* K is what the server was given, or kept for it */
        if (c->k)
            cr_assert_eq(p.server_k, c->k, "case %zu: server_k", i);
        else if (!(c->flags & (SRV_NONE | LOAD)))
            cr_assert_eq(p.server_k, p.server.n, "case %zu: server_k", i);
    }
}

Test(placement, default_k_is_half_at_least_one)
{
    static struct cpu_list allowed;
    static struct placement p;
    char err[256];
    /* n CPUs -> K: 1 -> 1, 2 -> 1, 3 -> 1, 5 -> 2, 64 -> 32 */
    const struct {
        const char *cpus;
        int k;
    } t[] = {{"0", 1}, {"0-1", 1}, {"0-2", 1}, {"0-4", 2}, {"0-63", 32}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        list_of(t[i].cpus, &allowed);
        struct place_req rq = {.allowed = allowed.cpu, .nallowed = allowed.n};
        cr_assert_eq(place_plan(&rq, &p, err, sizeof err), 0, "%s", err);
        cr_assert_eq(p.server_k, t[i].k, "%s: K %d", t[i].cpus, p.server_k);
        /* the generator never gets fewer than the server where the machine allows */
        if (allowed.n > 1)
            cr_assert_geq(p.client.n, p.server_k, "%s", t[i].cpus);
    }
}

Test(placement, notes_say_what_was_decided)
{
    static struct cpu_list allowed;
    static struct placement p;
    char err[256];
    list_of("0", &allowed);
    struct place_req rq = {.allowed = allowed.cpu, .nallowed = allowed.n};
    cr_assert_eq(place_plan(&rq, &p, err, sizeof err), 0);
    cr_assert(strstr(p.note, "one CPU"), "note: %s", p.note);
    list_of("0-15", &allowed);
    rq = (struct place_req){.allowed = allowed.cpu, .nallowed = allowed.n, .server_k = 12};
    cr_assert_eq(place_plan(&rq, &p, err, sizeof err), 0);
    cr_assert(strstr(p.note, "fewer than the server's 12"), "note: %s", p.note);
    rq.server_k = 0;
    cr_assert_eq(place_plan(&rq, &p, err, sizeof err), 0);
    cr_assert_str_eq(p.note, "", "a plain split needs no note: %s", p.note);
}

struct list_case {
    const char *text;
    const char *want; /* formatted back; NULL: rejected */
};

static const struct list_case LISTS[] = {
    {"0-3,6", "0-3,6"},    /* taskset's own example */
    {"5", "5"},            /* one CPU */
    {"3,1,1,2", "1-3"},    /* any order, duplicates merged, runs joined */
    {"0,2,4", "0,2,4"},    /* no runs */
    {"1023", "1023"},      /* the last CPU a cpu_set_t holds */
    {"", NULL},            /* empty */
    {"a", NULL},           /* not a number */
    {"3-1", NULL},         /* a backwards range */
    {"1,", NULL},          /* a trailing comma */
    {"-1", NULL},          /* negative */
    {"1-", NULL},          /* an open range */
    {"1024", NULL},        /* past CPU_SETSIZE */
    {"0 1", NULL},         /* spaces */
    {"99999999999", NULL}, /* overflow */
};

Test(placement, parses_and_formats_taskset_lists)
{
    static struct cpu_list l;
    char err[256], got[256];
    for (size_t i = 0; i < sizeof LISTS / sizeof LISTS[0]; i++) {
        int rc = place_parse_list("--client-cpus", LISTS[i].text, &l, err, sizeof err);
        if (!LISTS[i].want) {
            cr_assert_eq(rc, -1, "'%s' accepted", LISTS[i].text);
            cr_assert(strstr(err, "--client-cpus"), "'%s': %s", LISTS[i].text, err);
            continue;
        }
        cr_assert_eq(rc, 0, "'%s': %s", LISTS[i].text, err);
        cr_assert_str_eq(place_format(&l, got, sizeof got), LISTS[i].want);
    }
}
