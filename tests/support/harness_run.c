/* harness_run: run bin/harness from a test and read its JSON result. */
#include "harness_run.h"

#include <criterion/criterion.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "files.h"
#include "server_proc.h"
#include "test_env.h"

#define MAX_ARGS 96

const char *const HRUN_ERROR_KINDS[] = {"connect", "read", "write", "timeout",
                                        "status",  "body", NULL};

const char *hrun_impl(void)
{
    return tenv_impl_enabled("async") ? "async" : "thread";
}

struct server_proc *hrun_server(const char *impl, char *target, size_t len)
{
    char err[2048];
    struct server_spec spec = {.impl = impl};
    struct server_proc *sp = server_start(&spec, err, sizeof err);
    cr_assert_not_null(sp, "%s server: %s", impl, err);
    snprintf(target, len, "127.0.0.1:%d", server_port(sp));
    return sp;
}

void hrun_need(const char *who)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/harness", tenv_bin_dir());
    if (access(path, X_OK) != 0)
        cr_skip_test("%s not built: %s needs the harness", path, who);
}

const char *hrun_path(void)
{
    static char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/harness", tenv_bin_dir());
    cr_assert(access(path, X_OK) == 0, "%s is not built (TVT_BIN_DIR=%s)", path, tenv_bin_dir());
    return path;
}

const char *const *hrun_argv(const char *const *args)
{
    static const char *argv[MAX_ARGS];
    int n = 0;
    argv[n++] = hrun_path();
    for (int i = 0; args[i]; i++) {
        cr_assert(n < MAX_ARGS - 1, "more than %d harness arguments", MAX_ARGS - 2);
        argv[n++] = args[i];
    }
    argv[n] = NULL;
    return argv;
}

int hrun_child(struct child *c, const char *const *args, const struct child_opts *o)
{
    return child_run(c, hrun_argv(args), o, HRUN_TIMEOUT_MS);
}

int hrun(const char *dir, const char *name, const char *const *args, int timeout_s)
{
    static struct child c; /* its output buffer is large for a stack (unused with a log) */
    char log[512];
    snprintf(log, sizeof log, "%s/%s.log", dir, name);
    struct child_opts o = {.log = log};
    return child_run(&c, hrun_argv(args), &o, timeout_s * 1000);
}

char *hrun_log(const char *dir, const char *name)
{
    char log[512];
    snprintf(log, sizeof log, "%s/%s.log", dir, name);
    char *text = tfile_slurp(log, NULL);
    cr_assert_not_null(text, "no log %s", log);
    return text;
}

int hrun_result(const char *dir, const char *name, const char *const *args, int timeout_s,
                json_t **doc)
{
    char out[600];
    const char *argv[MAX_ARGS];
    int n = 0, i = 0;
    snprintf(out, sizeof out, "%s/%s.json", dir, name);
    unlink(out);
    for (; args[i] && strcmp(args[i], "--") != 0; i++) {
        cr_assert(n < MAX_ARGS - 4, "too many harness arguments");
        argv[n++] = args[i];
    }
    argv[n++] = "--out";
    argv[n++] = out;
    argv[n++] = "--quiet";
    for (; args[i]; i++) {
        cr_assert(n < MAX_ARGS - 1, "too many harness arguments");
        argv[n++] = args[i];
    }
    argv[n] = NULL;
    int rc = hrun(dir, name, argv, timeout_s);
    *doc = access(out, F_OK) == 0 ? hjson_load(out) : NULL;
    return rc;
}

json_t *hrun_ok(const char *dir, const char *name, const char *const *args, int timeout_s)
{
    json_t *doc;
    int rc = hrun_result(dir, name, args, timeout_s, &doc);
    char *log = hrun_log(dir, name);
    cr_assert_eq(rc, 0, "%s: harness exited %d:\n%s", name, rc, log);
    cr_assert_not_null(doc, "%s: no result file:\n%s", name, log);
    cr_assert_str_eq(hstr(doc, "status"), "ok", "%s:\n%s", name, log);
    free(log);
    return doc;
}
