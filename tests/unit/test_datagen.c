/* Unit tests for harness/datagen: the io=file data file is written once with real data (not
 * zeros, not sparse) under its own name, reused while it fits, replaced when it does not, and
 * never written on a memory filesystem; stale temporary files are removed. Files go under
 * build/ (a disk here), 2 MiB each. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "../../harness/run/datagen.h"

static char dir[128];

static void setup(void)
{
    struct statfs sf;
    mkdir("build", 0755);
    snprintf(dir, sizeof dir, "build/test-datagen.%d/sub/dir", (int)getpid());
    if (statfs("build", &sf) == 0 && (sf.f_type == TMPFS_MAGIC || sf.f_type == RAMFS_MAGIC))
        cr_skip_test("build/ is on a memory filesystem");
}

static void teardown(void)
{
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf build/test-datagen.%d", (int)getpid());
    (void)!system(cmd);
}

TestSuite(datagen, .init = setup, .fini = teardown, .timeout = 60);

static int calls;
static int count(void *arg, uint64_t done, uint64_t total)
{
    (void)arg;
    cr_assert(done <= total);
    calls++;
    return 0;
}

Test(datagen, name)
{
    char buf[64];
    cr_assert_str_eq(datagen_name(1024, buf, sizeof buf), "tvt-data-1024MiB.bin");
}

/* created in a folder that did not exist, with data that is neither zeros nor repeated */
Test(datagen, writes_real_data_then_reuses_it)
{
    struct datagen g, again;
    char err[512];
    struct stat st, st2;
    calls = 0;
    cr_assert_eq(datagen_prepare(dir, 2, count, NULL, &g, err, sizeof err), 0, "%s", err);
    cr_assert_not(g.reused);
    cr_assert_eq(calls, 2, "a progress call per MiB");
    cr_assert(strstr(g.path, "/tvt-data-2MiB.bin"), "%s", g.path);
    cr_assert_eq(stat(g.path, &st), 0);
    cr_assert_eq(st.st_size, 2 << 20);
    cr_assert_geq((long long)st.st_blocks * 512, (long long)st.st_size, "not sparse");
    FILE *f = fopen(g.path, "rb");
    cr_assert_not_null(f);
    static unsigned char a[4096], b[4096], zero[4096];
    cr_assert_eq(fread(a, 1, sizeof a, f), sizeof a);
    fseek(f, 1 << 20, SEEK_SET);
    cr_assert_eq(fread(b, 1, sizeof b, f), sizeof b);
    fclose(f);
    cr_assert(memcmp(a, zero, sizeof a) != 0, "not zeros");
    cr_assert(memcmp(a, b, sizeof a) != 0, "not one block repeated");
    /* the second time: the same file, untouched */
    calls = 0;
    cr_assert_eq(datagen_prepare(dir, 2, count, NULL, &again, err, sizeof err), 0, "%s", err);
    cr_assert(again.reused);
    cr_assert_eq(calls, 0);
    cr_assert_eq(stat(again.path, &st2), 0);
    cr_assert_eq(st2.st_ino, st.st_ino);
    cr_assert_eq(st2.st_mtim.tv_sec, st.st_mtim.tv_sec);
    cr_assert_eq(st2.st_mtim.tv_nsec, st.st_mtim.tv_nsec);
}

/* a file of the wrong size, or a sparse one, is replaced */
Test(datagen, replaces_a_short_or_sparse_file)
{
    struct datagen g;
    char err[512], path[256], name[64];
    struct stat st;
    cr_assert_eq(datagen_prepare(dir, 3, NULL, NULL, &g, err, sizeof err), 0, "%s", err);
    snprintf(path, sizeof path, "%s/%s", dir, datagen_name(3, name, sizeof name));
    cr_assert_eq(truncate(path, 1 << 20), 0);
    cr_assert_eq(datagen_prepare(dir, 3, NULL, NULL, &g, err, sizeof err), 0, "%s", err);
    cr_assert_not(g.reused, "a short file is written again");
    cr_assert_eq(unlink(path), 0);
    int fd = open(path, O_WRONLY | O_CREAT, 0644);
    cr_assert(fd >= 0);
    cr_assert_eq(ftruncate(fd, 3 << 20), 0, "all hole");
    close(fd);
    cr_assert_eq(datagen_prepare(dir, 3, NULL, NULL, &g, err, sizeof err), 0, "%s", err);
    cr_assert_not(g.reused, "a sparse file is written again");
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_geq((long long)st.st_blocks * 512, (long long)st.st_size);
}

/* a temporary file of a writer that is gone is removed; one of a live writer is not */
Test(datagen, removes_stale_temporary_files)
{
    struct datagen g;
    char err[512], stale[256], live[256];
    cr_assert_eq(datagen_prepare(dir, 2, NULL, NULL, &g, err, sizeof err), 0, "%s", err);
    snprintf(stale, sizeof stale, "%s/.tvt-data-2MiB.bin.%d.tmp", dir, 999999999);
    snprintf(live, sizeof live, "%s/.tvt-data-2MiB.bin.%d.tmp", dir, (int)getppid());
    fclose(fopen(stale, "w"));
    fclose(fopen(live, "w"));
    cr_assert_eq(datagen_prepare(dir, 2, NULL, NULL, &g, err, sizeof err), 0, "%s", err);
    cr_assert_neq(access(stale, F_OK), 0, "the dead writer's file is gone");
    cr_assert_eq(access(live, F_OK), 0, "a live writer's file stays");
}

/* an abandoned write leaves nothing behind */
static int stop_at_once(void *arg, uint64_t done, uint64_t total)
{
    (void)arg, (void)done, (void)total;
    return 1;
}

Test(datagen, interrupted_write_leaves_nothing)
{
    struct datagen g;
    char err[512];
    cr_assert_eq(datagen_prepare(dir, 4, stop_at_once, NULL, &g, err, sizeof err), -1);
    cr_assert(strstr(err, "interrupted"), "%s", err);
    cr_assert_neq(access(g.path, F_OK), 0);
    char cmd[300], out[64] = "";
    snprintf(cmd, sizeof cmd, "ls -A '%s' | grep -c tmp", dir);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    (void)!fgets(out, sizeof out, p);
    pclose(p);
    cr_assert_eq(atoi(out), 0, "no temporary file left");
}

/* tmpfs: refused before anything is written, naming the filesystem */
Test(datagen, refuses_a_memory_filesystem)
{
    struct statfs sf;
    if (statfs("/dev/shm", &sf) < 0 || sf.f_type != TMPFS_MAGIC)
        cr_skip_test("no tmpfs at /dev/shm");
    struct datagen g;
    char err[512], d[64];
    snprintf(d, sizeof d, "/dev/shm/tvt-datagen.%d/x", (int)getpid());
    cr_assert_eq(datagen_prepare(d, 2, NULL, NULL, &g, err, sizeof err), -1);
    cr_assert_neq(access(d, F_OK), 0, "nothing was created there");
    cr_assert(strstr(err, "tmpfs"), "%s", err);
    cr_assert(strstr(err, "--data-dir"), "%s", err);
}

Test(datagen, refuses_too_small)
{
    struct datagen g;
    char err[512];
    cr_assert_eq(datagen_prepare(dir, 1, NULL, NULL, &g, err, sizeof err), -1);
    cr_assert(strstr(err, "at least 2 MiB"), "%s", err);
}
