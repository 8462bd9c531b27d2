/* The harness's two C7 scenarios against a server of the suite: `run --stop` (N connections,
 * M with a request in flight, SIGTERM) must record every request in flight as answered, every
 * idle connection as closed by a FIN, every connect after the signal as refused, and a clean
 * exit well within the server's grace; `run --state shared` must see every update counted by
 * a server that guards its table (none lost) and at least one update per answer. */
#include <criterion/criterion.h>

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "../support/files.h"
#include "../support/harness_run.h"
#include "../support/test_env.h"

TestSuite(harness_c7, .init = tfile_scratch_make, .fini = tfile_scratch_remove, .timeout = 90);

Test(harness_c7, a_stop_answers_what_is_in_flight_and_closes_the_idle_with_a_fin)
{
    hrun_need("the stop scenario");
    const char *args[] = {
        "run", "--impl",    hrun_impl(), "--stop",   "--conns", "40", "--stop-inflight",
        "4",   "--wait-us", "300000",    "--idle-s", "0.2",     NULL};
    json_t *doc = hrun_ok(tfile_scratch, "stop", args, 60);
    json_t *stop = hget(doc, "stop"), *in = hget(stop, "inflight"), *idle = hget(stop, "idle");
    cr_assert_eq(hint(in, "conns"), 4);
    cr_assert_eq(hint(in, "answered"), 4, "answered %lld of 4 in flight, cut %lld",
                 (long long)hint(in, "answered"), (long long)hint(in, "cut"));
    cr_assert_eq(hint(in, "cut"), 0);
    cr_assert_eq(hint(idle, "conns"), 36);
    cr_assert_eq(hint(idle, "fin"), 36, "idle: %lld FIN, %lld reset", (long long)hint(idle, "fin"),
                 (long long)hint(idle, "reset"));
    cr_assert_eq(hint(stop, "still_open"), 0);
    cr_assert(json_is_false(hget(stop, "killed")));
    /* the requests in flight waited 0.3 s: the exit comes after them, within the grace */
    double exit_s = hnum(stop, "signal_to_exit_s");
    cr_assert(exit_s > 0 && exit_s < 5, "exit %.3f s after the signal", exit_s);
    json_t *after = hget(stop, "connects_after_signal");
    cr_assert_gt(hint(after, "tried"), 0, "no connect was tried after the signal");
    cr_assert_eq(hint(after, "refused"), hint(after, "tried"), "a connect after SIGTERM got in");
    json_decref(doc);
}

Test(harness_c7, a_guarded_shared_table_loses_no_update)
{
    hrun_need("the shared table");
    const char *args[] = {"run", "--impl",   hrun_impl(), "--state",    "shared", "--keys",
                          "4",   "--conns",  "20",        "--duration", "1",      "--warmup",
                          "0.2", "--idle-s", "0.1",       NULL};
    json_t *doc = hrun_ok(tfile_scratch, "shared", args, 60);
    json_t *c = hget(hget(doc, "server"), "counters");
    json_int_t updates = hint(c, "shared_updates");
    cr_assert_geq(updates, hint(hget(doc, "client"), "requests"), "%lld updates for %lld answers",
                  (long long)updates, (long long)hint(hget(doc, "client"), "requests"));
    cr_assert_eq(hint(c, "shared_lost"), 0, "a guarded table lost %lld updates",
                 (long long)hint(c, "shared_lost"));
    cr_assert_eq(hint(c, "shared_counted"), updates);
    cr_assert_gt(hint(c, "share_ns"), 0);
    json_decref(doc);
}
