/* Fault tests of bin/harness, its guards: targets outside loopback are refused at once
 * without a connect (tried inside a fresh network namespace, where nothing can leave; strace
 * checks no connect was made), --allow-remote and loopback addresses pass the check, and
 * --conns beyond RLIMIT_NOFILE is refused naming the limit and the way out (--procs). Every
 * process is started with PR_SET_PDEATHSIG (child_proc.h) and stopped by its PID. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "../support/files.h"
#include "../support/harness_run.h"
#include "../support/server_proc.h"
#include "../support/test_env.h"

TestSuite(harness_faults, .init = tfile_scratch_make, .fini = tfile_scratch_remove, .timeout = 90);

/* ---- targets outside loopback ---- */

/* Runs harness args in a fresh network namespace; skips the test if there is none to be
 * had (never falls back to the real network). */
static int run_isolated(struct child *c, const char *const *args)
{
    struct child_opts o = {.netns = true};
    int code = hrun_child(c, args, &o);
    if (code == CHILD_NETNS_FAILED)
        TFILE_SKIP("cannot create a network namespace (needs CAP_SYS_ADMIN); not risking "
                   "traffic to a remote address outside one");
    return code;
}

/* true if strace is there and can trace a child here */
static bool strace_works(void)
{
    struct child c;
    const char *argv[] = {"strace", "-f", "-qq", "-e", "trace=none", "true", NULL};
    return child_run(&c, argv, NULL, HRUN_TIMEOUT_MS) == 0;
}

Test(harness_faults, refuses_remote_targets_at_once_without_connecting)
{
    static const char *const remote[] = {"10.1.2.3:80",          "192.0.2.1:80", "[2001:db8::1]:80",
                                         "[::ffff:10.1.2.3]:80", "0.0.0.0:80",   "[::]:80"};
    struct child c;
    for (size_t i = 0; i < sizeof remote / sizeof remote[0]; i++) {
        const char *args[] = {"load",       "--target", remote[i],  "--conns", "1",
                              "--duration", "1",        "--warmup", "0",       NULL};
        int code = run_isolated(&c, args);
        cr_assert_eq(code, 2, "--target %s: exit %d, expected 2 (refused):\n%s", remote[i], code,
                     c.out);
        cr_assert(strstr(c.out, "--allow-remote") && strstr(c.out, remote[i]),
                  "--target %s: the message should name the target and --allow-remote:\n%s",
                  remote[i], c.out);
        cr_assert_lt(c.end_ms - c.start_ms, 3000, "--target %s: took %.0f ms to refuse", remote[i],
                     c.end_ms - c.start_ms);
    }

    /* `run` refuses before it starts the server */
    char marker[600], cmd[700];
    snprintf(marker, sizeof marker, "%s/server-started", tfile_scratch);
    snprintf(cmd, sizeof cmd, "touch '%s'", marker);
    const char *run_args[] = {"run", "--server-cmd", cmd, "--target", "10.1.2.3:80", NULL};
    cr_assert_eq(run_isolated(&c, run_args), 2, "run --target 10.1.2.3:80:\n%s", c.out);
    cr_assert(strstr(c.out, "--allow-remote"), "%s", c.out);
    cr_assert_neq(access(marker, F_OK), 0, "the server was started before the refusal");

    /* no connect() at all, as strace sees it */
    if (strace_works()) {
        for (size_t i = 0; i < 2; i++) {
            char log[600];
            snprintf(log, sizeof log, "%s/strace-%zu.log", tfile_scratch, i);
            const char *args[] = {
                "strace",  "-f",         "-qq",       "-e",   "trace=connect,sendto,sendmsg",
                "-o",      log,          hrun_path(), "load", "--target",
                remote[i], "--duration", "1",         NULL};
            /* LeakSanitizer cannot run under ptrace */
            const char *env[] = {"ASAN_OPTIONS=detect_leaks=0", NULL};
            struct child_opts o = {.netns = true, .env = env};
            int code = child_run(&c, args, &o, HRUN_TIMEOUT_MS);
            if (code == CHILD_NETNS_FAILED)
                TFILE_SKIP("no network namespace");
            cr_assert_eq(code, 2, "under strace, --target %s: exit %d:\n%s", remote[i], code,
                         c.out);
            FILE *f = fopen(log, "r");
            cr_assert_not_null(f, "strace wrote no log");
            char line[512];
            while (fgets(line, sizeof line, f))
                cr_assert_null(strstr(line, "connect("), "--target %s: a connect was tried: %s",
                               remote[i], line);
            fclose(f);
        }
    }
}

Test(harness_faults, allow_remote_and_loopback_pass_the_check)
{
    /* Inside an empty network namespace nothing can leave the machine: --allow-remote gets
     * past the check and the connect fails at once with "Network is unreachable". Loopback
     * addresses are never refused (lo is down there, so they fail the same way). */
    static const char *const targets[] = {"10.1.2.3:80", "127.0.0.2:9", "[::1]:9", "localhost:9"};
    struct child c;
    for (size_t i = 0; i < sizeof targets / sizeof targets[0]; i++) {
        const char *args[] = {"load",
                              "--target",
                              targets[i],
                              "--conns",
                              "1",
                              "--duration",
                              "0.5",
                              "--warmup",
                              "0",
                              "--connect-retries",
                              "0",
                              "--quiet",
                              i == 0 ? "--allow-remote" : NULL,
                              NULL};
        int code = run_isolated(&c, args);
        cr_assert_eq(code, 1, "--target %s: exit %d, expected 1 (could not connect):\n%s",
                     targets[i], code, c.out);
        cr_assert_null(strstr(c.out, "not a loopback"), "--target %s was refused:\n%s", targets[i],
                       c.out);
        cr_assert(strstr(c.out, "connect"), "--target %s: no connect error:\n%s", targets[i],
                  c.out);
    }
}

/* ---- the harness's own limits ---- */

Test(harness_faults, conns_beyond_the_open_files_limit_name_the_limit)
{
    char target[64], out[600];
    struct child c;
    struct child_limit nofile = {RLIMIT_NOFILE, 256};
    struct child_opts o = {.limits = &nofile, .nlimits = 1};
    struct server_proc *sp = hrun_server(hrun_impl(), target, sizeof target);
    snprintf(out, sizeof out, "%s/nofile.json", tfile_scratch);

    /* 400 connections cannot fit in 256 descriptors: a usage error before any connect, naming
       the limit and the way out */
    const char *args[] = {"load",     "--target", target,    "--conns", "400", "--duration", "0.3",
                          "--warmup", "0",        "--quiet", "--out",   out,   NULL};
    unlink(out);
    int code = hrun_child(&c, args, &o);
    cr_assert_eq(code, 2, "exit %d:\n%s", code, c.out);
    cr_assert(strstr(c.out, "RLIMIT_NOFILE") && strstr(c.out, "256"),
              "the message does not name the limit and its value:\n%s", c.out);
    cr_assert(strstr(c.out, "at least --procs 3"), "the message does not name the fix:\n%s", c.out);
    cr_assert_lt(c.end_ms - c.start_ms, 5000, "took %.0f ms to refuse", c.end_ms - c.start_ms);
    cr_assert_neq(access(out, F_OK), 0, "a refused run writes no result");
    json_t *doc;

    /* the way out: the same connections over 4 processes, each with its own table */
    const char *split[] = {"load",    "--target", target,       "--conns", "400",
                           "--procs", "4",        "--duration", "0.3",     "--warmup",
                           "0",       "--quiet",  "--out",      out,       NULL};
    code = hrun_child(&c, split, &o);
    cr_assert_eq(code, 0, "--procs 4 under the same limit: exit %d:\n%s", code, c.out);
    doc = hjson_load(out);
    cr_assert_str_eq(hstr(doc, "status"), "ok");
    cr_assert_eq(hnum(hget(doc, "client"), "conns_open_end"), 400);
    json_decref(doc);

    struct server_exit ex;
    cr_assert_eq(server_stop(sp, SIGTERM, 5000, &ex), 0);
    cr_assert(ex.exited && ex.code == 0, "server: %s", ex.err);
    server_free(sp);
}
