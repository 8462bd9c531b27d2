/* Fault tests of bin/harness under the sweep: scripts/sweep.py goes on past a point whose
 * server was SIGKILLed and past one whose harness died without a file (a harness in front of
 * the real one breaks them), records both as failed, skips the larger points of the failed
 * series and says why in sweep.json. Every process is started with PR_SET_PDEATHSIG
 * (child_proc.h) and stopped by its PID. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../support/child_proc.h"
#include "../support/files.h"
#include "../support/json_read.h"
#include "../support/test_env.h"

TestSuite(harness_faults, .init = tfile_scratch_make, .fini = tfile_scratch_remove, .timeout = 90);

/* The raw result of one sweep point, by content (file names are the sweep's business):
 * impl, params.conns, params.wait_us and whether params.stack_kib is set, of the series
 * named for its program and of timer waits. NULL if none. */
static json_t *find_point(const char *raw, const char *impl, int conns, int wait_us, bool stack64)
{
    DIR *d = opendir(raw);
    struct dirent *e;
    json_t *hit = NULL;
    cr_assert_not_null(d, "%s: %s", raw, strerror(errno));
    while (!hit && (e = readdir(d)) != NULL) {
        char path[PATH_MAX];
        size_t n = strlen(e->d_name);
        if (n < 6 || strcmp(e->d_name + n - 5, ".json") != 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", raw, e->d_name);
        json_t *doc = hjson_load(path), *p = json_object_get(doc, "params");
        const char *di = json_string_value(json_object_get(doc, "impl"));
        json_t *sk = p ? json_object_get(p, "stack_kib") : NULL;
        /* the series itself, not another of the same program (async-lean, a wait kind) */
        const char *nm = json_string_value(json_object_get(doc, "name"));
        const char *io = p ? json_string_value(json_object_get(p, "io")) : NULL;
        bool same_series =
            (!nm || stack64 || strcmp(nm, impl) == 0) && (!io || strcmp(io, "timer") == 0);
        if (di && strcmp(di, impl) == 0 && p && same_series &&
            json_integer_value(json_object_get(p, "conns")) == conns &&
            json_integer_value(json_object_get(p, "wait_us")) == wait_us &&
            (sk && !json_is_null(sk)) == stack64)
            hit = doc;
        else
            json_decref(doc);
    }
    closedir(d);
    return hit;
}

Test(harness_faults, sweep_goes_on_past_a_failed_point)
{
    if (tenv_sanitized())
        TFILE_SKIP("the sweep's logic does not depend on the build");
    if (!tenv_impl_enabled("async") || !tenv_impl_enabled("thread"))
        TFILE_SKIP("needs both servers (TVT_IMPLS=%s)", getenv("TVT_IMPLS"));
    if (access("scripts/sweep.py", R_OK) != 0)
        TFILE_SKIP("run from the repository root");
    char real[PATH_MAX], fake[PATH_MAX + 16], path[PATH_MAX + 64], text[4 * PATH_MAX];
    cr_assert_not_null(realpath(tenv_bin_dir(), real), "%s: %s", tenv_bin_dir(), strerror(errno));
    snprintf(fake, sizeof fake, "%s/fakebin", tfile_scratch);
    cr_assert_eq(mkdir(fake, 0755), 0);
    /* The sweep takes its programs from --bin: a harness in front of the real one shortens
     * every run and breaks two points. async 1 conn wait 0: its server is SIGKILLed half a
     * second in (the run itself would last 5 s). thread 100 conns wait 1000: the harness
     * itself dies by SIGKILL without writing a file. */
    snprintf(text, sizeof text,
             "#!/bin/sh\n"
             "impl= conns= wait= prev=\n"
             "for a in \"$@\"; do\n"
             "    case \"$prev\" in --impl) impl=$a ;; --conns) conns=$a ;; --wait-us) "
             "wait=$a ;; esac\n"
             "    prev=$a\n"
             "done\n"
             "[ \"$1\" = run ] || exec '%s/harness' \"$@\"\n"
             "case \"$impl/$conns/$wait\" in\n"
             "async/1/0) export TVT_TEST_KILL_AFTER=0.5\n"
             "    exec '%s/harness' \"$@\" --duration 5 --warmup 0 --idle-s 0 ;;\n"
             "thread/100/1000) kill -KILL $$ ;;\n"
             "esac\n"
             "exec '%s/harness' \"$@\" --duration 0.3 --warmup 0 --idle-s 0\n",
             real, real, real);
    snprintf(path, sizeof path, "%s/harness", fake);
    tfile_write_script(path, text);
    snprintf(text, sizeof text,
             "#!/bin/sh\n"
             "[ -n \"$TVT_TEST_KILL_AFTER\" ] && (sleep \"$TVT_TEST_KILL_AFTER\"; kill -KILL $$) "
             "&\n"
             "exec '%s/async_server' \"$@\"\n",
             real);
    snprintf(path, sizeof path, "%s/async_server", fake);
    tfile_write_script(path, text);
    snprintf(text, sizeof text, "#!/bin/sh\nexec '%s/thread_server' \"$@\"\n", real);
    snprintf(path, sizeof path, "%s/thread_server", fake);
    tfile_write_script(path, text);

    char outdir[PATH_MAX + 16], envbin[PATH_MAX + 32];
    snprintf(outdir, sizeof outdir, "%s/sweep", tfile_scratch);
    snprintf(envbin, sizeof envbin, "TVT_BIN_DIR=%s", fake);
    const char *env[] = {envbin, NULL};
    struct child_opts o = {.env = env};
    const char *argv[] = {
        "python3", "scripts/sweep.py", "--profile",        "smoke",  "--out", outdir, "--bin",
        fake,      "--skip-hol",       "--skip-hyperfine", "--only", "grid",  NULL};
    struct child c;
    child_start(&c, argv, &o);
    int code = child_wait(&c, 80000);
    if (code == 127)
        TFILE_SKIP("python3 is not installed");
    cr_assert_eq(code, 0, "sweep.py exited %d:\n%s", code, c.out);

    char raw[PATH_MAX + 32];
    snprintf(raw, sizeof raw, "%s/raw", outdir);
    /* the point whose server was killed: recorded failed, with the signal */
    json_t *killed = find_point(raw, "async", 1, 0, false);
    cr_assert_not_null(killed, "no result for async 1 conn wait 0:\n%s", c.out);
    cr_assert_str_eq(hstr(killed, "status"), "failed");
    cr_assert(strstr(hstr(killed, "failure"), "signal 9"), "failure: %s", hstr(killed, "failure"));
    json_decref(killed);
    /* the harness that died without a file: the sweep wrote a stand-in in its place */
    json_t *stand_in = find_point(raw, "thread", 100, 1000, false);
    cr_assert_not_null(stand_in, "no stand-in for the harness that died:\n%s", c.out);
    cr_assert_str_eq(hstr(stand_in, "status"), "failed");
    cr_assert(strstr(hstr(stand_in, "failure"), "harness"),
              "the stand-in does not say the harness ended: %s", hstr(stand_in, "failure"));
    json_decref(stand_in);
    /* and it went on: the points after the failures ran (another series, the same series at
     * another wait) */
    const struct {
        const char *impl;
        int conns, wait;
        bool stack64;
    } after[] = {{"thread", 1, 0, false},
                 {"async", 1, 1000, false},
                 {"async", 100, 1000, false},
                 {"thread", 1, 1000, false}};
    for (size_t i = 0; i < sizeof after / sizeof after[0]; i++) {
        json_t *d = find_point(raw, after[i].impl, after[i].conns, after[i].wait, after[i].stack64);
        cr_assert_not_null(d, "the sweep did not run %s%s %d conns wait %d after the failure:\n%s",
                           after[i].impl, after[i].stack64 ? "-64k" : "", after[i].conns,
                           after[i].wait, c.out);
        json_decref(d);
    }
    /* a larger point of the failed series is skipped, and sweep.json says why */
    cr_assert_null(find_point(raw, "async", 100, 0, false), "async 100 conns wait 0 ran");
    char meta[PATH_MAX + 48];
    snprintf(meta, sizeof meta, "%s/sweep.json", outdir);
    json_t *m = hjson_load(meta), *sk, *skipped = hget(m, "skipped");
    cr_assert_str_eq(hstr(m, "state"), "done");
    size_t i;
    bool listed = false;
    json_array_foreach(skipped, i, sk)
    {
        if (strcmp(hstr(sk, "impl"), "async") == 0 && hnum(sk, "conns") == 100 &&
            hnum(sk, "wait_us") == 0)
            listed = listed || strstr(hstr(sk, "reason"), "at 1 ") != NULL;
    }
    cr_assert(listed, "sweep.json does not list async 100 conns wait 0 as skipped after the "
                      "failure at 1");
    json_decref(m);
}
