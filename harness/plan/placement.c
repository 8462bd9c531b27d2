/* placement: which CPUs the server, the load generator and a backend get (a pure planner). */
#include "plan/placement.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* Sorts l and merges duplicates. */
static void normalize(struct cpu_list *l)
{
    qsort(l->cpu, (size_t)l->n, sizeof l->cpu[0], cmp_int);
    int k = 0;
    for (int i = 0; i < l->n; i++)
        if (k == 0 || l->cpu[i] != l->cpu[k - 1])
            l->cpu[k++] = l->cpu[i];
    l->n = k;
}

static bool contains(const struct cpu_list *l, int cpu)
{
    for (int i = 0; i < l->n; i++)
        if (l->cpu[i] == cpu)
            return true;
    return false;
}

bool place_intersects(const struct cpu_list *a, const struct cpu_list *b)
{
    for (int i = 0; i < a->n; i++)
        if (contains(b, a->cpu[i]))
            return true;
    return false;
}

/* out = a minus b (or a and b when keep_common) */
static void subtract(const struct cpu_list *a, const struct cpu_list *b, bool keep_common,
                     struct cpu_list *out)
{
    int n = 0;
    for (int i = 0; i < a->n; i++)
        if (contains(b, a->cpu[i]) == keep_common)
            out->cpu[n++] = a->cpu[i];
    out->n = n;
}

char *place_format(const struct cpu_list *l, char *buf, size_t len)
{
    size_t off = 0;
    buf[0] = '\0';
    for (int i = 0; i < l->n && off < len; i++) {
        int j = i;
        while (j + 1 < l->n && l->cpu[j + 1] == l->cpu[j] + 1)
            j++;
        int w =
            j > i ? snprintf(buf + off, len - off, "%s%d-%d", off ? "," : "", l->cpu[i], l->cpu[j])
                  : snprintf(buf + off, len - off, "%s%d", off ? "," : "", l->cpu[i]);
        if (w < 0)
            break;
        off += (size_t)w;
        i = j;
    }
    return buf;
}

static int parse_cpu_num(const char *s, char **end)
{
    if (*s < '0' || *s > '9')
        return -1;
    errno = 0;
    long v = strtol(s, end, 10);
    return errno || v >= PLACE_MAX_CPUS ? -1 : (int)v;
}

int place_parse_list(const char *flag, const char *s, struct cpu_list *out, char *err,
                     size_t errlen)
{
    const char *p = s;
    out->n = 0;
    for (;;) {
        char *end;
        int lo = parse_cpu_num(p, &end), hi = lo;
        if (lo >= 0 && *end == '-')
            hi = parse_cpu_num(end + 1, &end);
        if (lo < 0 || hi < lo || (*end != ',' && *end != '\0')) {
            snprintf(err, errlen,
                     "%s '%s': expected a list of CPU numbers below %d such as 0-3,6 (as "
                     "taskset -c takes)",
                     flag, s, PLACE_MAX_CPUS);
            return -1;
        }
        for (int c = lo; c <= hi; c++)
            if (out->n < PLACE_MAX_CPUS)
                out->cpu[out->n++] = c;
        if (*end == '\0')
            break;
        p = end + 1;
    }
    normalize(out);
    return 0;
}

/* Every CPU of l must be one this process may use. */
static int check_allowed(const char *flag, const struct cpu_list *l, const struct cpu_list *allowed,
                         char *err, size_t errlen)
{
    char a[256], b[256];
    for (int i = 0; i < l->n; i++)
        if (!contains(allowed, l->cpu[i])) {
            snprintf(err, errlen,
                     "%s %s: CPU %d is not one this process may use (allowed: %s; see taskset "
                     "or the cgroup's cpuset)",
                     flag, place_format(l, a, sizeof a), l->cpu[i],
                     place_format(allowed, b, sizeof b));
            return -1;
        }
    return 0;
}

static void add_note(struct placement *p, const char *text)
{
    size_t n = strlen(p->note);
    snprintf(p->note + n, sizeof p->note - n, "%s%s", n ? "; " : "", text);
}

/* An explicit set that shares CPUs with the server's: refused unless asked for. */
static int check_overlap(const char *flag, const struct cpu_list *l, const struct placement *p,
                         bool allowed_to, char *err, size_t errlen)
{
    struct cpu_list common;
    char a[256], b[256], c[256];
    subtract(l, &p->server, true, &common);
    if (common.n == 0 || allowed_to)
        return 0;
    snprintf(err, errlen,
             "%s %s shares CPU %s with the server's CPUs %s: choose CPUs outside %s, or add "
             "--allow-overlap to share them (the result then says overlap: true)",
             flag, place_format(l, a, sizeof a), place_format(&common, c, sizeof c),
             place_format(&p->server, b, sizeof b), b);
    return -1;
}

/* The server: an exact set, or the K lowest allowed CPUs. */
static int plan_server(const struct place_req *rq, struct placement *p, char *err, size_t errlen)
{
    char a[256];
    int n = p->allowed.n;
    if (rq->server) {
        if (check_allowed(rq->server_flag ? rq->server_flag : "--server-cpu", rq->server,
                          &p->allowed, err, errlen) < 0)
            return -1;
        p->server = *rq->server;
    } else {
        int k = rq->server_k > 0 ? rq->server_k : rq->server_unpinned ? 1 : n / 2 > 0 ? n / 2 : 1;
        if (k > n) {
            snprintf(err, errlen,
                     "--server-cpus %d: this process may use only %d CPU%s (%s): ask for at most "
                     "%d",
                     k, n, n == 1 ? "" : "s", place_format(&p->allowed, a, sizeof a), n);
            return -1;
        }
        p->server.n = k;
        memcpy(p->server.cpu, p->allowed.cpu, (size_t)k * sizeof p->server.cpu[0]);
    }
    p->server_k = p->server.n;
    return 0;
}

/* The generator: its own list, or the rest (*planned then), or the server's CPUs where that is
 * allowed. */
static int plan_client(const struct place_req *rq, const struct cpu_list *rest, struct placement *p,
                       bool *planned, char *err, size_t errlen)
{
    char a[256], text[200];
    const char *cflag = rq->client_flag ? rq->client_flag : "--client-cpus";
    bool one_cpu = p->allowed.n == 1;
    int k = p->server_k;
    *planned = false;
    if (rq->client_unpinned) {
        p->client.n = 0;
    } else if (rq->client) {
        if (check_allowed(cflag, rq->client, &p->allowed, err, errlen) < 0)
            return -1;
        p->client = *rq->client;
    } else if (rest->n > 0) {
        p->client = *rest;
        *planned = true;
    } else if (one_cpu || rq->server_external || rq->allow_overlap) {
        p->client = p->allowed;
        if (!one_cpu && !rq->server_external) {
            snprintf(text, sizeof text,
                     "the server's %d CPUs leave none for the generator: it shares them, as "
                     "--allow-overlap asks",
                     k);
            add_note(p, text);
        }
    } else {
        snprintf(err, errlen,
                 "--server-cpus %d takes every CPU this process may use (%s), leaving none for "
                 "the load generator: ask for at most %d, give the generator its own with "
                 "--client-cpus, or add --allow-overlap to share them",
                 k, place_format(&p->allowed, a, sizeof a), p->allowed.n - 1);
        return -1;
    }
    return 0;
}

/* The backend: its own list, CPUs left beyond the generator's share, or the generator's. */
static int plan_backend(const struct place_req *rq, const struct cpu_list *rest,
                        bool planned_client, struct placement *p, char *err, size_t errlen)
{
    int k = p->server_k;
    if (rq->backend && !rq->need_backend) {
        snprintf(err, errlen,
                 "--backend-cpus: this run starts no backend server (only a run whose requests "
                 "wait on the network does)");
        return -1;
    }
    if (!rq->need_backend)
        return 0;
    if (rq->backend) {
        if (check_allowed("--backend-cpus", rq->backend, &p->allowed, err, errlen) < 0)
            return -1;
        p->backend = *rq->backend;
    } else if (planned_client && rest->n > k) {
        /* the generator keeps at least K; the backend takes at most K of the others */
        int nb = rest->n - k < k ? rest->n - k : k;
        p->backend.n = nb;
        memcpy(p->backend.cpu, rest->cpu + rest->n - nb, (size_t)nb * sizeof rest->cpu[0]);
        p->client.n = rest->n - nb;
    } else {
        struct cpu_list left;
        subtract(rest, &p->client, false, &left);
        if (!planned_client && left.n > 0) {
            p->backend.n = left.n < k ? left.n : k;
            memcpy(p->backend.cpu, left.cpu, (size_t)p->backend.n * sizeof left.cpu[0]);
        } else if (p->client.n > 0) {
            p->backend = p->client;
        } else {
            p->backend = rest->n > 0 ? *rest : p->allowed;
        }
    }
    return 0;
}

/* Overlap only where asked for, or where one CPU leaves no choice; the notes the plan needs. */
static int plan_overlap(const struct place_req *rq, bool planned_client, struct placement *p,
                        char *err, size_t errlen)
{
    char a[256], b[256], text[200];
    const char *cflag = rq->client_flag ? rq->client_flag : "--client-cpus";
    bool one_cpu = p->allowed.n == 1, external = rq->server_external || rq->server_unpinned;
    int k = p->server_k;
    p->server_pinned = !external;
    p->client_pinned = p->client.n > 0;
    if (!external) {
        bool asked = rq->allow_overlap || one_cpu;
        if (rq->client && check_overlap(cflag, rq->client, p, asked, err, errlen) < 0)
            return -1;
        if (rq->backend && check_overlap("--backend-cpus", rq->backend, p, asked, err, errlen) < 0)
            return -1;
        p->overlap =
            place_intersects(&p->server, &p->client) || place_intersects(&p->server, &p->backend);
        if (p->overlap && one_cpu) {
            snprintf(text, sizeof text, "one CPU: the server shares CPU %d with the generator",
                     p->allowed.cpu[0]);
            add_note(p, text);
        }
    }
    if (planned_client && p->client.n < k) {
        snprintf(text, sizeof text,
                 "the generator has %d CPU%s (%s), fewer than the server's %d: --server-cpus "
                 "leaves no more",
                 p->client.n, p->client.n == 1 ? "" : "s", place_format(&p->client, a, sizeof a),
                 k);
        add_note(p, text);
    }
    if (external) {
        /* K CPUs were kept free for it, but nothing of ours runs there */
        if (rq->server_external && k > 0) {
            snprintf(text, sizeof text, "CPUs %s left free for the server under test",
                     place_format(&p->server, b, sizeof b));
            add_note(p, text);
        }
        p->server.n = 0;
    }
    return 0;
}

int place_plan(const struct place_req *rq, struct placement *p, char *err, size_t errlen)
{
    struct cpu_list rest;
    bool planned_client;
    memset(p, 0, sizeof *p);
    for (int i = 0; i < rq->nallowed && p->allowed.n < PLACE_MAX_CPUS; i++)
        if (rq->allowed[i] >= 0 && rq->allowed[i] < PLACE_MAX_CPUS)
            p->allowed.cpu[p->allowed.n++] = rq->allowed[i];
    normalize(&p->allowed);
    if (p->allowed.n == 0) {
        snprintf(err, errlen, "this process may run on no CPU (sched_getaffinity)");
        return -1;
    }
    if (plan_server(rq, p, err, errlen) < 0)
        return -1;
    subtract(&p->allowed, &p->server, false, &rest);
    if (plan_client(rq, &rest, p, &planned_client, err, errlen) < 0 ||
        plan_backend(rq, &rest, planned_client, p, err, errlen) < 0)
        return -1;
    return plan_overlap(rq, planned_client, p, err, errlen);
}
