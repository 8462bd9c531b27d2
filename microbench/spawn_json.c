/* spawn_json: spawn_bench's measurements as JSON (keys: microbench/SCHEMA.md). */
#include "spawn_json.h"

#include "mbutil.h"
#include "sysenv.h"

#include <string.h>

#define MAX_SLOPE_POINTS 64

static double per_unit(double total, size_t n)
{
    return n ? total / (double)n : 0;
}

/* One element of "points": counts, times, memory and its deltas against base / base_pss
   (-1: no PSS), failure. */
static json_t *point_json(const struct spawn_point *p, const struct proc_mem *base, long base_pss)
{
    const struct spawn_result *r = &p->r;
    size_t n = r->created;
    long d_rss = p->mem.rss_kib - base->rss_kib, d_vsz = p->mem.vsz_kib - base->vsz_kib;
    long d_anon = p->mem.rss_anon_kib - base->rss_anon_kib;
    long d_ks = p->sys_at.kernel_stack_kib - p->sys_before.kernel_stack_kib;
    long d_su = p->sys_at.sunreclaim_kib - p->sys_before.sunreclaim_kib;
    int have_pss = p->pss_kib >= 0 && base_pss >= 0;
    json_t *o = json_object();

    json_object_set_new(o, "requested", json_integer((json_int_t)r->requested));
    json_object_set_new(o, "created", json_integer((json_int_t)r->created));
    json_object_set_new(o, "ready", json_integer((json_int_t)r->ready));
    json_object_set_new(o, "torn_down", json_integer((json_int_t)r->torn_down));
    json_object_set_new(o, "create_ns", json_integer((json_int_t)r->create_ns));
    json_object_set_new(o, "ready_ns", json_integer((json_int_t)r->ready_ns));
    json_object_set_new(o, "teardown_ns", json_integer((json_int_t)r->teardown_ns));
    json_object_set_new(o, "create_ns_per_unit", json_real(per_unit((double)r->create_ns, n)));
    json_object_set_new(o, "ready_ns_per_unit", json_real(per_unit((double)r->ready_ns, n)));
    json_object_set_new(o, "teardown_ns_per_unit", json_real(per_unit((double)r->teardown_ns, n)));
    json_object_set_new(o, "rss_kib", json_integer(p->mem.rss_kib));
    json_object_set_new(o, "vsz_kib", json_integer(p->mem.vsz_kib));
    json_object_set_new(o, "pss_kib", p->pss_kib >= 0 ? json_integer(p->pss_kib) : json_null());
    json_object_set_new(o, "rss_anon_kib", json_integer(p->mem.rss_anon_kib));
    json_object_set_new(o, "threads", json_integer(p->mem.threads));
    json_object_set_new(o, "rss_delta_kib", json_integer(d_rss));
    json_object_set_new(o, "vsz_delta_kib", json_integer(d_vsz));
    json_object_set_new(o, "pss_delta_kib",
                        have_pss ? json_integer(p->pss_kib - base_pss) : json_null());
    json_object_set_new(o, "rss_anon_delta_kib", json_integer(d_anon));
    json_object_set_new(o, "rss_bytes_per_unit", json_real(per_unit(d_rss * 1024.0, n)));
    json_object_set_new(o, "vsz_bytes_per_unit", json_real(per_unit(d_vsz * 1024.0, n)));
    json_object_set_new(o, "pss_bytes_per_unit",
                        have_pss ? json_real(per_unit((p->pss_kib - base_pss) * 1024.0, n))
                                 : json_null());
    json_object_set_new(o, "kernel_stack_delta_kib", json_integer(d_ks));
    json_object_set_new(o, "sunreclaim_delta_kib", json_integer(d_su));
    json_object_set_new(o, "kernel_stack_bytes_per_unit", json_real(per_unit(d_ks * 1024.0, n)));
    json_object_set_new(o, "sunreclaim_bytes_per_unit", json_real(per_unit(d_su * 1024.0, n)));
    if (r->err) {
        json_t *f = json_object();
        json_object_set_new(f, "call", json_string(r->failed_call ? r->failed_call : "?"));
        json_object_set_new(f, "errno", json_integer(r->err));
        json_object_set_new(f, "error", json_string(strerror(r->err)));
        json_object_set_new(f, "at_unit", json_integer((json_int_t)r->created));
        json_object_set_new(f, "wall", p->wall ? json_incref(p->wall) : json_null());
        json_object_set_new(o, "failure", f);
    } else {
        json_object_set_new(o, "failure", json_null());
    }
    return o;
}

/* "slope": least-squares bytes (or ns) per unit over the np points with created > 0. */
static json_t *slope_json(const struct spawn_point *pts, int np, const struct proc_mem *base,
                          long base_pss)
{
    double x[MAX_SLOPE_POINTS], y[MAX_SLOPE_POINTS];
    json_t *o = json_object();
    int k = 0;
    enum { RSS, VSZ, PSS, ANON, KSTACK, SLAB, CREATE, TEARDOWN, NSERIES };
    static const char *names[NSERIES] = {"rss_bytes_per_unit",          "vsz_bytes_per_unit",
                                         "pss_bytes_per_unit",          "rss_anon_bytes_per_unit",
                                         "kernel_stack_bytes_per_unit", "sunreclaim_bytes_per_unit",
                                         "create_ns_per_unit",          "teardown_ns_per_unit"};

    for (int i = 0; i < np && k < MAX_SLOPE_POINTS; i++)
        if (pts[i].r.created > 0)
            x[k++] = (double)pts[i].r.created;
    json_object_set_new(o, "points_used", json_integer(k));
    for (int series = 0; series < NSERIES; series++) {
        int j = 0, usable = 1;
        for (int i = 0; i < np && j < k; i++) {
            const struct spawn_point *p = &pts[i];
            if (p->r.created == 0)
                continue;
            switch (series) {
            case RSS: y[j] = (p->mem.rss_kib - base->rss_kib) * 1024.0; break;
            case VSZ: y[j] = (p->mem.vsz_kib - base->vsz_kib) * 1024.0; break;
            case PSS:
                usable &= p->pss_kib >= 0 && base_pss >= 0;
                y[j] = (p->pss_kib - base_pss) * 1024.0;
                break;
            case ANON: y[j] = (p->mem.rss_anon_kib - base->rss_anon_kib) * 1024.0; break;
            case KSTACK:
                y[j] = (p->sys_at.kernel_stack_kib - p->sys_before.kernel_stack_kib) * 1024.0;
                break;
            case SLAB:
                y[j] = (p->sys_at.sunreclaim_kib - p->sys_before.sunreclaim_kib) * 1024.0;
                break;
            case CREATE: y[j] = (double)p->r.create_ns; break;
            default: y[j] = (double)p->r.teardown_ns; break;
            }
            j++;
        }
        json_object_set_new(o, names[series],
                            usable && k ? json_real(mb_slope(x, y, k)) : json_null());
    }
    return o;
}

/* "wall": the failure of p (which has r.err set) with its diagnosis. */
static json_t *wall_json(const struct spawn_point *p)
{
    json_t *w =
        json_pack("{s:I, s:I, s:s, s:i, s:s}", "requested", (json_int_t)p->r.requested, "created",
                  (json_int_t)p->r.created, "call", p->r.failed_call ? p->r.failed_call : "?",
                  "errno", p->r.err, "error", strerror(p->r.err));
    json_object_set_new(w, "limit_hit",
                        p->wall ? json_incref(json_object_get(p->wall, "limit_hit"))
                                : json_string("unknown"));
    json_object_set_new(w, "limits", p->wall ? json_incref(p->wall) : json_null());
    return w;
}

static json_t *params_json(const struct spawn_run *run)
{
    json_t *counts = json_array();
    for (int i = 0; i < run->ncounts; i++)
        json_array_append_new(counts, json_integer((json_int_t)run->counts[i]));
    return json_pack("{s:o, s:I, s:o, s:I, s:I, s:b}", "counts", counts, "stack_kib",
                     (json_int_t)run->cfg->stack_kib, "stack_kib_effective",
                     run->threads ? json_integer((json_int_t)spawn_threads_stack_kib(run->cfg))
                                  : json_null(),
                     "state_bytes", (json_int_t)run->cfg->state_bytes, "hold_ms",
                     (json_int_t)run->hold_ms, "until_failure", run->until_failure);
}

json_t *spawn_json_doc(const struct spawn_run *run)
{
    const struct proc_mem *base = &run->base;
    json_t *doc = json_object(), *points = json_array();

    for (int i = 0; i < run->np; i++)
        json_array_append_new(points, point_json(&run->pts[i], base, run->base_pss));
    json_object_set_new(doc, "bench", json_string("spawn"));
    json_object_set_new(doc, "kind", json_string(run->kind));
    json_object_set_new(doc, "unit", json_string(run->threads ? "thread" : "task"));
    json_object_set_new(doc, "params", params_json(run));
    json_object_set_new(doc, "env", sysenv_json());
    json_object_set_new(doc, "baseline",
                        json_pack("{s:I, s:I, s:o, s:I, s:I}", "rss_kib", (json_int_t)base->rss_kib,
                                  "vsz_kib", (json_int_t)base->vsz_kib, "pss_kib",
                                  run->base_pss >= 0 ? json_integer(run->base_pss) : json_null(),
                                  "rss_anon_kib", (json_int_t)base->rss_anon_kib, "threads",
                                  (json_int_t)base->threads));
    json_object_set_new(doc, "points", points);
    json_object_set_new(doc, "slope", slope_json(run->pts, run->np, base, run->base_pss));
    json_object_set_new(doc, "totals",
                        json_pack("{s:I, s:I, s:b}", "created", (json_int_t)run->created,
                                  "torn_down", (json_int_t)run->torn_down, "all_torn_down",
                                  run->created == run->torn_down));
    json_object_set_new(doc, "wall", run->wall ? wall_json(run->wall) : json_null());
    json_object_set_new(doc, "ok", json_boolean(run->ok && run->created == run->torn_down));
    return doc;
}
