/* Unit tests of common/procfs: parsers against real /proc files from a Linux 6.x box
   (tests/fixtures/proc/), prefixes fed byte by byte, and the live readers on this process. */
#include "procfs.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FIXTURES "tests/fixtures/proc/"

static char fixture[16384];

/* Loads a fixture (tests run from the repo root). */
static const char *load(const char *name)
{
    char path[256];
    snprintf(path, sizeof path, FIXTURES "%s", name);
    ssize_t n = procfs_slurp(path, fixture, sizeof fixture);
    cr_assert_gt(n, 0, "cannot read %s (run tests from the repo root): %s", path, strerror(errno));
    return fixture;
}

/* Deletes the line that starts with key, so a parser sees the field missing. */
static void drop_line(char *text, const char *key)
{
    char *p = strstr(text, key);
    cr_assert_not_null(p, "fixture has no %s line", key);
    char *eol = strchr(p, '\n');
    memmove(p, eol + 1, strlen(eol + 1) + 1);
}

Test(procfs, status_fixture_values)
{
    /* The numbers in tests/fixtures/proc/status, a bash that ran 20 children. */
    struct proc_mem m;
    cr_assert_eq(procfs_parse_status(load("status"), &m), 0);
    cr_expect_eq(m.rss_kib, 1780);
    cr_expect_eq(m.hwm_kib, 1780);
    cr_expect_eq(m.vsz_kib, 3060);
    cr_expect_eq(m.rss_anon_kib, 112);
    cr_expect_eq(m.threads, 1);
    cr_expect_eq(m.ctx_vol, 22);
    cr_expect_eq(m.ctx_invol, 0);
}

Test(procfs, status_prefixes_byte_by_byte)
{
    /* Every prefix that ends before the last needed number (nonvoluntary_ctxt_switches)
       must fail; the first prefix that holds it must parse. A reader that got a short
       read must never see made-up figures. */
    const char *full = load("status");
    const char *last = strstr(full, "nonvoluntary_ctxt_switches:");
    cr_assert_not_null(last);
    size_t need = (size_t)(strchr(last, '0') - full) + 1; /* its value is "0" */
    char *buf = malloc(strlen(full) + 1);
    struct proc_mem m;
    for (size_t len = 0; len < need; len++) {
        memcpy(buf, full, len);
        buf[len] = '\0';
        cr_assert_eq(procfs_parse_status(buf, &m), -1, "prefix of %zu bytes parsed", len);
        cr_assert_eq(errno, EINVAL);
    }
    memcpy(buf, full, need);
    buf[need] = '\0';
    cr_expect_eq(procfs_parse_status(buf, &m), 0);
    free(buf);
}

Test(procfs, status_each_missing_field_fails)
{
    /* Table: each field the struct needs; dropping any one of them must fail. */
    static const char *keys[] = {"VmRSS:",
                                 "VmHWM:",
                                 "VmSize:",
                                 "RssAnon:",
                                 "Threads:",
                                 "\nvoluntary_ctxt_switches:",
                                 "nonvoluntary_ctxt_switches:"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        char *text = strdup(load("status"));
        const char *k = keys[i][0] == '\n' ? keys[i] + 1 : keys[i];
        char *p = keys[i][0] == '\n' ? strstr(text, keys[i]) + 1 : strstr(text, k);
        char *eol = strchr(p, '\n');
        memmove(p, eol + 1, strlen(eol + 1) + 1);
        struct proc_mem m;
        cr_expect_eq(procfs_parse_status(text, &m), -1, "parsed without %s", k);
        free(text);
    }
}

Test(procfs, smaps_rollup_pss)
{
    long pss = -1;
    cr_assert_eq(procfs_parse_smaps_rollup(load("smaps_rollup"), &pss), 0);
    cr_expect_eq(pss, 481);
}

Test(procfs, pss_not_confused_with_longer_keys)
{
    /* Pss_Anon and SwapPss come near Pss: only the whole key may match. */
    long pss = -1;
    cr_assert_eq(
        procfs_parse_smaps_rollup("Rss: 9 kB\nPss_Anon: 5 kB\nSwapPss: 3 kB\nPss: 7 kB\n", &pss),
        0);
    cr_expect_eq(pss, 7);
    cr_expect_eq(procfs_parse_smaps_rollup("Pss_Anon: 5 kB\nSwapPss: 3 kB\n", &pss), -1);
}

Test(procfs, meminfo_fixture_values)
{
    struct sys_mem s;
    cr_assert_eq(procfs_parse_meminfo(load("meminfo"), &s), 0);
    cr_expect_eq(s.mem_total_kib, 24684084);
    cr_expect_eq(s.mem_available_kib, 24417088);
    cr_expect_eq(s.kernel_stack_kib, 1364);
    cr_expect_eq(s.sunreclaim_kib, 22396);
}

Test(procfs, meminfo_missing_kernelstack_fails)
{
    char *text = strdup(load("meminfo"));
    drop_line(text, "KernelStack:");
    struct sys_mem s;
    cr_expect_eq(procfs_parse_meminfo(text, &s), -1);
    free(text);
}

Test(procfs, sockstat_fixture_values)
{
    long inuse = -1, mem = -1;
    cr_assert_eq(procfs_parse_sockstat(load("sockstat"), &inuse, &mem), 0);
    cr_expect_eq(inuse, 1);
    cr_expect_eq(mem, 257);
}

Test(procfs, sockstat_without_tcp_fails)
{
    /* The UDP line also has "inuse" and "mem": it must not be taken for TCP. */
    long inuse = -1, mem = -1;
    cr_expect_eq(procfs_parse_sockstat("sockets: used 3\nUDP: inuse 4 mem 5\n", &inuse, &mem), -1);
    cr_expect_eq(procfs_parse_sockstat("TCP: inuse 4 orphan 0\nUDP: inuse 4 mem 5\n", &inuse, &mem),
                 -1);
}

Test(procfs, slurp_truncates_and_terminates)
{
    char small[8];
    cr_assert_eq(procfs_slurp(FIXTURES "sockstat", small, sizeof small), 7);
    cr_expect_str_eq(small, "sockets");
    cr_expect_eq(procfs_slurp(FIXTURES "no-such-file", small, sizeof small), -1);
    cr_expect_eq(errno, ENOENT);
}

Test(procfs, live_status_and_pss)
{
    struct proc_mem m;
    long pss = 0;
    cr_assert_eq(procfs_read_status(0, &m), 0);
    cr_expect_geq(m.threads, 1);
    cr_expect_gt(m.rss_kib, 0);
    cr_expect_geq(m.vsz_kib, m.rss_kib);
    cr_assert_eq(procfs_read_pss(getpid(), &pss), 0);
    cr_expect_gt(pss, 0);
    cr_expect_eq(procfs_read_status(-5, &m), -1);
}

static int hold_pipe[2];
static atomic_int slept;

/* Sleeps 20 times (one voluntary switch each), then stays alive, blocked in read(),
   until the test has counted: an exited thread's switches vanish from /proc. */
static void *sleeper(void *arg)
{
    (void)arg;
    char c;
    for (int i = 0; i < 20; i++)
        usleep(200);
    atomic_store(&slept, 1);
    while (read(hold_pipe[0], &c, 1) < 0 && errno == EINTR)
        ;
    return NULL;
}

Test(procfs, task_switches_sum_over_threads)
{
    long long v0, i0, v1, i1;
    cr_assert_eq(pipe(hold_pipe), 0);
    cr_assert_eq(procfs_task_switches(0, &v0, &i0), 0);
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, sleeper, NULL), 0);
    for (int i = 0; i < 2000 && !atomic_load(&slept); i++)
        usleep(1000);
    cr_assert(atomic_load(&slept), "the sleeper thread did not finish in 2 s");
    cr_assert_eq(procfs_task_switches(getpid(), &v1, &i1), 0);
    cr_assert_eq(write(hold_pipe[1], "x", 1), 1);
    pthread_join(t, NULL);
    close(hold_pipe[0]);
    close(hold_pipe[1]);
    cr_expect_geq(v1 - v0, 20, "only %lld voluntary switches seen", v1 - v0);
    cr_expect_geq(i1, i0);
}
