/* Integration test of `make compare`: scripts/compare.sh --rounds 1 --duration 1 into a
 * temporary folder, then checks compare.json: both ratios (async/nginx, harness/wrk) are
 * positive numbers and each section has one row per round. Skips without nginx or wrk. */
#include "../support/test_env.h"
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* About 15 s here (six servers and two generators, 1 s each); the bound is for a stuck run
 * on a busy machine, not the expected time. */
#define COMPARE_TIMEOUT_S 90
#define ROUNDS            1

static char out_dir[] = "/tmp/tvt-compare-XXXXXX";
static char log_path[64];

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static void cleanup(void)
{
    if (strstr(out_dir, "XXXXXX") == NULL)
        nftw(out_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    if (log_path[0])
        unlink(log_path);
}

/* The last bytes of the run's log, for a failure message. Static storage. */
static const char *log_tail(void)
{
    static char tail[3072];
    tail[0] = '\0';
    FILE *f = fopen(log_path, "rb");
    if (!f)
        return tail;
    if (fseek(f, 0, SEEK_END) == 0) {
        long len = ftell(f);
        long from = len > (long)sizeof tail - 1 ? len - (long)sizeof tail + 1 : 0;
        if (fseek(f, from, SEEK_SET) == 0) {
            size_t n = fread(tail, 1, sizeof tail - 1, f);
            tail[n] = '\0';
        }
    }
    fclose(f);
    return tail;
}

/* Runs scripts/compare.sh with argv[] in its own process group, output in log_path;
 * stops the group if it outlives COMPARE_TIMEOUT_S. Returns the wait status. */
static int run_compare(char *const argv[])
{
    pid_t pid = fork();
    cr_assert_neq(pid, -1, "fork: %s", strerror(errno));
    if (pid == 0) {
        setpgid(0, 0);
        int fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execv("scripts/compare.sh", argv);
        _exit(127);
    }
    setpgid(pid, pid);
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int status = 0;
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            break;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - t0.tv_sec > COMPARE_TIMEOUT_S) {
            kill(-pid, SIGTERM);
            waitpid(pid, &status, 0);
            cr_assert_fail("compare.sh ran over %d s; log tail:\n%s", COMPARE_TIMEOUT_S,
                           log_tail());
        }
        usleep(100 * 1000);
    }
    return status;
}

/* One section of compare.json: its median ratio and every round's ratio are positive
 * numbers, and it has one row per round, numbered 1..ROUNDS. */
static void check_section(const json_t *doc, const char *key)
{
    const json_t *sec = json_object_get(doc, key);
    cr_assert(json_is_object(sec), "compare.json has no object \"%s\"", key);
    const json_t *skipped = json_object_get(sec, "skipped");
    cr_expect(skipped == NULL || json_is_null(skipped), "%s was skipped: %s", key,
              json_is_string(skipped) ? json_string_value(skipped) : "?");
    const json_t *median = json_object_get(sec, "median_ratio");
    cr_expect(json_is_real(median) && json_real_value(median) > 0,
              "%s.median_ratio is not a positive number; log tail:\n%s", key, log_tail());
    const json_t *rounds = json_object_get(sec, "rounds");
    cr_assert(json_is_array(rounds), "%s.rounds is not an array", key);
    cr_expect_eq(json_array_size(rounds), ROUNDS, "%s has %zu rows for %d rounds", key,
                 json_array_size(rounds), ROUNDS);
    size_t i;
    const json_t *row;
    json_array_foreach(rounds, i, row)
    {
        const json_t *n = json_object_get(row, "round");
        cr_expect(json_is_integer(n) && json_integer_value(n) == (json_int_t)i + 1,
                  "%s row %zu is not round %zu", key, i, i + 1);
        const json_t *ratio = json_object_get(row, "ratio");
        cr_expect(json_is_real(ratio) && json_real_value(ratio) > 0,
                  "%s round %zu has no positive ratio", key, i + 1);
    }
}

TestSuite(compare, .fini = cleanup, .timeout = COMPARE_TIMEOUT_S + 30);

Test(compare, one_round_gives_both_ratios)
{
    char p[512];
    snprintf(p, sizeof p, "%s/harness", tenv_bin_dir());
    if (access(p, X_OK) != 0)
        cr_skip("%s not built: compare.sh needs the harness", p);
    if (!tenv_find_program("nginx", p, sizeof p))
        cr_skip("nginx is not installed (apt-get install nginx-light): no async/nginx ratio");
    if (!tenv_find_program("wrk", p, sizeof p))
        cr_skip("wrk is not installed (apt-get install wrk): no harness/wrk ratio");

    cr_assert_not_null(mkdtemp(out_dir), "mkdtemp: %s", strerror(errno));
    snprintf(log_path, sizeof log_path, "%s.log", out_dir);
    char *const argv[] = {
        "scripts/compare.sh", "--rounds", "1", "--duration", "1", "--out", out_dir, NULL};
    int status = run_compare(argv);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
              "compare.sh exited with status %d; log tail:\n%s", status, log_tail());

    snprintf(p, sizeof p, "%s/compare.json", out_dir);
    json_error_t jerr;
    json_t *doc = json_load_file(p, 0, &jerr);
    cr_assert_not_null(doc, "%s: %s (line %d)", p, jerr.text, jerr.line);
    cr_expect_str_eq(json_string_value(json_object_get(doc, "schema")), "tvt-compare/1");
    cr_expect_str_eq(json_string_value(json_object_get(doc, "status")), "ok");
    check_section(doc, "async_vs_nginx");
    check_section(doc, "harness_vs_wrk");
    cr_expect(json_is_object(json_object_get(doc, "env")), "compare.json has no env");
    json_decref(doc);
}

Test(compare, bad_arguments_are_usage_errors)
{
    char *const zero[] = {"scripts/compare.sh", "--rounds", "0", NULL};
    char *const frac[] = {"scripts/compare.sh", "--duration", "1.5", NULL};
    char *const unknown[] = {"scripts/compare.sh", "--bogus", NULL};
    char *const *cases[] = {zero, frac, unknown};
    snprintf(log_path, sizeof log_path, "/tmp/tvt-compare-usage-%d.log", (int)getpid());
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int status = run_compare(cases[i]);
        cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 2,
                  "compare.sh %s exited with status %d, not 2; log:\n%s", cases[i][1], status,
                  log_tail());
    }
}
