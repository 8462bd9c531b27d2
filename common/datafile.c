/* datafile.c: opening and checking the io=file data file; the offset rule and its PRNG. */
#include "datafile.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#define FIX                                                                                        \
    "put the data file on a disk filesystem (ext4, xfs, btrfs), e.g. the harness's --data-dir"

static const struct {
    long magic;
    const char *name;
} FS_NAMES[] = {
    {TMPFS_MAGIC, "tmpfs"},
    {RAMFS_MAGIC, "ramfs"},
    {HUGETLBFS_MAGIC, "hugetlbfs"},
    {OVERLAYFS_SUPER_MAGIC, "overlayfs"},
    {EXT4_SUPER_MAGIC, "ext2/ext3/ext4"},
    {XFS_SUPER_MAGIC, "xfs"},
    {BTRFS_SUPER_MAGIC, "btrfs"},
    {F2FS_SUPER_MAGIC, "f2fs"},
    {FUSE_SUPER_MAGIC, "fuse"},
    {NFS_SUPER_MAGIC, "nfs"},
    {SQUASHFS_MAGIC, "squashfs"},
    {V9FS_MAGIC, "9p"},
    {0x2fc12fc1, "zfs"}, /* ZFS_SUPER_MAGIC, not in linux/magic.h */
};

const char *datafile_fs_name(long f_type, char *buf, size_t len)
{
    for (size_t i = 0; i < sizeof FS_NAMES / sizeof FS_NAMES[0]; i++)
        if (FS_NAMES[i].magic == f_type) {
            snprintf(buf, len, "%s", FS_NAMES[i].name);
            return buf;
        }
    snprintf(buf, len, "type 0x%lx", (unsigned long)f_type);
    return buf;
}

/* Filesystems with no device under them: O_DIRECT is accepted (tmpfs since Linux 6.6) but
   the read is a memory copy, which would silently make io=file a cached read. */
int datafile_fs_is_memory(long f_type)
{
    return f_type == TMPFS_MAGIC || f_type == RAMFS_MAGIC || f_type == HUGETLBFS_MAGIC;
}

int datafile_read_check(ssize_t res, int err, uint64_t off, uint32_t len, char *why, size_t whylen)
{
    if (res == (ssize_t)len)
        return 0;
    if (res < 0)
        snprintf(why, whylen, "reading %u KiB of the data file at offset %llu: %s", len / 1024,
                 (unsigned long long)off, strerror(err));
    else
        snprintf(why, whylen, "reading %u KiB of the data file at offset %llu: got %zd bytes",
                 len / 1024, (unsigned long long)off, res);
    return -1;
}

void *datafile_buffer(size_t len)
{
    void *p = NULL;
    size_t n = (len + DATAFILE_ALIGN - 1) / DATAFILE_ALIGN * DATAFILE_ALIGN;
    return posix_memalign(&p, DATAFILE_ALIGN, n ? n : DATAFILE_ALIGN) == 0 ? p : NULL;
}

int datafile_open(struct datafile *df, const char *path, char *err, size_t errlen)
{
    struct stat st;
    struct statfs sf;
    void *buf = NULL;

    df->fd = -1;
    df->size = 0;
    snprintf(df->fs, sizeof df->fs, "unknown");
    if (stat(path, &st) < 0) {
        snprintf(err, errlen,
                 "--data-file %s: %s; give a file of at least %u MiB of real data (the harness "
                 "writes one in its --data-dir)",
                 path, strerror(errno), DATAFILE_MIN_BYTES >> 20);
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "--data-file %s: not a regular file; give a file of at least %u MiB",
                 path, DATAFILE_MIN_BYTES >> 20);
        return -1;
    }
    if ((uint64_t)st.st_size < DATAFILE_MIN_BYTES) {
        snprintf(err, errlen,
                 "--data-file %s: %lld bytes, shorter than the minimum of %u MiB (%u bytes: "
                 "the largest read, file_kib=1024, and as much again); make it larger",
                 path, (long long)st.st_size, DATAFILE_MIN_BYTES >> 20, DATAFILE_MIN_BYTES);
        return -1;
    }
    int have_fs = statfs(path, &sf) == 0;
    if (have_fs)
        datafile_fs_name((long)sf.f_type, df->fs, sizeof df->fs);
    if (have_fs && datafile_fs_is_memory((long)sf.f_type)) {
        snprintf(err, errlen,
                 "--data-file %s: on %s, which has no device under it: O_DIRECT reads there "
                 "come from memory, not the device; " FIX,
                 path, df->fs);
        return -1;
    }
    /* A hole reads as zeros without touching the device (so do fallocate's unwritten
       extents, which st_blocks cannot tell apart: write real data). */
    if ((uint64_t)st.st_blocks * 512 < (uint64_t)st.st_size) {
        snprintf(err, errlen,
                 "--data-file %s: sparse (%lld of %lld bytes allocated): reads of a hole do not "
                 "touch the device; write it with real data (dd if=/dev/urandom of=FILE bs=1M "
                 "count=N)",
                 path, (long long)st.st_blocks * 512, (long long)st.st_size);
        return -1;
    }
    int fd = open(path, O_RDONLY | O_DIRECT | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        if (e == EINVAL)
            snprintf(err, errlen,
                     "--data-file %s: the filesystem (%s) refuses O_DIRECT (open: %s); " FIX, path,
                     df->fs, strerror(e));
        else
            snprintf(err, errlen, "--data-file %s: open(O_DIRECT): %s", path, strerror(e));
        return -1;
    }
    buf = datafile_buffer(DATAFILE_ALIGN);
    if (!buf) {
        snprintf(err, errlen, "--data-file %s: out of memory for the test read", path);
        goto fail;
    }
    ssize_t n;
    do
        n = pread(fd, buf, DATAFILE_ALIGN, 0);
    while (n < 0 && errno == EINTR);
    if (n != (ssize_t)DATAFILE_ALIGN) {
        int e = errno;
        if (n < 0 && e == EINVAL)
            snprintf(err, errlen,
                     "--data-file %s: the filesystem (%s) refuses O_DIRECT reads (test read: "
                     "%s); " FIX,
                     path, df->fs, strerror(e));
        else if (n < 0)
            snprintf(err, errlen, "--data-file %s: test read of %u bytes: %s", path, DATAFILE_ALIGN,
                     strerror(e));
        else
            snprintf(err, errlen, "--data-file %s: test read of %u bytes returned %zd", path,
                     DATAFILE_ALIGN, n);
        goto fail;
    }
    free(buf);
    df->fd = fd;
    df->size = (uint64_t)st.st_size;
    return 0;

fail:
    free(buf);
    close(fd);
    return -1;
}

void datafile_close(struct datafile *df)
{
    if (df->fd >= 0)
        close(df->fd);
    df->fd = -1;
}

void datafile_rng_seed(struct datafile_rng *r, uint64_t seed)
{
    r->s = seed;
}

uint64_t datafile_rng_next(struct datafile_rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

uint64_t datafile_rng_fresh_seed(void)
{
    static atomic_uint_fast64_t counter;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    struct datafile_rng r = {(uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^
                             (uint64_t)pthread_self() ^ (atomic_fetch_add(&counter, 1) << 48) ^
                             (uint64_t)getpid()};
    return datafile_rng_next(&r);
}

uint64_t datafile_offset(struct datafile_rng *r, uint64_t size, uint32_t len)
{
    uint64_t slots = (size - len) / DATAFILE_ALIGN + 1;
    /* Rejection keeps the slots equally likely: drop the top values past the largest
       multiple of slots. */
    uint64_t limit = UINT64_MAX - UINT64_MAX % slots;
    uint64_t x;
    do
        x = datafile_rng_next(r);
    while (x >= limit);
    return x % slots * DATAFILE_ALIGN;
}
