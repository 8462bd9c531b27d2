/* valgrind memcheck over short runs of bin/harness (`load` against a server started here,
 * and `run`): exit 0, no memcheck error, no definite or indirect leak, and a valid result
 * with requests in it. Only the harness process is checked; its server runs natively.
 * Skipped without valgrind and for sanitized builds. Every process is started with
 * PR_SET_PDEATHSIG (child_proc.h) and stopped by its PID. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../support/files.h"
#include "../support/harness_run.h"
#include "../support/server_proc.h"
#include "../support/test_env.h"

TestSuite(harness_valgrind, .init = tfile_scratch_make, .fini = tfile_scratch_remove,
          .timeout = 90);

static void skip_without_valgrind(void)
{
    struct child c;
    const char *probe[] = {"valgrind", "--version", NULL};
    if (tenv_sanitized())
        TFILE_SKIP("valgrind cannot run %s-sanitized programs", getenv("TVT_SANITIZER"));
    if (child_run(&c, probe, NULL, HRUN_TIMEOUT_MS) != 0)
        TFILE_SKIP("valgrind is not installed");
}

/* Runs `valgrind --leak-check=full ... harness ARGS`; only the harness process reports
 * (its server runs natively). Checks: exit 0 (99 = valgrind found errors), no error, no
 * definite or indirect leak, a valid result with requests in it. */
static void memcheck(const char *name, const char *const *args)
{
    struct child c;
    char log[600], logopt[640], out[600];
    snprintf(log, sizeof log, "%s/%s.vg.log", tfile_scratch, name);
    snprintf(logopt, sizeof logopt, "--log-file=%s", log);
    snprintf(out, sizeof out, "%s/%s.json", tfile_scratch, name);
    const char *argv[64] = {"valgrind",
                            "--leak-check=full",
                            "--errors-for-leak-kinds=definite,indirect",
                            "--error-exitcode=99",
                            "--trace-children=no",
                            "--child-silent-after-fork=yes",
                            logopt,
                            hrun_path()};
    int n = 8;
    for (int i = 0; args[i] && n < 60; i++)
        argv[n++] = args[i];
    argv[n++] = "--out";
    argv[n++] = out;
    argv[n] = NULL;
    int code = child_run(&c, argv, NULL, HRUN_TIMEOUT_MS);

    char *text = tfile_slurp(log, NULL);
    cr_assert_not_null(text, "valgrind wrote no log (exit %d):\n%s", code, c.out);
    cr_assert_eq(code, 0, "valgrind + harness exited %d (99: memcheck errors):\n%s\n%s", code,
                 c.out, text);
    cr_assert(strstr(text, "ERROR SUMMARY: 0 errors"), "memcheck errors:\n%s", text);
    const char *kinds[] = {"definitely lost: ", "indirectly lost: "};
    for (size_t k = 0; k < 2; k++) {
        const char *p = strstr(text, kinds[k]);
        cr_assert(!p || atol(p + strlen(kinds[k])) == 0, "%s:\n%s", kinds[k], text);
    }
    json_t *doc = hjson_load(out);
    cr_assert_str_eq(hstr(doc, "status"), "ok", "failure: %s",
                     json_string_value(json_object_get(doc, "failure")));
    cr_assert_gt(hnum(hget(doc, "client"), "requests"), 0);
    json_decref(doc);
    free(text);
}

Test(harness_valgrind, load_has_no_leak_and_no_error)
{
    skip_without_valgrind();
    char target[64];
    struct server_proc *sp = hrun_server(hrun_impl(), target, sizeof target);
    const char *args[] = {"load", "--target", target, "--conns", "4", "--duration",
                          "1",    "--warmup", "0.2",  "--quiet", NULL};
    memcheck("load", args);
    struct server_exit ex;
    cr_assert_eq(server_stop(sp, SIGTERM, 5000, &ex), 0);
    cr_assert(ex.exited && ex.code == 0, "server: %s", ex.err);
    server_free(sp);
}

Test(harness_valgrind, run_has_no_leak_and_no_error)
{
    skip_without_valgrind();
    const char *args[] = {"run",        "--impl",  hrun_impl(), "--conns", "4",
                          "--duration", "1",       "--warmup",  "0.2",     "--idle-s",
                          "0.1",        "--quiet", NULL};
    memcheck("run", args);
}
