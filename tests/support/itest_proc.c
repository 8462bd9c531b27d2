/* itest_proc.c: the fixtures that look at the server process from /proc, and the data file
   of the io=file tests. */
#include "itest_proc.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "procfs.h"
#include "test_env.h"

/* ---- the server process, from /proc ----------------------------------------------------- */

double cpu_seconds(pid_t pid)
{
    char path[64], text[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    if (procfs_slurp(path, text, sizeof text) < 0)
        return -1;
    const char *p = strrchr(text, ')'); /* the command name may hold spaces */
    unsigned long long ut = 0, st = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

int fd_count(pid_t pid, int below)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
    DIR *d = opendir(path);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        if (below <= 0 || atoi(e->d_name) < below)
            n++;
    }
    closedir(d);
    return n;
}

long thread_count(pid_t pid)
{
    struct proc_mem pm;
    return procfs_read_status(pid, &pm) == 0 ? pm.threads : -1;
}

bool settle(pid_t pid, int want_fds, long want_threads, int timeout_ms, int *fds, long *threads)
{
    double deadline = tenv_now_ms() + timeout_ms;
    for (;;) {
        *fds = fd_count(pid, 0);
        *threads = want_threads >= 0 ? thread_count(pid) : -1;
        if (*fds == want_fds && *threads == want_threads)
            return true;
        if (tenv_now_ms() > deadline)
            return false;
        tenv_sleep_ms(10);
    }
}

long long storage_read_bytes(pid_t pid)
{
    char path[64], text[1024];
    snprintf(path, sizeof path, "/proc/%d/io", (int)pid);
    if (procfs_slurp(path, text, sizeof text) < 0)
        return -1;
    const char *p = strstr(text, "\nread_bytes: ");
    return p ? atoll(p + strlen("\nread_bytes: ")) : -1;
}

/* ---- io=file ---------------------------------------------------------------------------- */

const char *test_data_file(void)
{
    static char path[] = "build/itest-data/data-16m";
    const off_t size = (off_t)TEST_DATA_MIB << 20;
    struct stat st;
    struct statfs sf;

    mkdir("build", 0755);
    mkdir("build/itest-data", 0755);
    if (statfs("build/itest-data", &sf) == 0 &&
        (sf.f_type == TMPFS_MAGIC || sf.f_type == RAMFS_MAGIC))
        cr_skip_test("build/ is on a memory filesystem: io=file needs a disk to read from");
    if (stat(path, &st) == 0 && st.st_size == size)
        return path;
    char tmp[64];
    snprintf(tmp, sizeof tmp, "build/itest-data/data-16m.%d", (int)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    cr_assert(fd >= 0, "creating %s: %s", tmp, strerror(errno));
    static char block[1 << 16];
    uint64_t x = 0x9e3779b97f4a7c15u;
    for (off_t done = 0; done < size; done += (off_t)sizeof block) {
        for (size_t i = 0; i < sizeof block; i += 8) { /* xorshift: incompressible, not zeros */
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            memcpy(block + i, &x, 8);
        }
        cr_assert(write(fd, block, sizeof block) == (ssize_t)sizeof block, "writing %s: %s", tmp,
                  strerror(errno));
    }
    cr_assert(fsync(fd) == 0 && close(fd) == 0, "%s: %s", tmp, strerror(errno));
    cr_assert(rename(tmp, path) == 0, "rename %s: %s", tmp, strerror(errno));
    return path;
}
