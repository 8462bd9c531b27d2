/* result_stop: the `stop` object of a `run --stop`: how the server stopped, and how each of
 * its connections ended. */
#include "record/result.h"

#include <string.h>

static json_t *real_or_null(double v)
{
    return v >= 0 ? json_real(v) : json_null();
}

json_t *result_stop_json(const struct run_record *r)
{
    const struct stop_result *s = &r->stop;
    if (!s->on)
        return json_null();
    const uint64_t *end = r->load_done ? r->load.stop : NULL;
    json_t *j = json_object();
    json_object_set_new(j, "signal_to_exit_s", real_or_null(s->signal_to_exit_s));
    json_object_set_new(j, "killed", json_boolean(s->killed));
    json_object_set_new(j, "grace_ms", s->grace_ms >= 0 ? json_integer(s->grace_ms) : json_null());
    json_object_set_new(j, "settle_s", json_real(s->settle_s));
    json_object_set_new(j, "server_cpu_s", real_or_null(s->cpu_s));
    json_t *in = json_object();
    json_object_set_new(in, "conns", json_integer(s->inflight));
    json_t *idle = json_object();
    json_object_set_new(idle, "conns", json_integer(s->idle));
    if (end) {
        json_object_set_new(in, "answered", json_integer((json_int_t)end[LOAD_STOP_ANSWERED]));
        json_object_set_new(in, "answered_not_200",
                            json_integer((json_int_t)end[LOAD_STOP_ANSWERED_ERR]));
        json_object_set_new(in, "cut", json_integer((json_int_t)end[LOAD_STOP_CUT]));
        json_object_set_new(idle, "fin", json_integer((json_int_t)end[LOAD_STOP_IDLE_FIN]));
        json_object_set_new(idle, "reset", json_integer((json_int_t)end[LOAD_STOP_IDLE_RST]));
        json_object_set_new(j, "still_open", json_integer((json_int_t)r->load.stop_open));
    }
    json_object_set_new(j, "inflight", in);
    json_object_set_new(j, "idle", idle);
    json_object_set_new(j, "connects_after_signal",
                        json_pack("{sI sI sI sI ss?}", "tried", (json_int_t)s->connects_tried,
                                  "refused", (json_int_t)s->connects_refused, "accepted",
                                  (json_int_t)s->connects_accepted, "other",
                                  (json_int_t)s->connects_other, "other_error",
                                  s->connect_other_error[0] ? s->connect_other_error : NULL));
    return j;
}
