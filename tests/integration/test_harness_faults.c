/* Fault tests of bin/harness: a server SIGKILLed mid-run (and the sweep going on past such a
 * point), result folders that cannot take the file (not a folder, missing, full, a folder in
 * the way), targets outside loopback, and --conns beyond RLIMIT_NOFILE. Loopback only:
 * remote targets are tried inside a fresh network namespace, where nothing can leave.
 * Every process is started here with PR_SET_PDEATHSIG and stopped by its PID. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../support/server_proc.h"
#include "../support/test_env.h"

#define OUT_MAX        (64 * 1024) /* of a child's stdout + stderr; the harness says little */
#define RUN_TIMEOUT_MS 30000
#define NETNS_FAILED   125 /* the child's exit code when it cannot get a network namespace */

extern char **environ;

static const char *any_impl(void)
{
    return tenv_impl_enabled("async") ? "async" : "thread";
}

static char tmp_dir[] = "/tmp/tvt-harness-faults-XXXXXX";

static void setup(void)
{
    cr_assert_not_null(mkdtemp(tmp_dir), "mkdtemp: %s", strerror(errno));
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_dir);
    (void)!system(cmd);
}

/* Criterion does not run .fini after a skip: the folder goes first. */
#define SKIP(...)                                                                                  \
    do {                                                                                           \
        teardown();                                                                                \
        cr_skip_test(__VA_ARGS__);                                                                 \
    } while (0)

/* ---- child processes: output through one pipe (never a file: RLIMIT_FSIZE must bind only
 * the file under test), limits and a network namespace set between fork and exec ---- */

struct limit {
    int resource;
    rlim_t value; /* soft and hard */
};

struct child_opts {
    const struct limit *limits;
    size_t nlimits;
    bool netns;             /* unshare(CLONE_NEWNET): only a downed lo, no route anywhere */
    const char *const *env; /* "K=V", replacing the inherited value; may be NULL */
};

struct child {
    pid_t pid;
    int fd; /* read end of its stdout + stderr, -1 once at EOF */
    char out[OUT_MAX];
    size_t len;
    bool done;
    int code;        /* exit code, or 128 + signal; -1 if we had to kill it */
    double start_ms; /* CLOCK_MONOTONIC */
    double end_ms;
};

static void child_start(struct child *c, const char *const *argv, const struct child_opts *o)
{
    static const struct child_opts none;
    int p[2];
    if (!o)
        o = &none;
    memset(c, 0, sizeof *c);
    c->fd = -1;
    /* the environment is built before fork: only async-signal-safe calls in the child */
    size_t n_env = 0, n_extra = 0;
    while (environ[n_env])
        n_env++;
    while (o->env && o->env[n_extra])
        n_extra++;
    char **envp = calloc(n_env + n_extra + 1, sizeof *envp);
    cr_assert_not_null(envp);
    size_t k = 0;
    for (size_t i = 0; i < n_extra; i++)
        envp[k++] = (char *)o->env[i];
    for (size_t i = 0; i < n_env; i++) {
        /* a variable set here replaces the inherited one (not every reader takes the first) */
        bool replaced = false;
        for (size_t j = 0; j < n_extra && !replaced; j++) {
            size_t len = strcspn(o->env[j], "=") + 1;
            replaced = strncmp(environ[i], o->env[j], len) == 0;
        }
        if (!replaced)
            envp[k++] = environ[i];
    }
    cr_assert_eq(pipe2(p, O_CLOEXEC), 0, "pipe: %s", strerror(errno));
    pid_t parent = getpid();
    c->start_ms = tenv_now_ms();
    c->pid = fork();
    cr_assert(c->pid >= 0, "fork: %s", strerror(errno));
    if (c->pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* an aborted test leaves nothing running */
        if (getppid() != parent)
            _exit(127);
        for (size_t i = 0; i < o->nlimits; i++) {
            struct rlimit rl = {o->limits[i].value, o->limits[i].value};
            if (setrlimit(o->limits[i].resource, &rl) < 0)
                _exit(126);
        }
        if (o->netns && unshare(CLONE_NEWNET) < 0)
            _exit(NETNS_FAILED);
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0)
            dup2(devnull, 0);
        dup2(p[1], 1);
        dup2(p[1], 2);
        execvpe(argv[0], (char *const *)argv, envp);
        _exit(127);
    }
    free(envp);
    close(p[1]);
    c->fd = p[0];
    fcntl(c->fd, F_SETFL, O_NONBLOCK);
}

/* Reads what is there (waiting up to wait_ms for it), reaps the child if it has exited.
 * true once it has. */
static bool child_pump(struct child *c, int wait_ms)
{
    if (c->fd >= 0) {
        struct pollfd pfd = {c->fd, POLLIN, 0};
        poll(&pfd, 1, wait_ms);
        for (;;) {
            char scratch[4096];
            size_t room = sizeof c->out - 1 - c->len;
            /* once the buffer is full the rest is read and dropped, so the child never
               blocks on a full pipe */
            ssize_t n =
                room ? read(c->fd, c->out + c->len, room) : read(c->fd, scratch, sizeof scratch);
            if (n > 0 && room) {
                c->len += (size_t)n;
                c->out[c->len] = '\0';
            }
            if (n > 0)
                continue;
            if (n == 0) {
                close(c->fd);
                c->fd = -1;
            }
            break;
        }
    } else if (!c->done && wait_ms > 0) {
        usleep((useconds_t)wait_ms * 1000);
    }
    if (!c->done) {
        int status;
        if (waitpid(c->pid, &status, WNOHANG) == c->pid) {
            c->done = true;
            c->end_ms = tenv_now_ms();
            c->code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        }
    }
    return c->done;
}

/* Waits for the exit within timeout_ms, else SIGKILLs it (code -1). Returns the code. */
static int child_wait(struct child *c, int timeout_ms)
{
    double deadline = tenv_now_ms() + timeout_ms;
    while (!child_pump(c, 20)) {
        if (tenv_now_ms() > deadline) {
            kill(c->pid, SIGKILL);
            waitpid(c->pid, NULL, 0);
            c->done = true;
            c->end_ms = tenv_now_ms();
            c->code = -1;
            break;
        }
    }
    /* a grandchild may hold the pipe: take what is there, without waiting for EOF */
    if (c->fd >= 0) {
        child_pump(c, 0);
        if (c->fd >= 0)
            close(c->fd);
        c->fd = -1;
    }
    return c->code;
}

/* Runs argv to its end (RUN_TIMEOUT_MS at most). Returns the code (see struct child). */
static int run(struct child *c, const char *const *argv, const struct child_opts *o)
{
    child_start(c, argv, o);
    return child_wait(c, RUN_TIMEOUT_MS);
}

/* $TVT_BIN_DIR/harness, in static storage */
static const char *harness_path(void)
{
    static char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/harness", tenv_bin_dir());
    cr_assert(access(path, X_OK) == 0, "%s is not built (TVT_BIN_DIR=%s)", path, tenv_bin_dir());
    return path;
}

/* argv of `harness ARGS...` (NULL-terminated), in static storage */
static const char *const *harness_argv(const char *const *args)
{
    static const char *argv[64];
    int n = 0;
    argv[n++] = harness_path();
    for (int i = 0; args[i] && n < 63; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    return argv;
}

static json_t *load_json(const char *path)
{
    json_error_t e;
    json_t *doc = json_load_file(path, 0, &e);
    cr_assert_not_null(doc, "%s is not valid JSON: %s (line %d)", path, e.text, e.line);
    return doc;
}

static json_t *get(json_t *obj, const char *key)
{
    cr_assert(json_is_object(obj), "parent of '%s' is not an object", key);
    json_t *v = json_object_get(obj, key);
    cr_assert_not_null(v, "key '%s' is missing", key);
    return v;
}

static const char *str(json_t *obj, const char *key)
{
    const char *s = json_string_value(get(obj, key));
    cr_assert_not_null(s, "key '%s' is not a string", key);
    return s;
}

static double num(json_t *obj, const char *key)
{
    json_t *v = get(obj, key);
    cr_assert(json_is_number(v), "key '%s' is not a number", key);
    return json_number_value(v);
}

static int count_samples(json_t *doc, const char *phase)
{
    json_t *samples = get(doc, "samples"), *s;
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

/* The PID of a child of parent named comm (from /proc/PID/stat), or -1. */
static pid_t find_child(pid_t parent, const char *comm)
{
    DIR *d = opendir("/proc");
    struct dirent *e;
    pid_t found = -1;
    cr_assert_not_null(d);
    while (found < 0 && (e = readdir(d)) != NULL) {
        char path[300], buf[512];
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = '\0';
        /* "PID (COMM) S PPID ...": comm may hold spaces, so go by the last ')' */
        char *open = strchr(buf, '('), *close = strrchr(buf, ')');
        int ppid;
        if (!open || !close || sscanf(close + 1, " %*c %d", &ppid) != 1)
            continue;
        *close = '\0';
        if (ppid == parent && strcmp(open + 1, comm) == 0)
            found = atoi(e->d_name);
    }
    closedir(d);
    return found;
}

/* true if folder holds an entry whose name starts with prefix */
static bool has_entry(const char *folder, const char *prefix)
{
    DIR *d = opendir(folder);
    struct dirent *e;
    bool found = false;
    if (!d)
        return false;
    while (!found && (e = readdir(d)) != NULL)
        found = strncmp(e->d_name, prefix, strlen(prefix)) == 0;
    closedir(d);
    return found;
}

TestSuite(harness_faults, .init = setup, .fini = teardown, .timeout = 90);

/* ---- a server killed with SIGKILL while the run measures ---- */

Test(harness_faults, server_sigkilled_while_measuring_fails_and_keeps_samples)
{
    const char *impl = any_impl();
    char out[600], comm[32];
    struct child c;
    snprintf(out, sizeof out, "%s/killed.json", tmp_dir);
    snprintf(comm, sizeof comm, "%s_server", impl);
    /* no --quiet: the progress line of the measure phase says when to kill */
    const char *args[] = {"run",      "--impl", impl,       "--conns", "4",     "--duration", "8",
                          "--warmup", "0.2",    "--idle-s", "0.1",     "--out", out,          NULL};
    child_start(&c, harness_argv(args), NULL);
    double deadline = tenv_now_ms() + 20000;
    while (!strstr(c.out, "measure ") && !child_pump(&c, 50))
        cr_assert(tenv_now_ms() < deadline, "no measure phase within 20 s; output:\n%s", c.out);
    cr_assert_not(c.done, "the harness ended before it measured (code %d):\n%s", c.code, c.out);
    pid_t server = find_child(c.pid, comm);
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

    json_t *doc = load_json(out);
    cr_assert_str_eq(str(doc, "status"), "failed");
    const char *why = str(doc, "failure");
    cr_assert(strstr(why, "signal 9") && strstr(why, "measure"),
              "failure should name the signal and the phase: %s", why);
    /* what was measured up to the kill is kept */
    cr_assert_gt(count_samples(doc, "measure"), 0, "no sample of the measure phase kept");
    cr_assert_gt(num(get(doc, "client"), "requests"), 0, "the requests before the kill are lost");
    json_t *srv = get(doc, "server");
    cr_assert(strstr(str(srv, "exit"), "signal 9"), "server.exit: %s", str(srv, "exit"));
    cr_assert_gt(num(get(srv, "lifetime"), "maxrss_kib"), 0, "wait4's rusage is lost");
    json_decref(doc);
}

Test(harness_faults, server_cmd_that_sigkills_itself_fails_the_run)
{
    char out[600], script[600], real[PATH_MAX];
    struct child c;
    snprintf(out, sizeof out, "%s/selfkill.json", tmp_dir);
    snprintf(script, sizeof script, "%s/selfkill.sh", tmp_dir);
    char srv_path[PATH_MAX];
    snprintf(srv_path, sizeof srv_path, "%s/%s_server", tenv_bin_dir(), any_impl());
    cr_assert_not_null(realpath(srv_path, real), "%s: %s", srv_path, strerror(errno));
    FILE *f = fopen(script, "w");
    cr_assert_not_null(f);
    /* the measured PID is the script's, then the server's (exec): the subshell kills it */
    fprintf(f, "#!/bin/sh\n(sleep 2; kill -KILL $$) &\nexec '%s' --port 0\n", real);
    fclose(f);
    chmod(script, 0755);
    const char *args[] = {"run", "--server-cmd", script,  "--name",   "selfkill", "--conns",
                          "4",   "--duration",   "10",    "--warmup", "0",        "--idle-s",
                          "0",   "--quiet",      "--out", out,        NULL};
    int code = run(&c, harness_argv(args), NULL);
    cr_assert_eq(code, 1, "harness exited %d:\n%s", code, c.out);
    cr_assert_lt(c.end_ms - c.start_ms, 8000, "ran %.0f ms: did not notice the death",
                 c.end_ms - c.start_ms);
    cr_assert(strstr(c.out, "signal 9"), "the message does not name the signal:\n%s", c.out);
    json_t *doc = load_json(out);
    cr_assert_str_eq(str(doc, "status"), "failed");
    cr_assert_str_eq(str(doc, "impl"), "selfkill");
    cr_assert(strstr(str(doc, "failure"), "signal 9"), "failure: %s", str(doc, "failure"));
    cr_assert_gt(count_samples(doc, NULL), 0, "no sample kept");
    json_decref(doc);
}

/* ---- the sweep goes on past a failed point ---- */

/* Writes an executable script. */
static void write_script(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "%s: %s", path, strerror(errno));
    fputs(text, f);
    cr_assert_eq(fclose(f), 0);
    cr_assert_eq(chmod(path, 0755), 0);
}

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
        json_t *doc = load_json(path), *p = json_object_get(doc, "params");
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
        SKIP("the sweep's logic does not depend on the build");
    if (!tenv_impl_enabled("async") || !tenv_impl_enabled("thread"))
        SKIP("needs both servers (TVT_IMPLS=%s)", getenv("TVT_IMPLS"));
    if (access("scripts/sweep.py", R_OK) != 0)
        SKIP("run from the repository root");
    char real[PATH_MAX], fake[PATH_MAX + 16], path[PATH_MAX + 64], text[4 * PATH_MAX];
    cr_assert_not_null(realpath(tenv_bin_dir(), real), "%s: %s", tenv_bin_dir(), strerror(errno));
    snprintf(fake, sizeof fake, "%s/fakebin", tmp_dir);
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
    write_script(path, text);
    snprintf(text, sizeof text,
             "#!/bin/sh\n"
             "[ -n \"$TVT_TEST_KILL_AFTER\" ] && (sleep \"$TVT_TEST_KILL_AFTER\"; kill -KILL $$) "
             "&\n"
             "exec '%s/async_server' \"$@\"\n",
             real);
    snprintf(path, sizeof path, "%s/async_server", fake);
    write_script(path, text);
    snprintf(text, sizeof text, "#!/bin/sh\nexec '%s/thread_server' \"$@\"\n", real);
    snprintf(path, sizeof path, "%s/thread_server", fake);
    write_script(path, text);

    char outdir[PATH_MAX + 16], envbin[PATH_MAX + 32];
    snprintf(outdir, sizeof outdir, "%s/sweep", tmp_dir);
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
        SKIP("python3 is not installed");
    cr_assert_eq(code, 0, "sweep.py exited %d:\n%s", code, c.out);

    char raw[PATH_MAX + 32];
    snprintf(raw, sizeof raw, "%s/raw", outdir);
    /* the point whose server was killed: recorded failed, with the signal */
    json_t *killed = find_point(raw, "async", 1, 0, false);
    cr_assert_not_null(killed, "no result for async 1 conn wait 0:\n%s", c.out);
    cr_assert_str_eq(str(killed, "status"), "failed");
    cr_assert(strstr(str(killed, "failure"), "signal 9"), "failure: %s", str(killed, "failure"));
    json_decref(killed);
    /* the harness that died without a file: the sweep wrote a stand-in in its place */
    json_t *stand_in = find_point(raw, "thread", 100, 1000, false);
    cr_assert_not_null(stand_in, "no stand-in for the harness that died:\n%s", c.out);
    cr_assert_str_eq(str(stand_in, "status"), "failed");
    cr_assert(strstr(str(stand_in, "failure"), "harness"),
              "the stand-in does not say the harness ended: %s", str(stand_in, "failure"));
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
    json_t *m = load_json(meta), *sk, *skipped = get(m, "skipped");
    cr_assert_str_eq(str(m, "state"), "done");
    size_t i;
    bool listed = false;
    json_array_foreach(skipped, i, sk)
    {
        if (strcmp(str(sk, "impl"), "async") == 0 && num(sk, "conns") == 100 &&
            num(sk, "wait_us") == 0)
            listed = listed || strstr(str(sk, "reason"), "at 1 ") != NULL;
    }
    cr_assert(listed, "sweep.json does not list async 100 conns wait 0 as skipped after the "
                      "failure at 1");
    json_decref(m);
}

/* ---- result folders that cannot take the file ---- */

/* `harness load` for a moment against a fresh server, writing to out, with limits in the
 * harness's process. Returns its exit code; the output is in c. */
static int load_to(struct child *c, const char *out, const struct limit *limits, size_t nlimits)
{
    char err[512], target[64];
    struct server_spec spec = {.impl = any_impl()};
    struct server_proc *sp = server_start(&spec, err, sizeof err);
    cr_assert_not_null(sp, "server: %s", err);
    snprintf(target, sizeof target, "127.0.0.1:%d", server_port(sp));
    const char *args[] = {"load",     "--target", target,    "--conns", "2", "--duration", "0.3",
                          "--warmup", "0",        "--quiet", "--out",   out, NULL};
    struct child_opts o = {.limits = limits, .nlimits = nlimits};
    int code = run(c, harness_argv(args), &o);
    struct server_exit ex;
    server_stop(sp, SIGTERM, 5000, &ex);
    server_free(sp);
    return code;
}

/* The harness failed to write out, said so naming the path and cause, left no file at out
 * and no temporary file in folder. */
static void expect_write_error(struct child *c, int code, const char *out, const char *folder,
                               const char *cause)
{
    cr_assert_eq(code, 1, "harness exited %d, expected 1 (cannot write %s):\n%s", code, out,
                 c->out);
    cr_assert(strstr(c->out, out), "the message does not name %s:\n%s", out, c->out);
    cr_assert(strstr(c->out, cause), "the message does not say '%s':\n%s", cause, c->out);
    const char *base = strrchr(out, '/') + 1;
    char prefix[256];
    snprintf(prefix, sizeof prefix, "%s.tmp", base);
    cr_assert_not(has_entry(folder, prefix), "a temporary file was left in %s", folder);
}

Test(harness_faults, out_under_a_regular_file_is_a_clear_error)
{
    char file[600], out[700];
    struct child c;
    snprintf(file, sizeof file, "%s/not-a-folder", tmp_dir);
    close(open(file, O_WRONLY | O_CREAT, 0644));
    snprintf(out, sizeof out, "%s/r.json", file);
    int code = load_to(&c, out, NULL, 0);
    expect_write_error(&c, code, out, tmp_dir, "Not a directory");
    struct stat st;
    cr_assert(stat(file, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0);
}

Test(harness_faults, out_in_a_missing_folder_is_a_clear_error)
{
    char out[700], missing[600];
    struct child c;
    snprintf(missing, sizeof missing, "%s/missing", tmp_dir);
    snprintf(out, sizeof out, "%s/r.json", missing);
    int code = load_to(&c, out, NULL, 0);
    expect_write_error(&c, code, out, tmp_dir, "No such file or directory");
    cr_assert_neq(access(missing, F_OK), 0, "the harness created %s", missing);
}

Test(harness_faults, out_over_a_folder_is_a_clear_error)
{
    char out[600];
    struct child c;
    snprintf(out, sizeof out, "%s/a-folder", tmp_dir);
    cr_assert_eq(mkdir(out, 0755), 0);
    int code = load_to(&c, out, NULL, 0);
    expect_write_error(&c, code, out, tmp_dir, "Is a directory");
    struct stat st;
    cr_assert(stat(out, &st) == 0 && S_ISDIR(st.st_mode), "the folder was replaced");
}

/* A full disk, as RLIMIT_FSIZE makes it: write() fails with EFBIG and the kernel sends
 * SIGXFSZ, whose default action kills. The harness must report the error (SIGXFSZ ignored),
 * not die and leave half a temporary file. 512 bytes: the file is cut mid-document. */
Test(harness_faults, full_disk_is_a_clear_error_and_leaves_no_half_file)
{
    char dir[600], out[700];
    struct child c;
    struct limit fsize = {RLIMIT_FSIZE, 512};
    snprintf(dir, sizeof dir, "%s/results", tmp_dir);
    cr_assert_eq(mkdir(dir, 0755), 0);
    snprintf(out, sizeof out, "%s/r.json", dir);
    int code = load_to(&c, out, &fsize, 1);
    cr_assert_neq(code, 128 + SIGXFSZ,
                  "the harness was killed by SIGXFSZ (it should ignore it and report EFBIG); "
                  "temporary file left: %s",
                  has_entry(dir, "r.json.tmp") ? "yes" : "no");
    expect_write_error(&c, code, out, dir, "File too large");
    cr_assert_neq(access(out, F_OK), 0, "%s exists", out);

    /* an earlier result at the same path survives the failed write whole */
    static const char old[] = "{\"status\": \"ok\", \"note\": \"an earlier run\"}\n";
    FILE *f = fopen(out, "w");
    cr_assert_not_null(f);
    fputs(old, f);
    fclose(f);
    code = load_to(&c, out, &fsize, 1);
    expect_write_error(&c, code, out, dir, "File too large");
    char back[256] = "";
    f = fopen(out, "r");
    cr_assert_not_null(f);
    size_t n = fread(back, 1, sizeof back - 1, f);
    fclose(f);
    back[n] = '\0';
    cr_assert_str_eq(back, old, "the earlier result was changed");
}

/* ---- targets outside loopback ---- */

/* Runs harness args in a fresh network namespace; skips the test if there is none to be
 * had (never falls back to the real network). */
static int run_isolated(struct child *c, const char *const *args)
{
    struct child_opts o = {.netns = true};
    int code = run(c, harness_argv(args), &o);
    if (code == NETNS_FAILED)
        SKIP("cannot create a network namespace (needs CAP_SYS_ADMIN); not risking "
             "traffic to a remote address outside one");
    return code;
}

/* true if strace is there and can trace a child here */
static bool strace_works(void)
{
    struct child c;
    const char *argv[] = {"strace", "-f", "-qq", "-e", "trace=none", "true", NULL};
    return run(&c, argv, NULL) == 0;
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
    snprintf(marker, sizeof marker, "%s/server-started", tmp_dir);
    snprintf(cmd, sizeof cmd, "touch '%s'", marker);
    const char *run_args[] = {"run", "--server-cmd", cmd, "--target", "10.1.2.3:80", NULL};
    cr_assert_eq(run_isolated(&c, run_args), 2, "run --target 10.1.2.3:80:\n%s", c.out);
    cr_assert(strstr(c.out, "--allow-remote"), "%s", c.out);
    cr_assert_neq(access(marker, F_OK), 0, "the server was started before the refusal");

    /* no connect() at all, as strace sees it */
    if (strace_works()) {
        for (size_t i = 0; i < 2; i++) {
            char log[600];
            snprintf(log, sizeof log, "%s/strace-%zu.log", tmp_dir, i);
            const char *args[] = {"strace",
                                  "-f",
                                  "-qq",
                                  "-e",
                                  "trace=connect,sendto,sendmsg",
                                  "-o",
                                  log,
                                  harness_path(),
                                  "load",
                                  "--target",
                                  remote[i],
                                  "--duration",
                                  "1",
                                  NULL};
            /* LeakSanitizer cannot run under ptrace */
            const char *env[] = {"ASAN_OPTIONS=detect_leaks=0", NULL};
            struct child_opts o = {.netns = true, .env = env};
            int code = run(&c, args, &o);
            if (code == NETNS_FAILED)
                SKIP("no network namespace");
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
    char err[512], target[64], out[600];
    struct child c;
    struct limit nofile = {RLIMIT_NOFILE, 256};
    struct child_opts o = {.limits = &nofile, .nlimits = 1};
    struct server_spec spec = {.impl = any_impl()};
    struct server_proc *sp = server_start(&spec, err, sizeof err);
    cr_assert_not_null(sp, "server: %s", err);
    snprintf(target, sizeof target, "127.0.0.1:%d", server_port(sp));
    snprintf(out, sizeof out, "%s/nofile.json", tmp_dir);

    /* 400 connections cannot fit in 256 descriptors: a usage error before any connect, naming
       the limit and the way out */
    const char *args[] = {"load",     "--target", target,    "--conns", "400", "--duration", "0.3",
                          "--warmup", "0",        "--quiet", "--out",   out,   NULL};
    unlink(out);
    int code = run(&c, harness_argv(args), &o);
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
    code = run(&c, harness_argv(split), &o);
    cr_assert_eq(code, 0, "--procs 4 under the same limit: exit %d:\n%s", code, c.out);
    doc = load_json(out);
    cr_assert_str_eq(str(doc, "status"), "ok");
    cr_assert_eq(num(get(doc, "client"), "conns_open_end"), 400);
    json_decref(doc);

    struct server_exit ex;
    cr_assert_eq(server_stop(sp, SIGTERM, 5000, &ex), 0);
    cr_assert(ex.exited && ex.code == 0, "server: %s", ex.err);
    server_free(sp);
}

/* ---- valgrind memcheck over short harness runs ---- */

TestSuite(harness_valgrind, .init = setup, .fini = teardown, .timeout = 90);

static void skip_without_valgrind(void)
{
    struct child c;
    const char *probe[] = {"valgrind", "--version", NULL};
    if (tenv_sanitized())
        SKIP("valgrind cannot run %s-sanitized programs", getenv("TVT_SANITIZER"));
    if (run(&c, probe, NULL) != 0)
        SKIP("valgrind is not installed");
}

/* Runs `valgrind --leak-check=full ... harness ARGS`; only the harness process reports
 * (its server runs natively). Checks: exit 0 (99 = valgrind found errors), no error, no
 * definite or indirect leak, a valid result with requests in it. */
static void memcheck(const char *name, const char *const *args)
{
    struct child c;
    char log[600], logopt[640], out[600];
    snprintf(log, sizeof log, "%s/%s.vg.log", tmp_dir, name);
    snprintf(logopt, sizeof logopt, "--log-file=%s", log);
    snprintf(out, sizeof out, "%s/%s.json", tmp_dir, name);
    const char *argv[64] = {"valgrind",
                            "--leak-check=full",
                            "--errors-for-leak-kinds=definite,indirect",
                            "--error-exitcode=99",
                            "--trace-children=no",
                            "--child-silent-after-fork=yes",
                            logopt,
                            harness_path()};
    int n = 8;
    for (int i = 0; args[i] && n < 60; i++)
        argv[n++] = args[i];
    argv[n++] = "--out";
    argv[n++] = out;
    argv[n] = NULL;
    int code = run(&c, argv, NULL);

    FILE *f = fopen(log, "r");
    cr_assert_not_null(f, "valgrind wrote no log (exit %d):\n%s", code, c.out);
    static char text[1 << 16];
    size_t len = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[len] = '\0';
    cr_assert_eq(code, 0, "valgrind + harness exited %d (99: memcheck errors):\n%s\n%s", code,
                 c.out, text);
    cr_assert(strstr(text, "ERROR SUMMARY: 0 errors"), "memcheck errors:\n%s", text);
    const char *kinds[] = {"definitely lost: ", "indirectly lost: "};
    for (size_t k = 0; k < 2; k++) {
        const char *p = strstr(text, kinds[k]);
        cr_assert(!p || atol(p + strlen(kinds[k])) == 0, "%s:\n%s", kinds[k], text);
    }
    json_t *doc = load_json(out);
    cr_assert_str_eq(str(doc, "status"), "ok", "failure: %s",
                     json_string_value(json_object_get(doc, "failure")));
    cr_assert_gt(num(get(doc, "client"), "requests"), 0);
    json_decref(doc);
}

Test(harness_valgrind, load_has_no_leak_and_no_error)
{
    skip_without_valgrind();
    char err[512], target[64];
    struct server_spec spec = {.impl = any_impl()};
    struct server_proc *sp = server_start(&spec, err, sizeof err);
    cr_assert_not_null(sp, "server: %s", err);
    snprintf(target, sizeof target, "127.0.0.1:%d", server_port(sp));
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
    const char *args[] = {"run",      "--impl", any_impl(), "--conns", "4",       "--duration", "1",
                          "--warmup", "0.2",    "--idle-s", "0.1",     "--quiet", NULL};
    memcheck("run", args);
}
