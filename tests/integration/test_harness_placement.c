/* Integration tests of the harness's CPU placement: the plan in the result JSON (server CPU 0,
 * generator CPU 1 on a 2-CPU machine), overlap refused unless asked for, K server loops each
 * pinned by the server's --pin-workers, TVT_SERVER_CPUS and {workers} for --server-cmd, and the
 * errors of bad placement flags. */
#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../support/files.h"
#include "../support/harness_run.h"
#include "../support/server_proc.h"
#include "../support/test_env.h"

#define TIMEOUT_S 60

static bool loops(void)
{
    return strcmp(hrun_impl(), "async") == 0;
}
static int allowed[CPU_SETSIZE], nallowed;

static void setup(void)
{
    cpu_set_t set;
    tfile_scratch_make();
    cr_assert_eq(sched_getaffinity(0, sizeof set, &set), 0);
    nallowed = 0;
    for (int c = 0; c < CPU_SETSIZE; c++)
        if (CPU_ISSET(c, &set))
            allowed[nallowed++] = c;
}

TestSuite(placement, .init = setup, .fini = tfile_scratch_remove, .timeout = 120);

/* The JSON array of CPU numbers a, as "0,1,5". */
static const char *list(json_t *a, char *buf, size_t len)
{
    cr_assert(json_is_array(a), "not an array of CPUs");
    size_t off = 0, i;
    json_t *v;
    buf[0] = '\0';
    json_array_foreach(a, i, v)
    {
        cr_assert(json_is_integer(v), "a CPU that is not an integer");
        off += (size_t)snprintf(buf + off, len - off, "%s%lld", i ? "," : "",
                                (long long)json_integer_value(v));
    }
    return buf;
}

/* The allowed CPUs from index lo to hi - 1, as list() writes them. */
static const char *span(int lo, int hi, char *buf, size_t len)
{
    size_t off = 0;
    buf[0] = '\0';
    for (int i = lo; i < hi; i++)
        off += (size_t)snprintf(buf + off, len - off, "%s%d", i > lo ? "," : "", allowed[i]);
    return buf;
}

/* A short, light run of the async server; the parsed result. */
static json_t *short_run(const char *name, const char *const *extra)
{
    const char *args[48] = {"run", "--impl",   hrun_impl(), "--conns",  "10", "--duration",
                            "0.5", "--warmup", "0.1",       "--idle-s", "0.1"};
    int n = 11;
    for (int i = 0; extra && extra[i]; i++)
        args[n++] = extra[i];
    args[n] = NULL;
    return hrun_ok(tfile_scratch, name, args, TIMEOUT_S);
}

Test(placement, default_plan_is_in_the_json)
{
    char got[256], want[256];
    json_t *doc = short_run("default", NULL);
    json_t *p = hget(doc, "placement"), *params = hget(doc, "params");
    int k = nallowed / 2 > 0 ? nallowed / 2 : 1;
    cr_assert_str_eq(list(hget(p, "cpus_allowed"), got, sizeof got),
                     span(0, nallowed, want, sizeof want));
    cr_assert_eq(hnum(p, "server_k"), k);
    /* the K lowest CPUs to the server, the others to the generator */
    cr_assert_str_eq(list(hget(p, "server_cpus"), got, sizeof got), span(0, k, want, sizeof want));
    if (nallowed > 1)
        cr_assert_str_eq(list(hget(p, "client_cpus"), got, sizeof got),
                         span(k, nallowed, want, sizeof want));
    cr_assert_str_eq(list(hget(p, "backend_cpus"), got, sizeof got), "", "no backend here");
    cr_assert_eq(json_is_true(hget(p, "overlap")), nallowed == 1);
    if (nallowed == 2 && allowed[0] == 0 && allowed[1] == 1) {
        /* this 2-CPU machine: server CPU 0, generator CPU 1 */
        cr_assert_str_eq(list(hget(p, "server_cpus"), got, sizeof got), "0");
        cr_assert_str_eq(list(hget(p, "client_cpus"), got, sizeof got), "1");
    }
    /* the old keys: the first CPU of each set */
    cr_assert_eq(hnum(params, "server_cpu"), allowed[0]);
    cr_assert_eq(hnum(params, "client_cpu"), allowed[nallowed > 1 ? k : 0]);
    /* one generator loop per CPU of its set */
    cr_assert_eq(hnum(params, "threads"), nallowed > 1 ? nallowed - k : 1);
    /* K event loops for the async server, each pinned, when K > 1; one thread server */
    cr_assert_eq(hnum(params, "workers"), loops() ? k : 1);
    cr_assert_eq(json_is_true(hget(params, "pin_workers")), loops() && k > 1);
    const char *cmd = hstr(params, "server_command");
    cr_assert_eq(strstr(cmd, "--pin-workers") != NULL, loops() && k > 1, "%s", cmd);
    json_decref(doc);
}

Test(placement, load_leaves_the_server_cpus_free)
{
    char target[64], out[600], got[256], want[256];
    struct server_proc *sp = hrun_server(hrun_impl(), target, sizeof target);
    snprintf(out, sizeof out, "%s/load.json", tfile_scratch);
    const char *args[] = {"load",     "--target", target,    "--conns", "5", "--duration", "0.3",
                          "--warmup", "0",        "--quiet", "--out",   out, NULL};
    int rc = hrun(tfile_scratch, "load", args, TIMEOUT_S);
    struct server_exit ex;
    server_stop(sp, SIGTERM, 5000, &ex);
    server_free(sp);
    cr_assert_eq(rc, 0, "harness load exited %d", rc);
    json_t *doc = hjson_load(out);
    json_t *p = hget(doc, "placement");
    int k = nallowed / 2 > 0 ? nallowed / 2 : 1;
    /* no server of ours: none pinned, its K CPUs left free */
    cr_assert_str_eq(list(hget(p, "server_cpus"), got, sizeof got), "");
    cr_assert(json_is_false(hget(p, "overlap")));
    cr_assert_eq(hnum(p, "server_k"), k);
    cr_assert_str_eq(list(hget(p, "client_cpus"), got, sizeof got),
                     nallowed > 1 ? span(k, nallowed, want, sizeof want)
                                  : span(0, 1, want, sizeof want));
    json_decref(doc);
}

Test(placement, overlap_is_refused_unless_asked_for)
{
    if (nallowed < 2)
        TFILE_SKIP("one CPU: the server and the generator always share it");
    char kbuf[16], first[16], got[256], want[256];
    snprintf(kbuf, sizeof kbuf, "%d", nallowed);
    snprintf(first, sizeof first, "%d", allowed[0]);
    /* K = every CPU leaves none to the generator: refused, naming the CPUs and the fix */
    const char *all[] = {"run", "--impl", "async", "--server-cpus", kbuf, "--duration", "1", NULL};
    cr_assert_eq(hrun(tfile_scratch, "all", all, TIMEOUT_S), 2);
    char *log = hrun_log(tfile_scratch, "all");
    cr_assert(strstr(log, "--allow-overlap") && strstr(log, "takes every CPU"), "%s", log);
    free(log);
    /* a generator set on the server's CPU: refused too */
    const char *onto[] = {"run", "--impl", "async", "--client-cpus", first, NULL};
    cr_assert_eq(hrun(tfile_scratch, "onto", onto, TIMEOUT_S), 2);
    log = hrun_log(tfile_scratch, "onto");
    cr_assert(strstr(log, "--allow-overlap") && strstr(log, "shares CPU"), "%s", log);
    free(log);

    /* asked for: K loops over every CPU, each worker pinned, the overlap flagged */
    const char *extra[] = {"--server-cpus", kbuf, "--allow-overlap", NULL};
    json_t *doc = short_run("overlap", extra);
    json_t *p = hget(doc, "placement"), *params = hget(doc, "params");
    cr_assert(json_is_true(hget(p, "overlap")));
    cr_assert_str_eq(list(hget(p, "server_cpus"), got, sizeof got),
                     span(0, nallowed, want, sizeof want));
    if (loops()) {
        cr_assert_eq(hnum(params, "workers"), nallowed);
        cr_assert(json_is_true(hget(params, "pin_workers")));
        cr_assert(strstr(hstr(params, "server_command"), "--pin-workers"));
        /* the supervisor and its K workers are measured */
        cr_assert_eq(hnum(hget(doc, "server"), "procs_peak"), nallowed + 1);
    } else {
        /* the thread server: one process, its threads free over the K CPUs */
        cr_assert_eq(hnum(params, "workers"), 1);
        cr_assert(json_is_false(hget(params, "pin_workers")));
    }
    json_decref(doc);
}

/* The CPUs a process may run on, from /proc/PID/status. */
static void cpus_allowed_list(pid_t pid, char *buf, size_t len)
{
    cr_assert_geq(len, 256);
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "%s: %s", path, strerror(errno));
    buf[0] = '\0';
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "Cpus_allowed_list: %255s", buf) == 1)
            break;
    fclose(f);
    cr_assert(buf[0], "no Cpus_allowed_list in %s", path);
}

Test(placement, pin_workers_puts_each_worker_on_its_cpu)
{
    char err[2048], n[16], got[256], want[16];
    snprintf(n, sizeof n, "%d", nallowed);
    const char *args[] = {"--workers", n, "--pin-workers", NULL};
    struct server_spec spec = {.impl = hrun_impl(), .args = args};
    struct server_proc *sp = server_start(&spec, err, sizeof err);
    cr_assert_not_null(sp, "%s", err);
    /* worker i runs on the i-th CPU of the mask the server started with */
    bool seen[CPU_SETSIZE] = {false};
    int workers = 0;
    if (nallowed == 1) {
        cpus_allowed_list(server_pid(sp), got, sizeof got);
        snprintf(want, sizeof want, "%d", allowed[0]);
        cr_assert_str_eq(got, want);
        workers = 1;
    } else {
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)server_pid(sp),
                 (int)server_pid(sp));
        FILE *f = fopen(path, "r");
        cr_assert_not_null(f, "%s: %s", path, strerror(errno));
        int child;
        while (fscanf(f, "%d", &child) == 1) {
            cpus_allowed_list(child, got, sizeof got);
            char *end;
            long cpu = strtol(got, &end, 10);
            cr_assert(*end == '\0', "worker %d runs on %s, not one CPU", child, got);
            cr_assert(cpu >= 0 && cpu < CPU_SETSIZE && !seen[cpu], "CPU %ld twice", cpu);
            seen[cpu] = true;
            workers++;
        }
        fclose(f);
    }
    cr_assert_eq(workers, nallowed);
    struct server_exit ex;
    cr_assert_eq(server_stop(sp, SIGTERM, 5000, &ex), 0);
    cr_assert(ex.exited && ex.code == 0, "exit status %d", ex.status);
    server_free(sp);

    /* more workers than CPUs: refused at start, naming both numbers */
    snprintf(n, sizeof n, "%d", nallowed + 1);
    sp = server_start(&spec, err, sizeof err);
    cr_assert_null(sp, "%d workers on %d CPUs started", nallowed + 1, nallowed);
    char both[96];
    snprintf(both, sizeof both, "%d workers, but the affinity mask", nallowed + 1);
    cr_assert(strstr(err, both), "%s", err);
    snprintf(both, sizeof both, "only %d CPUs", nallowed);
    cr_assert(strstr(err, both), "%s", err);
}

Test(placement, server_cmd_is_told_k)
{
    char cmd[700], out[600], want[64];
    /* the shell prints what it was told, then becomes the server */
    snprintf(cmd, sizeof cmd,
             "sh -c 'echo tvt-k=$TVT_SERVER_CPUS workers={workers} >&2; exec %s/%s_server "
             "--port 0 --workers {workers}'",
             tenv_bin_dir(), hrun_impl());
    snprintf(out, sizeof out, "%s/cmd.json", tfile_scratch);
    const char *args[] = {"run", "--server-cmd", cmd,     "--name",   "told", "--conns",
                          "5",   "--duration",   "0.3",   "--warmup", "0",    "--idle-s",
                          "0",   "--quiet",      "--out", out,        NULL};
    int rc = hrun(tfile_scratch, "cmd", args, TIMEOUT_S);
    cr_assert_eq(rc, 0, "harness exited %d", rc);
    json_t *doc = hjson_load(out);
    int k = nallowed / 2 > 0 ? nallowed / 2 : 1;
    snprintf(want, sizeof want, "tvt-k=%d workers=%d", k, k);
    const char *tail = hstr(hget(doc, "server"), "stderr_tail");
    cr_assert(strstr(tail, want), "stderr: %s", tail);
    const char *command = hstr(hget(doc, "params"), "server_command");
    cr_assert(!strstr(command, "{workers}"), "not substituted: %s", command);
    json_decref(doc);
}

Test(placement, a_missing_uring_server_is_named)
{
    char path[512], out[600];
    snprintf(path, sizeof path, "%s/uring_server", tenv_bin_dir());
    if (access(path, X_OK) == 0)
        TFILE_SKIP("%s exists", path);
    snprintf(out, sizeof out, "%s/uring.json", tfile_scratch);
    const char *args[] = {"run", "--impl", "uring", "--quiet", "--out", out, NULL};
    cr_assert_eq(hrun(tfile_scratch, "uring", args, TIMEOUT_S), 1);
    json_t *doc = hjson_load(out);
    const char *why = hstr(doc, "failure");
    cr_assert(strstr(why, "--impl uring") && strstr(why, "uring_server"), "%s", why);
    json_decref(doc);
}

struct bad_case {
    const char *args[10];
    const char *mention; /* the error names this */
};

static const struct bad_case BAD[] = {
    {{"run", "--impl", "async", "--server-cpus", "0", NULL}, "--server-cpus"},    /* K >= 1 */
    {{"run", "--impl", "async", "--server-cpus", "2000", NULL}, "--server-cpus"}, /* > 1024 */
    {{"run", "--impl", "async", "--server-cpus", "1024", NULL}, "at most"},       /* > allowed */
    {{"run", "--impl", "async", "--client-cpus", "1-", NULL}, "--client-cpus"},   /* syntax */
    {{"run", "--impl", "async", "--client-cpus", "1000", NULL}, "CPU 1000"},      /* not ours */
    {{"run", "--impl", "async", "--server-cpus", "1", "--server-cpu", "0", NULL}, "give one"},
    {{"load", "--target", "127.0.0.1:9", "--client-cpus", "0", "--client-cpu", "0", NULL},
     "give one"},
    {{"run", "--impl", "async", "--backend-cpus", "0", NULL}, "no backend"},
    {{"load", "--target", "127.0.0.1:9", "--allow-overlap", NULL}, "harness run"},
    {{"run", "--impl", "nope", NULL}, "uring"}, /* the choices are listed */
    {{"run", "--impl", "async", "--steps", "10", NULL}, "--capacity"},
    {{"run", "--impl", "async", "--capacity", "--steps", "5", NULL}, "--steps"},
    {{"run", "--impl", "async", "--capacity", "--rate", "100", NULL}, "--rate"},
    {{"run", "--impl", "async", "--capacity", "--slo-ms", "0", NULL}, "--slo-ms"},
    {{"load", "--target", "127.0.0.1:9", "--capacity", NULL}, "harness run"},
};

Test(placement, bad_flags_are_named)
{
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        char name[32];
        snprintf(name, sizeof name, "bad%zu", i);
        int rc = hrun(tfile_scratch, name, BAD[i].args, TIMEOUT_S);
        char *log = hrun_log(tfile_scratch, name);
        cr_assert_eq(rc, 2, "case %zu exited %d: %s", i, rc, log);
        cr_assert(strstr(log, BAD[i].mention), "case %zu: '%s' does not name %s", i, log,
                  BAD[i].mention);
        free(log);
    }
}

Test(placement, help_documents_the_flags)
{
    const char *run[] = {"help", "run", NULL};
    cr_assert_eq(hrun(tfile_scratch, "help", run, TIMEOUT_S), 0);
    char *log = hrun_log(tfile_scratch, "help");
    const char *flags[] = {"--server-cpus",   "--client-cpus", "--backend-cpus", "--allow-overlap",
                           "--capacity",      "--steps",       "--step-min-s",   "--slo-ms",
                           "TVT_SERVER_CPUS", "{workers}",     "--pin-workers",  "uring"};
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
        cr_assert(strstr(log, flags[i]), "harness help run does not mention %s", flags[i]);
    free(log);
}
