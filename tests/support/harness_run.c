/* harness_run: run bin/harness from a test (bounded, output to a log) and read its JSON result. */
#include "harness_run.h"

#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test_env.h"

int hrun(const char *dir, const char *name, const char *const *args, int timeout_s)
{
    char path[512], log[512];
    snprintf(path, sizeof path, "%s/harness", tenv_bin_dir());
    cr_assert(access(path, X_OK) == 0, "%s is not built (TVT_BIN_DIR=%s)", path, tenv_bin_dir());
    snprintf(log, sizeof log, "%s/%s.log", dir, name);
    const char *argv[96];
    int n = 0;
    argv[n++] = path;
    for (int i = 0; args[i] && n < 95; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execv(path, (char *const *)argv);
        _exit(127);
    }
    double deadline = tenv_now_ms() + timeout_s * 1000.0;
    for (;;) {
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        if (tenv_now_ms() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            return -1;
        }
        usleep(20000);
    }
}

char *hrun_log(const char *dir, const char *name)
{
    char log[512];
    snprintf(log, sizeof log, "%s/%s.log", dir, name);
    FILE *f = fopen(log, "r");
    cr_assert_not_null(f, "no log %s", log);
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    cr_assert_not_null(buf);
    for (;;) {
        if (cap - len < 4096) {
            cap *= 2;
            buf = realloc(buf, cap);
            cr_assert_not_null(buf);
        }
        size_t n = fread(buf + len, 1, cap - 1 - len, f);
        if (n == 0)
            break;
        len += n;
    }
    buf[len] = '\0';
    fclose(f);
    return buf;
}

json_t *hjson_load(const char *path)
{
    json_error_t e;
    json_t *doc = json_load_file(path, 0, &e);
    cr_assert_not_null(doc, "%s is not valid JSON: %s (line %d)", path, e.text, e.line);
    return doc;
}

json_t *hget(json_t *obj, const char *key)
{
    cr_assert(json_is_object(obj), "parent of '%s' is not an object", key);
    json_t *v = json_object_get(obj, key);
    cr_assert_not_null(v, "key '%s' is missing", key);
    return v;
}

double hnum(json_t *obj, const char *key)
{
    json_t *v = hget(obj, key);
    cr_assert(json_is_number(v), "key '%s' is not a number", key);
    return json_number_value(v);
}

const char *hstr(json_t *obj, const char *key)
{
    json_t *v = hget(obj, key);
    cr_assert(json_is_string(v), "key '%s' is not a string", key);
    return json_string_value(v);
}
