/* result_hosts: the `hosts` array of a run across hosts: each host's roles, its environment
 * (kernel, cores, limits, commit) and, where generators ran, its share of the load beside the
 * merged total, and when its window opened. */
#include <string.h>

#include "record/result.h"
#include "sysenv.h"

double result_hosts_skew_ms(const struct run_record *r)
{
    double skew = 0;
    for (int i = 0; i < r->nhosts; i++)
        if (r->hosts[i].has_share && r->hosts[i].share.window_start_ms > skew)
            skew = r->hosts[i].share.window_start_ms;
    return skew;
}

static json_t *share_json(const struct run_record *r, const struct gen_figures *f)
{
    uint64_t errors = 0;
    for (int k = 0; k < LOAD_ERR_N; k++)
        errors += f->c.errors[k];
    uint64_t total = r->load_done ? r->load.c.requests : 0;
    json_t *j = json_object();
    json_object_set_new(j, "conns", json_integer(f->conns));
    json_object_set_new(j, "conns_connected", json_integer(f->conns_connected));
    json_object_set_new(j, "requests", json_integer((json_int_t)f->c.requests));
    json_object_set_new(j, "responses", json_integer((json_int_t)f->c.responses));
    json_object_set_new(j, "errors", json_integer((json_int_t)errors));
    json_object_set_new(j, "fraction_of_requests",
                        total ? json_real((double)f->c.requests / (double)total) : json_null());
    json_object_set_new(j, "cpu_s", json_real(f->cpu_s));
    json_object_set_new(j, "window_start_ms", json_real(f->window_start_ms));
    json_object_set_new(j, "clock_offset_ms", json_real(f->clock_offset_ms));
    json_object_set_new(j, "clock_rtt_ms", json_real(f->clock_rtt_ms));
    return j;
}

json_t *result_hosts_json(const struct run_record *r)
{
    if (!r->hosts)
        return json_null();
    json_t *a = json_array();
    for (int i = 0; i < r->nhosts; i++) {
        const struct host_entry *h = &r->hosts[i];
        json_t *roles = json_array();
        if (h->server)
            json_array_append_new(roles, json_string("server"));
        if (h->backend)
            json_array_append_new(roles, json_string("backend"));
        if (h->clients)
            json_array_append_new(roles, json_string("clients"));
        json_t *env = h->env ? json_loads(h->env, 0, NULL) : h->here ? sysenv_json() : NULL;
        json_t *j = json_object();
        json_object_set_new(j, "name", json_string(h->name));
        json_object_set_new(j, "address", json_string(h->addr));
        json_object_set_new(j, "here", json_boolean(h->here));
        json_object_set_new(j, "roles", roles);
        json_object_set_new(j, "env", env ? env : json_null());
        json_object_set_new(j, "share", h->has_share ? share_json(r, &h->share) : json_null());
        json_array_append_new(a, j);
    }
    return a;
}
