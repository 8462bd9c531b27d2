/* Fault tests of bin/harness, a server that dies while the run measures: SIGKILLed from
 * outside in the measure phase, or a --server-cmd that SIGKILLs itself. The run fails at
 * once, names the signal, and keeps what it measured up to the death. Every process is
 * started with PR_SET_PDEATHSIG (child_proc.h) and stopped by its PID. The sweep going on past
 * such a point is test_harness_sweep.c's. */
#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../support/files.h"
#include "../support/harness_run.h"
#include "../support/test_env.h"

TestSuite(harness_faults, .init = tfile_scratch_make, .fini = tfile_scratch_remove, .timeout = 90);

/* The samples of the result, of one phase (NULL: all of them). */
static int count_samples(json_t *doc, const char *phase)
{
    json_t *samples = hget(doc, "samples"), *s;
    size_t i;
    int n = 0;
    cr_assert(json_is_array(samples));
    json_array_foreach(samples, i, s)
    {
        const char *p = json_string_value(json_object_get(s, "phase"));
        if (!phase || (p && strcmp(p, phase) == 0))
            n++;
    }
    return n;
}

Test(harness_faults, server_sigkilled_while_measuring_fails_and_keeps_samples)
{
    const char *impl = hrun_impl();
    char out[600], comm[32];
    struct child c;
    snprintf(out, sizeof out, "%s/killed.json", tfile_scratch);
    snprintf(comm, sizeof comm, "%s_server", impl);
    /* no --quiet: the progress line of the measure phase says when to kill */
    const char *args[] = {"run",      "--impl", impl,       "--conns", "4",     "--duration", "8",
                          "--warmup", "0.2",    "--idle-s", "0.1",     "--out", out,          NULL};
    child_start(&c, hrun_argv(args), NULL);
    double deadline = tenv_now_ms() + 20000;
    while (!strstr(c.out, "measure ") && !child_pump(&c, 50))
        cr_assert(tenv_now_ms() < deadline, "no measure phase within 20 s; output:\n%s", c.out);
    cr_assert_not(c.done, "the harness ended before it measured (code %d):\n%s", c.code, c.out);
    pid_t server = child_find(c.pid, comm);
    cr_assert(server > 0, "no %s child of the harness (PID %d)", comm, (int)c.pid);
    cr_assert_eq(kill(server, SIGKILL), 0);
    double killed_ms = tenv_now_ms();
    int code = child_wait(&c, 15000);

    cr_assert_eq(code, 1, "harness should exit 1 after its server was killed, not %d:\n%s", code,
                 c.out);
    /* it notices within a few sample periods, not at the end of the 8 s window */
    cr_assert_lt(c.end_ms - killed_ms, 4000, "took %.0f ms to notice and stop",
                 c.end_ms - killed_ms);
    cr_assert(strstr(c.out, "the run failed") && strstr(c.out, "signal 9"),
              "no clear message naming the signal:\n%s", c.out);

    json_t *doc = hjson_load(out);
    cr_assert_str_eq(hstr(doc, "status"), "failed");
    const char *why = hstr(doc, "failure");
    cr_assert(strstr(why, "signal 9") && strstr(why, "measure"),
              "failure should name the signal and the phase: %s", why);
    /* what was measured up to the kill is kept */
    cr_assert_gt(count_samples(doc, "measure"), 0, "no sample of the measure phase kept");
    cr_assert_gt(hnum(hget(doc, "client"), "requests"), 0, "the requests before the kill are lost");
    json_t *srv = hget(doc, "server");
    cr_assert(strstr(hstr(srv, "exit"), "signal 9"), "server.exit: %s", hstr(srv, "exit"));
    cr_assert_gt(hnum(hget(srv, "lifetime"), "maxrss_kib"), 0, "wait4's rusage is lost");
    json_decref(doc);
}

Test(harness_faults, server_cmd_that_sigkills_itself_fails_the_run)
{
    char out[600], script[600], real[PATH_MAX], text[PATH_MAX + 64];
    struct child c;
    snprintf(out, sizeof out, "%s/selfkill.json", tfile_scratch);
    snprintf(script, sizeof script, "%s/selfkill.sh", tfile_scratch);
    char srv_path[PATH_MAX];
    snprintf(srv_path, sizeof srv_path, "%s/%s_server", tenv_bin_dir(), hrun_impl());
    cr_assert_not_null(realpath(srv_path, real), "%s: %s", srv_path, strerror(errno));
    /* the measured PID is the script's, then the server's (exec): the subshell kills it */
    snprintf(text, sizeof text, "#!/bin/sh\n(sleep 2; kill -KILL $$) &\nexec '%s' --port 0\n",
             real);
    tfile_write_script(script, text);
    const char *args[] = {"run", "--server-cmd", script,  "--name",   "selfkill", "--conns",
                          "4",   "--duration",   "10",    "--warmup", "0",        "--idle-s",
                          "0",   "--quiet",      "--out", out,        NULL};
    int code = hrun_child(&c, args, NULL);
    cr_assert_eq(code, 1, "harness exited %d:\n%s", code, c.out);
    cr_assert_lt(c.end_ms - c.start_ms, 8000, "ran %.0f ms: did not notice the death",
                 c.end_ms - c.start_ms);
    cr_assert(strstr(c.out, "signal 9"), "the message does not name the signal:\n%s", c.out);
    json_t *doc = hjson_load(out);
    cr_assert_str_eq(hstr(doc, "status"), "failed");
    cr_assert_str_eq(hstr(doc, "impl"), "selfkill");
    cr_assert(strstr(hstr(doc, "failure"), "signal 9"), "failure: %s", hstr(doc, "failure"));
    cr_assert_gt(count_samples(doc, NULL), 0, "no sample kept");
    json_decref(doc);
}
