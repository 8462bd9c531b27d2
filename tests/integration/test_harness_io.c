/* Integration tests of the harness's wait kinds: `run --io net` starts a backend (the suite's
 * async server), hands it to the server and measures it, and leaves no backend behind;
 * `--server-cmd` gets {upstream} and TVT_UPSTREAM; `run --io file` writes its data file once
 * (real data, not sparse) and reuses it, samples the device's reads in flight, and refuses
 * tmpfs and a bad --file-kib; `load --io file` against a server without a data file counts
 * its 400s; connections that cannot fit the open-file limit are refused before anything
 * starts; a failed run leaves no backend behind; a capacity curve works with io=net and
 * io=file. The runs take a lock of their own so that Criterion's parallel jobs do not load the
 * CPUs at the same time. */
#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "../support/files.h"
#include "../support/harness_run.h"
#include "../support/server_proc.h"
#include "../support/test_env.h"

#define TIMEOUT_S 120
#define LOCK_PATH "/tmp/tvt-harness-io-test.lock"

static char data_dir[128]; /* under build/: a disk here, unlike /tmp on some machines */
static int lock_fd = -1;

static void setup(void)
{
    tfile_scratch_make();
    snprintf(data_dir, sizeof data_dir, "build/itest-harness-io.%d/data", (int)getpid());
    lock_fd = tfile_lock(LOCK_PATH);
}

static void teardown(void)
{
    char build_dir[64];
    snprintf(build_dir, sizeof build_dir, "build/itest-harness-io.%d", (int)getpid());
    tfile_scratch_remove();
    tfile_rm_tree(build_dir);
    if (lock_fd >= 0)
        close(lock_fd);
    lock_fd = -1;
}

TestSuite(harness_io, .init = setup, .fini = teardown, .timeout = 300);

/* Criterion runs no .fini after a skip: the folders and the lock go first. */
#define SKIP(...)                                                                                  \
    do {                                                                                           \
        teardown();                                                                                \
        cr_skip_test(__VA_ARGS__);                                                                 \
    } while (0)

/* harness with args and `--out DIR/NAME.json --quiet` (hrun_result); a run that must
   succeed (hrun_ok). */
static int run(const char *name, const char *const *args, json_t **doc)
{
    return hrun_result(tfile_scratch, name, args, TIMEOUT_S, doc);
}

static json_t *run_ok(const char *name, const char *const *args)
{
    return hrun_ok(tfile_scratch, name, args, TIMEOUT_S);
}

/* A run refused before it starts: exit 2, and the log has every one of the words. */
static void run_refused(const char *name, const char *const *args, const char *w1, const char *w2)
{
    json_t *doc;
    int rc = run(name, args, &doc);
    char *log = hrun_log(tfile_scratch, name);
    cr_assert_eq(rc, 2, "%s: exit %d, expected 2:\n%s", name, rc, log);
    cr_assert_null(doc, "a refused run writes no result");
    cr_assert(strstr(log, w1), "%s: '%s' not in:\n%s", name, w1, log);
    cr_assert(!w2 || strstr(log, w2), "%s: '%s' not in:\n%s", name, w2, log);
    free(log);
}

static bool alive(pid_t pid)
{
    char path[64], cmd[256] = "";
    snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    size_t n = fread(cmd, 1, sizeof cmd - 1, f);
    fclose(f);
    cmd[n] = '\0';
    return strstr(cmd, "async_server") != NULL; /* a reused pid is someone else */
}

/* The backend object of an io=net run the harness started: it answered about as many requests
   as the server did (the warm-up's and the ramp's too, so more than the window's), its CPU is
   counted, and it is gone. */
static void check_backend(json_t *doc, double warmup_s, double duration_s, bool in_cmd)
{
    json_t *b = hget(doc, "backend"), *client = hget(doc, "client");
    json_t *counters = hget(hget(doc, "server"), "counters");
    cr_assert(json_is_true(hget(b, "started")));
    cr_assert(strstr(hstr(b, "command"), "async_server"), "%s", hstr(b, "command"));
    cr_assert(!in_cmd || strstr(hstr(hget(doc, "params"), "server_command"), hstr(b, "upstream")),
              "the server was handed the backend");
    long long front = hint(counters, "requests"), back = hint(b, "requests");
    double window = hnum(client, "requests");
    cr_assert(back >= window, "backend %lld < the window's %g answers", back, window);
    cr_assert(back >= front - 60 && back <= front + 60,
              "backend %lld vs the server's %lld 200s: one backend request each", back, front);
    cr_assert(back <= window * (warmup_s + duration_s + 1.5) / duration_s,
              "backend %lld: more than the warm-up's share over the window's %g", back, window);
    cr_assert_eq(hint(b, "accepted"), 50, "one backend connection per front connection");
    cr_assert_gt(hnum(b, "cpu_s"), 0);
    cr_assert_gt(hnum(b, "cpu_us_per_request"), 0);
    cr_assert_str_eq(hstr(b, "exit"), "exited with status 0");
    cr_assert(json_is_object(hget(b, "counters")), "the backend's counters line");
    json_t *cpus = hget(b, "cpus");
    cr_assert(json_equal(cpus, hget(hget(doc, "placement"), "backend_cpus")),
              "on the planned backend CPUs");
    cr_assert_gt(json_array_size(cpus), 0);
    json_t *sat = hget(client, "saturation");
    cr_assert(json_is_true(hget(sat, "backend_shares_cpus")) ==
                  json_is_true(hget(b, "shares_client_cpus")),
              "the saturation flag counts a backend on the generator's CPUs");
    if (json_is_true(hget(sat, "backend_shares_cpus"))) {
        /* the backend's CPU per second counts with the generator's, over both sets' CPUs */
        double gen = hnum(sat, "generator_cpu_s") / hnum(sat, "window_s");
        double bk = hnum(b, "cpu_s") / hnum(b, "window_s");
        double want = (gen + bk) / hnum(sat, "cpus"), busy = hnum(sat, "busy");
        cr_assert_eq(hnum(sat, "backend_cpu_s"), hnum(b, "cpu_s"));
        cr_assert(busy > want - 1e-6 && busy < want + 1e-6, "busy %g, expected %g", busy, want);
        cr_assert(busy <= 0.9 || json_is_true(hget(client, "saturated")), "busy %g", busy);
        /* /proc/stat counts them too, and everything else on those CPUs (ticks: a margin) */
        double all = hnum(sat, "client_cpus_busy");
        cr_assert(all >= busy - 0.2 && all <= 1.0001, "client_cpus_busy %g, busy %g", all, busy);
    } else {
        cr_assert(json_is_null(hget(sat, "backend_cpu_s")));
    }
    pid_t pid = (pid_t)hnum(b, "pid");
    cr_assert_not(alive(pid), "the backend (pid %d) is still there", (int)pid);
    cr_assert_geq(hnum(hget(client, "latency_us"), "p50"), 1000, "the backend's 1 ms wait");
    cr_assert_str_eq(hstr(hget(doc, "params"), "io"), "net");
}

static void net_run(const char *impl)
{
    if (!tenv_impl_enabled(impl))
        SKIP("TVT_IMPLS leaves out %s", impl);
    const char *args[] = {"run",  "--impl",   impl,  "--io",       "net", "--wait-us",
                          "1000", "--conns",  "50",  "--duration", "1",   "--warmup",
                          "0.5",  "--idle-s", "0.1", NULL};
    json_t *doc = run_ok(impl, args);
    check_backend(doc, 0.5, 1, true);
    json_decref(doc);
}

Test(harness_io, net_async)
{
    net_run("async");
}

Test(harness_io, net_thread)
{
    net_run("thread");
}

/* --server-cmd: {upstream} in the command, and TVT_UPSTREAM in its environment */
Test(harness_io, net_server_cmd)
{
    char cmd1[600], cmd2[600];
    snprintf(cmd1, sizeof cmd1, "%s/async_server --port 0 --upstream {upstream}", tenv_bin_dir());
    snprintf(cmd2, sizeof cmd2, "%s/async_server --port 0 --upstream \"$TVT_UPSTREAM\"",
             tenv_bin_dir());
    const char *cmds[] = {cmd1, cmd2};
    for (int i = 0; i < 2; i++) {
        const char *args[] = {"run",  "--server-cmd", cmds[i], "--io",       "net", "--wait-us",
                              "1000", "--conns",      "50",    "--duration", "1",   "--warmup",
                              "0.5",  "--idle-s",     "0.1",   NULL};
        json_t *doc = run_ok(i ? "cmd-env" : "cmd-placeholder", args);
        check_backend(doc, 0.5, 1, i == 0);
        json_decref(doc);
    }
}

/* --upstream: a backend of one's own is used as it is (not started, not measured); one that
   does not answer is refused before anything starts */
Test(harness_io, net_upstream_given)
{
    if (!tenv_impl_enabled("thread"))
        SKIP("TVT_IMPLS leaves out thread");
    char up[64];
    struct server_proc *bk = hrun_server("async", up, sizeof up);
    const char *args[] = {"run", "--impl",    "thread", "--io",     "net", "--upstream",
                          up,    "--wait-us", "1000",   "--conns",  "20",  "--duration",
                          "0.5", "--warmup",  "0.2",    "--idle-s", "0.1", NULL};
    json_t *doc = run_ok("upstream", args);
    struct server_exit ex;
    server_stop(bk, SIGTERM, 5000, &ex);
    json_t *b = hget(doc, "backend");
    cr_assert(json_is_false(hget(b, "started")));
    cr_assert_str_eq(hstr(b, "upstream"), up);
    cr_assert_str_eq(hstr(hget(doc, "params"), "upstream"), up);
    cr_assert(strstr(hstr(hget(doc, "params"), "server_command"), up));
    cr_assert(json_is_null(hget(b, "cpu_s")) && json_is_null(hget(b, "pid")));
    cr_assert(json_is_false(hget(hget(hget(doc, "client"), "saturation"), "backend_shares_cpus")));
    /* its counters line (the last of its stderr): it answered the server's io=net requests */
    const char *line = strrchr(ex.err, '{');
    json_t *bc = line ? json_loads(line, 0, NULL) : NULL;
    cr_assert_not_null(bc, "the backend's counters: %s", ex.err);
    long long front = hint(hget(hget(doc, "server"), "counters"), "requests");
    /* 20 connections, and the harness's check that it answers */
    cr_assert(hint(bc, "requests") >= front && hint(bc, "accepted") == 21,
              "backend %lld requests, %lld connections; the server answered %lld",
              hint(bc, "requests"), hint(bc, "accepted"), front);
    json_decref(bc);
    server_free(bk);
    json_decref(doc);

    const char *closed[] = {"run", "--impl",     "thread",      "--io",
                            "net", "--upstream", "127.0.0.1:1", NULL};
    run_refused("upstream-closed", closed, "--upstream 127.0.0.1:1", "start the backend first");
}

/* A failed run stops the backend it started too: a server that refuses its flags, and one that
   ends in the middle of the window (timeout(1) sends it SIGTERM after a second) */
Test(harness_io, net_failed_runs_leave_no_backend)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "timeout 1 %s/async_server --port 0 --upstream {upstream}",
             tenv_bin_dir());
    const char *bad_flag[] = {
        "run",        "--impl", "async", "--io",           "net", "--conns", "10",
        "--duration", "1",      "--",    "--no-such-flag", NULL};
    const char *dies[] = {"run",  "--server-cmd", cmd,   "--io",       "net", "--wait-us",
                          "1000", "--conns",      "10",  "--duration", "5",   "--warmup",
                          "0.2",  "--idle-s",     "0.1", NULL};
    const char *const *cases[] = {bad_flag, dies};
    const char *names[] = {"bad-flag", "dies"}, *why[] = {"no-such-flag", "the server"};
    for (int i = 0; i < 2; i++) {
        json_t *doc;
        int rc = run(names[i], cases[i], &doc);
        char *log = hrun_log(tfile_scratch, names[i]);
        cr_assert_eq(rc, 1, "%s: exit %d, expected 1 (a failed run):\n%s", names[i], rc, log);
        cr_assert_not_null(doc);
        cr_assert_str_eq(hstr(doc, "status"), "failed");
        cr_assert(strstr(hstr(doc, "failure"), why[i]), "%s: %s", names[i], hstr(doc, "failure"));
        json_t *b = hget(doc, "backend");
        cr_assert(json_is_true(hget(b, "started")), "%s:\n%s", names[i], log);
        pid_t pid = (pid_t)hnum(b, "pid");
        cr_assert_gt(pid, 0);
        cr_assert_not(alive(pid), "%s: the backend (pid %d) is still there", names[i], (int)pid);
        cr_assert_str_eq(hstr(b, "exit"), "exited with status 0", "stopped by SIGTERM");
        free(log);
        json_decref(doc);
    }
}

/* SIGTERM to the harness in the middle of the window: the run ends failed, the backend with it */
Test(harness_io, net_interrupted_run_leaves_no_backend)
{
    char out[600], log[600];
    snprintf(out, sizeof out, "%s/sigterm.json", tfile_scratch);
    snprintf(log, sizeof log, "%s/sigterm.log", tfile_scratch);
    const char *args[] = {"run",  "--impl",  "thread", "--io",       "net", "--wait-us",
                          "1000", "--conns", "10",     "--duration", "20",  "--warmup",
                          "0.2",  "--out",   out,      "--quiet",    NULL};
    struct child_opts o = {.log = log};
    static struct child h;
    child_start(&h, hrun_argv(args), &o);
    tenv_sleep_ms(1500 * tenv_slack());
    kill(h.pid, SIGTERM);
    int code = child_wait(&h, 30000);
    cr_assert_neq(code, -1, "the harness did not end within 30 s of SIGTERM");
    cr_assert_eq(code, 1, "exit %d: a failed run", code);
    json_t *doc = hjson_load(out);
    cr_assert(strstr(hstr(doc, "failure"), "interrupted by signal"), "%s", hstr(doc, "failure"));
    json_t *b = hget(doc, "backend");
    pid_t pid = (pid_t)hnum(b, "pid");
    cr_assert_not(alive(pid), "the backend (pid %d) is still there", (int)pid);
    cr_assert_str_eq(hstr(b, "exit"), "exited with status 0", "stopped by SIGTERM");
    json_decref(doc);
}

/* the first run writes the data file, the second finds it untouched; the thread server keeps
   the device busy: a device read per request, and reads in flight on average > 0 */
Test(harness_io, file_written_once_then_reused)
{
    struct statfs sf;
    if (statfs("build", &sf) == 0 && (sf.f_type == TMPFS_MAGIC || sf.f_type == RAMFS_MAGIC))
        SKIP("build/ is on a memory filesystem");
    const char *args[] = {"run",    "--impl",          "thread", "--io",     "file", "--data-dir",
                          data_dir, "--data-size-mib", "16",     "--conns",  "50",   "--duration",
                          "1",      "--warmup",        "0.3",    "--idle-s", "0.1",  NULL};
    struct stat a, b;
    json_t *first = run_ok("file-1", args);
    json_t *p = hget(first, "params");
    const char *path = hstr(p, "data_file");
    cr_assert(strstr(path, "/tvt-data-16MiB.bin"), "%s", path);
    cr_assert(json_is_false(hget(p, "data_file_reused")));
    cr_assert_eq(hnum(p, "file_kib"), 4);
    cr_assert(strstr(hstr(p, "server_command"), "--data-file"));
    cr_assert_eq(stat(path, &a), 0, "%s: %s", path, strerror(errno));
    cr_assert_eq(a.st_size, 16 << 20);
    cr_assert_geq((long long)a.st_blocks * 512, (long long)a.st_size, "not sparse");
    char *log = hrun_log(tfile_scratch, "file-1");
    cr_assert(strstr(log, "data file: ") && strstr(log, "tvt-data-16MiB.bin (16 MiB, written"),
              "where the file is, in one line:\n%s", log);
    free(log);

    json_t *second = run_ok("file-2", args);
    json_t *p2 = hget(second, "params");
    cr_assert(json_is_true(hget(p2, "data_file_reused")));
    cr_assert_eq(stat(hstr(p2, "data_file"), &b), 0);
    cr_assert_eq(a.st_ino, b.st_ino, "the same file");
    cr_assert(a.st_mtim.tv_sec == b.st_mtim.tv_sec && a.st_mtim.tv_nsec == b.st_mtim.tv_nsec,
              "not written again");
    log = hrun_log(tfile_scratch, "file-2");
    cr_assert(strstr(log, "(16 MiB, reused)"), "%s", log);
    free(log);

    json_t *dev = hget(hget(second, "server"), "device_inflight");
    cr_assert(json_is_object(dev), "server.device_inflight is an object");
    if (json_object_get(dev, "unavailable")) {
        cr_assert_null(json_object_get(dev, "mean"), "no figure without a device");
        SKIP("no inflight figure for %s: %s", hstr(dev, "device"), hstr(dev, "unavailable"));
    }
    cr_assert_gt(hnum(dev, "samples"), 3);
    char *text = json_dumps(dev, JSON_COMPACT);
    /* every request read from the device, and the mean counts each read however short (the
       kernel's integral, not 100 ms samples that a 30 us read slips between) */
    json_t *reads = json_object_get(dev, "reads");
    if (reads) {
        /* an answer early in the window may rest on a read done before it: one per connection */
        long long n = hnum(hget(second, "client"), "requests");
        cr_assert_geq(json_integer_value(reads), n - 50,
                      "%lld requests, each a 4 KiB O_DIRECT read: %s", n, text);
        cr_assert(strstr(hstr(dev, "method"), "DEV/stat"), "%s", text);
    }
    cr_assert_gt(hnum(dev, "mean"), 0, "50 threads reading keep reads in flight: %s", text);
    free(text);
    json_decref(first);
    json_decref(second);
}

Test(harness_io, file_refuses_tmpfs_and_bad_sizes)
{
    struct statfs sf;
    char shm[128];
    if (statfs("/dev/shm", &sf) == 0 && sf.f_type == TMPFS_MAGIC) {
        snprintf(shm, sizeof shm, "/dev/shm/tvt-harness-io.%d", (int)getpid());
        const char *args[] = {"run",        "--impl", "thread",          "--io", "file",
                              "--data-dir", shm,      "--data-size-mib", "16",   NULL};
        run_refused("tmpfs", args, "tmpfs", "--data-dir");
        cr_assert_neq(access(shm, F_OK), 0, "nothing was created on tmpfs");
    }
    const char *kib[] = {"run", "--impl", "thread", "--io", "file", "--file-kib", "3", NULL};
    run_refused("kib3", kib, "--file-kib '3'", "multiple of 4");
    const char *load[] = {"load", "--target", "127.0.0.1:9", "--file-kib", "2048", NULL};
    run_refused("kib2048", load, "--file-kib '2048'", "4 to 1024");
    const char *io[] = {"load", "--target", "127.0.0.1:9", "--io", "disk", NULL};
    run_refused("io-disk", io, "--io 'disk'", "timer, net or file");
}

/* a server without --data-file answers io=file with 400: every answer is a status error */
Test(harness_io, load_file_without_data_file_counts_400s)
{
    if (!tenv_impl_enabled("thread"))
        SKIP("TVT_IMPLS leaves out thread");
    char target[64];
    struct server_proc *sp = hrun_server("thread", target, sizeof target);
    const char *args[] = {"load", "--target",   target, "--io",     "file", "--conns",
                          "4",    "--duration", "0.5",  "--warmup", "0.1",  NULL};
    json_t *doc;
    int rc = run("load-file", args, &doc);
    struct server_exit ex;
    server_stop(sp, SIGTERM, 5000, &ex);
    server_free(sp);
    cr_assert_eq(rc, 1, "no request succeeded: a failed run");
    cr_assert_not_null(doc);
    json_t *c = hget(doc, "client");
    double answers = hnum(c, "responses");
    cr_assert_gt(answers, 0);
    cr_assert_eq(hnum(c, "requests"), 0, "no good answer");
    cr_assert_eq(hnum(hget(c, "errors"), "status"), answers, "every answer a status error");
    cr_assert(strstr(hstr(hget(c, "first_errors"), "status"), "400"));
    cr_assert_str_eq(hstr(hget(doc, "params"), "io"), "file");
    json_decref(doc);
}

/* a small open-file limit: 150 io=net connections need 364 fds in one server process */
Test(harness_io, fd_plan_refuses_what_cannot_fit)
{
    struct rlimit rl = {256, 256};
    cr_assert_eq(setrlimit(RLIMIT_NOFILE, &rl), 0, "%s", strerror(errno));
    const char *net[] = {"run", "--impl", "thread", "--io", "net", "--conns", "150", NULL};
    run_refused("fd-net", net, "--workers", "RLIMIT_NOFILE 256");
    /* the same without io=net fits the server; 300 fit neither it nor the generator */
    const char *many[] = {"run", "--impl", "thread", "--conns", "300", NULL};
    run_refused("fd-many", many, "at least --workers 2", "at least --procs 2");
}

/* a capacity curve with each kind: the steps carry the backend's CPU and the device's reads */
Test(harness_io, capacity_with_net_and_file)
{
    const char *net[] = {"run",          "--impl",   "thread",
                         "--io",         "net",      "--wait-us",
                         "1000",         "--conns",  "50",
                         "--capacity",   "--steps",  "8",
                         "--step-min-s", "0.2",      "--duration",
                         "0.5",          "--warmup", "0.3",
                         "--idle-s",     "0.1",      "--step-min-requests",
                         "500",          NULL};
    json_t *doc = run_ok("cap-net", net);
    json_t *steps = hget(hget(doc, "capacity"), "steps"), *s;
    size_t i;
    cr_assert_eq(json_array_size(steps), 8);
    json_array_foreach(steps, i, s)
    {
        cr_assert_gt(hnum(s, "backend_cpu_s"), 0, "step %zu", i);
        cr_assert(json_is_null(hget(s, "device_inflight_mean")));
    }
    json_decref(doc);
    const char *file[] = {"run",
                          "--impl",
                          "thread",
                          "--io",
                          "file",
                          "--data-dir",
                          data_dir,
                          "--data-size-mib",
                          "16",
                          "--conns",
                          "20",
                          "--capacity",
                          "--steps",
                          "8",
                          "--step-min-s",
                          "0.2",
                          "--step-min-requests",
                          "500",
                          "--duration",
                          "0.5",
                          "--warmup",
                          "0.3",
                          "--idle-s",
                          "0.1",
                          NULL};
    doc = run_ok("cap-file", file);
    steps = hget(hget(doc, "capacity"), "steps");
    json_array_foreach(steps, i, s)
    {
        cr_assert(json_is_null(hget(s, "backend_cpu_s")));
        json_t *d = hget(s, "device_inflight_mean");
        cr_assert(json_is_null(d) || json_number_value(d) >= 0, "step %zu", i);
    }
    json_decref(doc);
}
