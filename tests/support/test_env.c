/* test_env.c: the integration tests' environment variables, clocks and commands. */
#include "test_env.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "child_proc.h"
#include "clock.h"

const char *tenv_bin_dir(void)
{
    const char *b = getenv("TVT_BIN_DIR");
    return b && *b ? b : "bin";
}

bool tenv_impl_enabled(const char *impl)
{
    const char *env = getenv("TVT_IMPLS");
    size_t n = strlen(impl);

    if (!env || !*env)
        return true;
    for (const char *p = env; (p = strstr(p, impl)) != NULL; p += n) {
        bool start = p == env || p[-1] == ',' || p[-1] == ' ';
        bool end = p[n] == '\0' || p[n] == ',' || p[n] == ' ';
        if (start && end)
            return true;
    }
    return false;
}

const char *tenv_sanitizer(void)
{
    const char *s = getenv("TVT_SANITIZER");
    return s ? s : "";
}

bool tenv_sanitized(void)
{
    return *tenv_sanitizer() != '\0';
}

double tenv_slack(void)
{
    const char *s = tenv_sanitizer();

    if (strcmp(s, "thread") == 0)
        return 5.0;        /* TSan: 5-15x slower */
    return *s ? 3.0 : 1.0; /* ASan: 2-3x */
}

int tenv_scaled(int n)
{
    const char *s = tenv_sanitizer();

    if (strcmp(s, "thread") == 0)
        return n / 4;
    return *s ? n / 2 : n;
}

int tenv_io_ms(void)
{
    return (int)(5000 * tenv_slack());
}

double tenv_now_ms(void)
{
    return (double)clock_now_ns() / 1e6;
}

void tenv_sleep_ms(double ms)
{
    struct timespec ts = {(time_t)(ms / 1000),
                          (long)((ms - (double)(time_t)(ms / 1000) * 1000) * 1e6)};

    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

bool tenv_find_program(const char *prog, char *out, size_t outlen)
{
    const char *path = getenv("PATH");
    char dirs[4096];
    snprintf(dirs, sizeof dirs, "%s:/usr/local/sbin:/usr/sbin:/sbin",
             path && *path ? path : "/usr/bin:/bin");
    char *save = NULL;
    for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        snprintf(out, outlen, "%s/%s", d, prog);
        if (access(out, X_OK) == 0)
            return true;
    }
    return false;
}

int tenv_run_cmd(char *const argv[], char *out, size_t outlen, int timeout_ms)
{
    static struct child c; /* its output buffer is large for a stack */
    child_run(&c, (const char *const *)argv, NULL, timeout_ms);
    snprintf(out, outlen, "%s", c.out);
    return c.status;
}
