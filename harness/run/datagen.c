/* datagen: the data file of io=file runs: written once in a folder with real data, then reused. */
#include "run/datagen.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "datafile.h"
#include "fdio.h"

#define CHUNK (1u << 20) /* bytes per write: a MiB, O_DIRECT-aligned */

const char *datagen_name(long size_mib, char *buf, size_t len)
{
    snprintf(buf, len, "tvt-data-%ldMiB.bin", size_mib);
    return buf;
}

/* mkdir -p */
static int make_dirs(const char *dir, char *err, size_t errlen)
{
    char p[PATH_MAX];
    if (snprintf(p, sizeof p, "%s", dir) >= (int)sizeof p) {
        snprintf(err, errlen, "--data-dir: the path is too long");
        return -1;
    }
    for (char *s = p + 1;; s++) {
        bool end = *s == '\0';
        if (*s != '/' && !end)
            continue;
        *s = '\0';
        if (mkdir(p, 0755) < 0 && errno != EEXIST) {
            snprintf(err, errlen, "--data-dir %s: cannot create %s: %s", dir, p, strerror(errno));
            return -1;
        }
        if (end)
            break;
        *s = '/';
    }
    struct stat st;
    if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "--data-dir %s: not a folder", dir);
        return -1;
    }
    return 0;
}

/* statfs of dir, or of its nearest ancestor that exists (before anything is created). */
static int statfs_nearest(const char *dir, struct statfs *sf)
{
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s", dir);
    for (;;) {
        if (statfs(p, sf) == 0)
            return 0;
        char *slash = strrchr(p, '/');
        if (errno != ENOENT || !slash)
            return statfs(slash ? p : ".", sf);
        if (slash == p) {
            p[1] = '\0';
        } else {
            *slash = '\0';
        }
    }
}

/* Removes ".NAME.PID.tmp" files of writers that are gone (a killed run leaves a GiB behind). */
static void remove_stale(const char *dir, const char *name)
{
    char prefix[96];
    int plen = snprintf(prefix, sizeof prefix, ".%s.", name);
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d))) {
        char *end;
        if (strncmp(de->d_name, prefix, (size_t)plen) != 0)
            continue;
        long pid = strtol(de->d_name + plen, &end, 10);
        if (end == de->d_name + plen || strcmp(end, ".tmp") != 0 || pid <= 0)
            continue;
        if (kill((pid_t)pid, 0) < 0 && errno == ESRCH) {
            char path[PATH_MAX];
            if (snprintf(path, sizeof path, "%s/%s", dir, de->d_name) < (int)sizeof path)
                unlink(path);
        }
    }
    closedir(d);
}

/* The file is there, of the size asked for, and every byte of it allocated. */
static bool reusable(const char *path, uint64_t bytes)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size == bytes &&
           (uint64_t)st.st_blocks * 512 >= bytes;
}

/* Writes bytes of pseudo-random data into tmp. -1 with the cause in err (tmp is removed). */
static int write_file(const char *tmp, uint64_t bytes, const char *dir, const char *fs,
                      datagen_progress progress, void *arg, char *err, size_t errlen)
{
    uint64_t *buf = datafile_buffer(CHUNK);
    if (!buf) {
        snprintf(err, errlen, "out of memory for the data file's buffer");
        return -1;
    }
    /* O_DIRECT: the GiB goes to the disk without filling the page cache (and a filesystem
       that refuses O_DIRECT says so now, before anything is written) */
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_DIRECT | O_CLOEXEC, 0644);
    if (fd < 0) {
        int e = errno;
        snprintf(err, errlen, "--data-dir %s: cannot create %s with O_DIRECT (%s): %s%s", dir, tmp,
                 fs, strerror(e),
                 e == EINVAL ? "; the filesystem refuses O_DIRECT: give a --data-dir on ext4, "
                               "xfs or btrfs"
                             : "");
        free(buf);
        return -1;
    }
    struct datafile_rng rng;
    datafile_rng_seed(&rng, datafile_rng_fresh_seed());
    uint64_t total_mib = bytes >> 20;
    for (uint64_t done = 0; done < bytes; done += CHUNK) {
        for (size_t i = 0; i < CHUNK / sizeof *buf; i++)
            buf[i] = datafile_rng_next(&rng);
        if (fdio_write_all(fd, (const char *)buf, CHUNK) < 0) {
            snprintf(err, errlen, "writing %s: %s (free space, or lower --data-size-mib)", tmp,
                     strerror(errno));
            goto fail;
        }
        if (progress && progress(arg, (done + CHUNK) >> 20, total_mib)) {
            snprintf(err, errlen, "writing %s: interrupted", tmp);
            goto fail;
        }
    }
    if (fsync(fd) < 0) {
        snprintf(err, errlen, "fsync %s: %s", tmp, strerror(errno));
        goto fail;
    }
    if (close(fd) < 0) {
        fd = -1;
        snprintf(err, errlen, "close %s: %s", tmp, strerror(errno));
        goto fail;
    }
    free(buf);
    return 0;
fail:
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    free(buf);
    return -1;
}

int datagen_prepare(const char *dir, long size_mib, datagen_progress progress, void *arg,
                    struct datagen *out, char *err, size_t errlen)
{
    char name[64], tmp[PATH_MAX];
    struct statfs sf;
    struct statvfs sv;
    memset(out, 0, sizeof *out);
    if (size_mib < (long)(DATAFILE_MIN_BYTES >> 20)) {
        snprintf(err, errlen, "--data-size-mib %ld: the servers need at least %u MiB", size_mib,
                 DATAFILE_MIN_BYTES >> 20);
        return -1;
    }
    out->bytes = (uint64_t)size_mib << 20;
    datagen_name(size_mib, name, sizeof name);
    if (statfs_nearest(dir, &sf) < 0) {
        snprintf(err, errlen, "--data-dir %s: statfs: %s", dir, strerror(errno));
        return -1;
    }
    datafile_fs_name((long)sf.f_type, out->fs, sizeof out->fs);
    if (datafile_fs_is_memory((long)sf.f_type)) {
        snprintf(err, errlen,
                 "--data-dir %s: on %s, which has no device under it: O_DIRECT reads there come "
                 "from memory, not the device, and the servers refuse such a data file; give a "
                 "--data-dir on a disk filesystem (ext4, xfs, btrfs), e.g. the default %s",
                 dir, out->fs, "results/data");
        return -1;
    }
    if (make_dirs(dir, err, errlen) < 0)
        return -1;
    if (snprintf(out->path, sizeof out->path, "%s/%s", dir, name) >= (int)sizeof out->path ||
        snprintf(tmp, sizeof tmp, "%s/.%s.%d.tmp", dir, name, (int)getpid()) >= (int)sizeof tmp) {
        snprintf(err, errlen, "--data-dir: the path is too long");
        return -1;
    }
    remove_stale(dir, name);
    if (reusable(out->path, out->bytes)) {
        out->reused = true;
        return 0;
    }
    if (statvfs(dir, &sv) == 0 && (uint64_t)sv.f_bavail * sv.f_frsize < out->bytes) {
        snprintf(err, errlen,
                 "--data-dir %s: %llu MiB free, the data file needs %ld MiB: free some space, "
                 "give another --data-dir, or a smaller --data-size-mib",
                 dir, (unsigned long long)((uint64_t)sv.f_bavail * sv.f_frsize >> 20), size_mib);
        return -1;
    }
    double t0 = (double)clock_now_ns() / 1e9;
    if (write_file(tmp, out->bytes, dir, out->fs, progress, arg, err, errlen) < 0)
        return -1;
    if (rename(tmp, out->path) < 0) {
        snprintf(err, errlen, "rename %s to %s: %s", tmp, out->path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd); /* the rename itself survives a crash */
        close(dfd);
    }
    out->write_s = (double)clock_now_ns() / 1e9 - t0;
    if (!reusable(out->path, out->bytes)) {
        snprintf(err, errlen,
                 "%s: written, but the filesystem (%s) did not allocate every block (sparse or "
                 "compressed): reads of it would not all wait on the device; give another "
                 "--data-dir",
                 out->path, out->fs);
        return -1;
    }
    return 0;
}
