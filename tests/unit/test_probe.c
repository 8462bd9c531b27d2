/* Unit tests for harness/probe: CPU times out of /proc/PID/stat text, the process tree. */
#include <criterion/criterion.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../harness/observe/probe.h"

Test(probe, parses_utime_and_stime)
{
    /* fields 14 and 15 are utime and stime, in ticks */
    const char *stat = "1234 (async_server) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 75 0 0 "
                       "20 0 1 0 12345 11904000 800 18446744073709551615";
    double u, s;
    cr_assert_eq(probe_parse_stat(stat, 100, &u, &s), 0);
    cr_assert_float_eq(u, 2.5, 1e-9);
    cr_assert_float_eq(s, 0.75, 1e-9);
}

Test(probe, survives_a_name_with_spaces_and_parentheses)
{
    const char *stat = "77 (a b) (c)) R 1 77 77 0 -1 0 0 0 0 0 3 4 0 0 20 0 1 0 1 1 1 1";
    double u, s;
    cr_assert_eq(probe_parse_stat(stat, 100, &u, &s), 0);
    cr_assert_float_eq(u, 0.03, 1e-9);
    cr_assert_float_eq(s, 0.04, 1e-9);
}

Test(probe, rejects_truncated_text)
{
    double u, s;
    cr_assert_eq(probe_parse_stat("77 (x) R 1 2", 100, &u, &s), -1);
    cr_assert_eq(probe_parse_stat("no parenthesis", 100, &u, &s), -1);
}

Test(probe, reads_this_process)
{
    double u, s;
    cr_assert_eq(probe_cpu(getpid(), &u, &s), 0);
    cr_assert_geq(u, 0);
}

Test(probe, tree_holds_the_process_and_its_children)
{
    pid_t child = fork();
    cr_assert_geq(child, 0);
    if (child == 0) {
        pause();
        _exit(0);
    }
    pid_t tree[PROBE_TREE_MAX];
    int n = probe_tree(getpid(), tree, PROBE_TREE_MAX);
    bool found = false;
    for (int i = 0; i < n; i++)
        found |= tree[i] == child;
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    cr_assert_geq(n, 2);
    cr_assert_eq(tree[0], getpid());
    cr_assert(found, "child %d not in the tree of %d", (int)child, (int)getpid());
    /* sums over the tree are at least the process's own figures */
    struct probe p;
    probe_read(getpid(), NULL, PROBE_MEM | PROBE_CPU, &p);
    cr_assert(p.mem_ok && p.cpu_ok);
    cr_assert_gt(p.mem.rss_kib, 0);
    cr_assert_eq(probe_tree(999999999, tree, PROBE_TREE_MAX), 0, "a pid that does not exist");
}
