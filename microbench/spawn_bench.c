/* spawn_bench: memory and time to create, hold and tear down N waiting tasks or threads.
 *
 * JSON written by --json FILE (schema; microbench/SCHEMA.md has all files):
 *   bench        "spawn"
 *   kind         "task-timer" | "task-io" | "thread-cond" | "thread-pipe"
 *   unit         "task" | "thread"
 *   params       {counts:[N..], stack_kib (asked, 0 = default), stack_kib_effective
 *                 (threads; null for tasks), state_bytes, hold_ms, until_failure}
 *   env          sysenv_json(): machine, limits, versions, date
 *   baseline     this process before any unit: {rss_kib, vsz_kib, pss_kib, rss_anon_kib,
 *                 threads}
 *   points[]     one per N, ascending: {requested, created, ready, torn_down,
 *                 create_ns, ready_ns, teardown_ns, create_ns_per_unit, ready_ns_per_unit,
 *                 teardown_ns_per_unit, rss_kib, vsz_kib, pss_kib, rss_anon_kib, threads,
 *                 rss_delta_kib, vsz_delta_kib, pss_delta_kib, rss_anon_delta_kib
 *                 (vs baseline), rss_bytes_per_unit, vsz_bytes_per_unit, pss_bytes_per_unit,
 *                 kernel_stack_delta_kib, sunreclaim_delta_kib (system-wide, just before
 *                 creation vs at steady state), kernel_stack_bytes_per_unit,
 *                 sunreclaim_bytes_per_unit, failure (null or {call, errno, error, at_unit,
 *                 wall: see microbench/wall.h})}
 *   slope        least squares over the points with created > 0, bytes (or ns) per unit:
 *                {points_used, rss_bytes_per_unit, vsz_bytes_per_unit, pss_bytes_per_unit,
 *                 rss_anon_bytes_per_unit, kernel_stack_bytes_per_unit,
 *                 sunreclaim_bytes_per_unit, create_ns_per_unit, teardown_ns_per_unit}
 *   totals       {created, torn_down, all_torn_down}
 *   wall         null, or the first creation failure: {requested, created, call, errno,
 *                 error, limit_hit, limits}
 *   ok           true when every point created all its units and every unit was torn down
 *                (with --until-failure a creation failure is the expected end, still ok)
 */
#include "jsonfile.h"
#include "mbutil.h"
#include "procfs.h"
#include "spawn_json.h"
#include "wall.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Per-unit state each unit writes. 256 bytes is what a waiting connection keeps besides
   its I/O buffers: parser state, a few timestamps, counters, peer address, pointers. Both
   designs need those buffers equally, so they are left out: C1 is about the overhead of
   the unit itself. Change it with --state-bytes. */
#define DEFAULT_STATE_BYTES 256

struct opts {
    struct spawn_cfg cfg;
    struct mb_counts counts;
    uint32_t hold_ms;
    bool until_failure;
    const char *json_path;
};

/* enum spawn_kind's names, then two aliases: task = task-timer, thread = thread-cond. */
static const char *const kind_names[] = {"task-timer", "task-io", "thread-cond", "thread-pipe",
                                         "task",       "thread",  NULL};

/* Descriptors held back so that /proc can still be read, and the wall diagnosed, when the
   units have used every fd (task-io at RLIMIT_NOFILE). */
static int reserve_fd[3] = {-1, -1, -1};

static void reserve_take(void)
{
    for (int i = 0; i < 3; i++)
        if (reserve_fd[i] < 0)
            reserve_fd[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

static void reserve_release(void)
{
    for (int i = 0; i < 3; i++) {
        if (reserve_fd[i] >= 0)
            close(reserve_fd[i]);
        reserve_fd[i] = -1;
    }
}

static bool is_thread(enum spawn_kind k)
{
    return k == SPAWN_THREAD_COND || k == SPAWN_THREAD_PIPE;
}

static int parse_kind(const struct opt *o, const char *arg, void *field, char *err, size_t errlen)
{
    (void)o;
    int k = opts_choice(kind_names, arg, err, errlen);
    if (k < 0)
        return -1;
    *(enum spawn_kind *)field = k == 4 ? SPAWN_TASK_TIMER : k == 5 ? SPAWN_THREAD_COND : k;
    return 0;
}

/* --count N: the list of one. */
static int parse_count(const struct opt *o, const char *arg, void *field, char *err, size_t errlen)
{
    struct mb_counts *c = field;
    uint64_t n;
    if (mb_opt_count(o, arg, &n, err, errlen) < 0)
        return -1;
    c->v[0] = n;
    c->n = 1;
    return 0;
}

#define F(member) offsetof(struct opts, member)

static const struct opt ROWS[] = {
    {"kind", OPT_CUSTOM, F(cfg.kind), .parse = parse_kind, .meta = "KIND",
     .help = "task-timer  heap struct + ev_timer far in the future (one loop)\n"
             "task-io     heap struct + ev_io on a socketpair (2 fds/unit)\n"
             "thread-cond pthread blocked on a condition variable\n"
             "thread-pipe pthread blocked in read() on a shared pipe\n"
             "task = task-timer, thread = thread-cond (default: task)"},
    {"count", OPT_CUSTOM, F(counts), .parse = parse_count, .min = 1, .max = 1e8, .meta = "N",
     .help = "one N, {range} (accepts 10k, 1M)"},
    {"counts", OPT_CUSTOM, F(counts), .parse = mb_opt_counts, .min = 1, .max = 1e8, .meta = "LIST",
     .help = "several N, ascending, in one run: memory per unit is the slope"},
    {"stack-kib", OPT_SIZE, F(cfg.stack_kib), .max = 1 << 20, .meta = "K",
     .help = "thread stack size in KiB, {range} (default: the system default)"},
    {"state-bytes", OPT_SIZE, F(cfg.state_bytes), .max = 1 << 20, .meta = "B",
     .help = "per-unit state each unit writes, {range} (default {default})"},
    {"hold-ms", OPT_UINT32, F(hold_ms), .max = 3600000, .meta = "MS",
     .help = "hold the units this long at steady state, {range} (default {default})"},
    {"until-failure", OPT_FLAG, F(until_failure),
     .help = "a creation failure ends the run normally (the thread wall)"},
    MB_OPT_ROWS_END(F(json_path)),
};

static const struct opts_table TABLE = {.rows = ROWS};

static void set_defaults(struct opts *o)
{
    *o = (struct opts){.cfg = {.kind = SPAWN_TASK_TIMER, .state_bytes = DEFAULT_STATE_BYTES}};
}

static void usage(FILE *f)
{
    struct opts defaults;
    set_defaults(&defaults);
    fputs("usage: spawn_bench [--kind KIND] (--count N | --counts N1,N2,...) [options]\n"
          "Creates N waiting units, holds them, measures memory, tears them down.\n",
          f);
    opts_usage(f, &TABLE, 0, &defaults);
    fputs("Exit: 0 ok, 1 runtime failure (units not created or not torn down), 2 usage.\n", f);
}

/* What the flags cannot say one by one. 0 ok; -1 with the reason in err. */
static int check_opts(const struct opts *o, char *err, size_t errlen)
{
    if (o->counts.n == 0) {
        snprintf(err, errlen, "say how many units: --count N or --counts N1,N2,...");
        return -1;
    }
    for (int i = 1; i < o->counts.n; i++)
        if (o->counts.v[i] <= o->counts.v[i - 1]) {
            /* Ascending, so memory freed by one point is reused by the next rather than
               hiding in the baseline. */
            snprintf(err, errlen, "--counts must be ascending");
            return -1;
        }
    if (!is_thread(o->cfg.kind))
        return 0;
    long min = sysconf(_SC_THREAD_STACK_MIN);
    if (o->cfg.stack_kib && min > 0 && o->cfg.stack_kib * 1024 < (size_t)min) {
        snprintf(err, errlen, "--stack-kib %zu is below this system's minimum of %ld KiB",
                 o->cfg.stack_kib, (min + 1023) / 1024);
        return -1;
    }
    size_t stack = spawn_threads_stack_kib(&o->cfg) * 1024;
    if (stack && o->cfg.state_bytes > stack / 2) {
        snprintf(err, errlen,
                 "--state-bytes %zu does not fit a %zu KiB stack; use at most half the stack",
                 o->cfg.state_bytes, stack / 1024);
        return -1;
    }
    return 0;
}

static enum opts_result parse_opts(int argc, char **argv, struct opts *o, char *err, size_t errlen)
{
    set_defaults(o);
    enum opts_result r = opts_parse(&TABLE, 0, argc, argv, o, NULL, err, errlen);
    if (r == OPTS_OK && check_opts(o, err, errlen) < 0)
        r = OPTS_ERROR;
    return r;
}

static double per_unit(double total, size_t n)
{
    return n ? total / (double)n : 0;
}

/* One create / measure / teardown cycle. 0 when the units were made (maybe fewer than
   asked, see p->r.err), -1 when nothing could be set up. */
static int run_point(const struct opts *o, uint64_t n, struct spawn_point *p)
{
    memset(p, 0, sizeof *p);
    p->r.requested = (size_t)n;
    p->pss_kib = -1;
    procfs_read_meminfo(&p->sys_before);

    struct spawn_set *s = is_thread(o->cfg.kind) ? spawn_threads_create(&o->cfg, &p->r)
                                                 : spawn_tasks_create(&o->cfg, &p->r);
    if (!s)
        return -1;
    /* Diagnose first: the figures that explain a wall move as soon as anything exits. */
    if (p->r.err) {
        reserve_release();
        p->wall = wall_diagnose(p->r.err);
    }
    if (o->hold_ms)
        mb_sleep_ms(o->hold_ms);
    if (procfs_read_status(0, &p->mem) < 0 || procfs_read_meminfo(&p->sys_at) < 0)
        p->read_err = errno;
    procfs_read_pss(0, &p->pss_kib);

    if (is_thread(o->cfg.kind))
        spawn_threads_teardown(s, &p->r);
    else
        spawn_tasks_teardown(s, &p->r);
    /* Give freed memory back so the next point starts near the baseline. */
    malloc_trim(0);
    reserve_take();
    return 0;
}

static void print_header(const struct opts *o)
{
    printf("spawn_bench: %s", kind_names[o->cfg.kind]);
    if (is_thread(o->cfg.kind))
        printf(", stack %zu KiB", spawn_threads_stack_kib(&o->cfg));
    printf(", state %zu B/unit\n", o->cfg.state_bytes);
    printf("%10s %10s %10s %10s %10s %10s %10s %10s %10s\n", "N", "created", "create_ns/u",
           "rss_B/u", "pss_B/u", "vsz_B/u", "kstack_B/u", "slab_B/u", "teardn_ns/u");
}

static void print_point(const struct spawn_point *p, const struct proc_mem *base, long base_pss)
{
    size_t n = p->r.created;
    printf("%10zu %10zu %10.0f %10.0f %10.0f %10.0f %10.0f %10.0f %10.0f\n", p->r.requested, n,
           per_unit((double)p->r.create_ns, n),
           per_unit((p->mem.rss_kib - base->rss_kib) * 1024.0, n),
           per_unit((p->pss_kib - base_pss) * 1024.0, n),
           per_unit((p->mem.vsz_kib - base->vsz_kib) * 1024.0, n),
           per_unit((p->sys_at.kernel_stack_kib - p->sys_before.kernel_stack_kib) * 1024.0, n),
           per_unit((p->sys_at.sunreclaim_kib - p->sys_before.sunreclaim_kib) * 1024.0, n),
           per_unit((double)p->r.teardown_ns, n));
    if (p->r.err) {
        const char *hit = p->wall ? json_string_value(json_object_get(p->wall, "limit_hit")) : "";
        printf("  %s failed at unit %zu of %zu: %s (limit: %s)\n",
               p->r.failed_call ? p->r.failed_call : "create", p->r.created, p->r.requested,
               strerror(p->r.err), hit ? hit : "unknown");
    }
}

/* Runs one point per count into pts, tallying run (np, created, torn_down, wall, ok); stops
   at the first wall. 0 done; -1 when units could not be set up at all. */
static int run_points(const struct opts *o, struct spawn_point *pts, struct spawn_run *run)
{
    for (int i = 0; i < o->counts.n; i++) {
        struct spawn_point *p = &pts[run->np];
        if (run_point(o, o->counts.v[i], p) < 0) {
            fprintf(stderr, "spawn_bench: cannot set up %s units: %s: %s\n", run->kind,
                    p->r.failed_call, strerror(p->r.err));
            return -1;
        }
        run->np++;
        if (p->read_err) {
            fprintf(stderr, "spawn_bench: cannot read /proc at N=%zu: %s\n", p->r.requested,
                    strerror(p->read_err));
            run->ok = false;
        }
        print_point(p, &run->base, run->base_pss);
        run->created += p->r.created;
        run->torn_down += p->r.torn_down;
        if (p->r.torn_down != p->r.created)
            run->ok = false;
        if (p->r.err) {
            run->wall = p;
            if (!o->until_failure) {
                run->ok = false;
                fprintf(stderr,
                        "spawn_bench: %s failed at unit %zu of %zu: %s; use a smaller "
                        "--count, or --until-failure to look for the wall\n",
                        p->r.failed_call, p->r.created, p->r.requested, strerror(p->r.err));
            }
            break; /* larger N would only hit the same wall */
        }
    }
    return 0;
}

/* The closing lines: the slope of the document and the totals. */
static void print_summary(const json_t *doc, const struct spawn_run *run)
{
    const json_t *slope = json_object_get(doc, "slope");
    printf("slope over %d point(s): rss %.0f B/unit, pss %.0f B/unit, vsz %.0f B/unit, "
           "kernel stack %.0f B/unit, slab %.0f B/unit, create %.0f ns/unit\n",
           run->np, json_real_value(json_object_get(slope, "rss_bytes_per_unit")),
           json_real_value(json_object_get(slope, "pss_bytes_per_unit")),
           json_real_value(json_object_get(slope, "vsz_bytes_per_unit")),
           json_real_value(json_object_get(slope, "kernel_stack_bytes_per_unit")),
           json_real_value(json_object_get(slope, "sunreclaim_bytes_per_unit")),
           json_real_value(json_object_get(slope, "create_ns_per_unit")));
    printf("created %zu, torn down %zu%s\n", run->created, run->torn_down,
           run->created == run->torn_down ? "" : "  <- MISMATCH");
}

int main(int argc, char **argv)
{
    signal(SIGXFSZ, SIG_IGN); /* a full disk is a write error jsonfile_write reports */
    static struct spawn_point pts[MB_COUNTS_MAX];
    struct opts o;
    char err[512];
    json_t *doc = NULL;
    int rc = 1;

    switch (parse_opts(argc, argv, &o, err, sizeof err)) {
    case OPTS_HELP: usage(stdout); return 0;
    case OPTS_ERROR: fprintf(stderr, "spawn_bench: %s\n", err); return 2;
    case OPTS_OK: break;
    }
    struct spawn_run run = {
        .kind = kind_names[o.cfg.kind],
        .threads = is_thread(o.cfg.kind),
        .cfg = &o.cfg,
        .counts = o.counts.v,
        .ncounts = o.counts.n,
        .hold_ms = o.hold_ms,
        .until_failure = o.until_failure,
        .base_pss = -1,
        .pts = pts,
        .ok = true,
    };
    if (procfs_read_status(0, &run.base) < 0) {
        fprintf(stderr, "spawn_bench: cannot read /proc/self/status: %s (is /proc mounted?)\n",
                strerror(errno));
        return 1;
    }
    procfs_read_pss(0, &run.base_pss);
    reserve_take();
    print_header(&o);
    if (run_points(&o, pts, &run) < 0)
        goto out;
    doc = spawn_json_doc(&run);
    print_summary(doc, &run);
    if (o.json_path && jsonfile_write(o.json_path, doc, err, sizeof err) < 0) {
        fprintf(stderr, "spawn_bench: %s\n", err);
        goto out;
    }
    rc = run.ok && run.created == run.torn_down ? 0 : 1;
out:
    reserve_release();
    json_decref(doc);
    for (int i = 0; i < run.np; i++)
        json_decref(pts[i].wall);
    return rc;
}
