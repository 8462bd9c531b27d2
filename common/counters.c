/* counters.c: naming the counters and printing them as JSON. */
#include "counters.h"

#include <jansson.h>
#include <stdlib.h>

static const char *const NAMES[CTR__COUNT] = {
    [CTR_ACCEPTED] = "accepted",
    [CTR_CLOSED] = "closed",
    [CTR_REQUESTS] = "requests",
    [CTR_STATUS_400] = "status_400",
    [CTR_STATUS_404] = "status_404",
    [CTR_STATUS_405] = "status_405",
    [CTR_STATUS_413] = "status_413",
    [CTR_STATUS_414] = "status_414",
    [CTR_STATUS_431] = "status_431",
    [CTR_STATUS_502] = "status_502",
    [CTR_STATUS_503] = "status_503",
    [CTR_STATUS_505] = "status_505",
    [CTR_ABORTED] = "aborted",
    [CTR_IDLE_TIMEOUTS] = "idle_timeouts",
    [CTR_IO_ERRORS] = "io_errors",
    [CTR_ACCEPT_ERRORS] = "accept_errors",
    [CTR_ACCEPT_EMFILE] = "accept_emfile",
    [CTR_THREAD_CREATE_FAILED] = "thread_create_failed",
    [CTR_OOM] = "out_of_memory",
    [CTR_UNFINISHED] = "unfinished_at_exit",
    [CTR_UPSTREAM_ERRORS] = "upstream_errors",
    [CTR_FILE_ERRORS] = "file_errors",
    [CTR_SHARED_UPDATES] = "shared_updates",
    [CTR_SHARED_COUNTED] = "shared_counted",
    [CTR_SHARED_LOST] = "shared_lost",
    [CTR_SHARE_NS] = "share_ns",
    [CTR_SHARE_WAIT_NS] = "share_wait_ns",
    [CTR_LOCK_CONTENDED] = "lock_contended",
    [CTR_LOCK_SWITCHES] = "lock_switches",
    [CTR_SHARED_FULL] = "shared_full",
    [CTR_STOP_INFLIGHT] = "stop_inflight",
    [CTR_STOP_ANSWERED] = "stop_answered",
    [CTR_STOP_CUT] = "stop_cut",
    [CTR_STOP_IDLE] = "stop_idle_closed",
    [CTR_STOP_PARTIAL] = "stop_partial_closed",
    [CTR_STOP_MS] = "stop_ms",
};

void counters_status(struct counters *c, int status)
{
    switch (status) {
    case 400: counters_add(c, CTR_STATUS_400, 1); break;
    case 404: counters_add(c, CTR_STATUS_404, 1); break;
    case 405: counters_add(c, CTR_STATUS_405, 1); break;
    case 413: counters_add(c, CTR_STATUS_413, 1); break;
    case 414: counters_add(c, CTR_STATUS_414, 1); break;
    case 431: counters_add(c, CTR_STATUS_431, 1); break;
    case 502: counters_add(c, CTR_STATUS_502, 1); break;
    case 503: counters_add(c, CTR_STATUS_503, 1); break;
    case 505: counters_add(c, CTR_STATUS_505, 1); break;
    default: break;
    }
}

void counters_shared_settle(struct counters *c, uint64_t counted)
{
    uint64_t made = atomic_load_explicit(&c->v[CTR_SHARED_UPDATES], memory_order_relaxed);
    atomic_store_explicit(&c->v[CTR_SHARED_COUNTED], counted, memory_order_relaxed);
    atomic_store_explicit(&c->v[CTR_SHARED_LOST], made > counted ? made - counted : 0,
                          memory_order_relaxed);
}

int counters_print(const struct counters *c, const char *impl, FILE *out)
{
    json_t *o = json_object();
    char *text;
    int rc = -1;

    if (!o)
        return -1;
    json_object_set_new(o, "impl", json_string(impl));
    for (int k = 0; k < CTR__COUNT; k++) {
        uint64_t v = atomic_load_explicit(&c->v[k], memory_order_relaxed);
        json_object_set_new(o, NAMES[k], json_integer((json_int_t)v));
    }
    text = json_dumps(o, JSON_COMPACT);
    if (text) {
        rc = fprintf(out, "%s\n", text) < 0 || fflush(out) != 0 ? -1 : 0;
        free(text);
    }
    json_decref(o);
    return rc;
}
