/* inflight: device reads in flight under the data file of io=file runs, from sysfs, sampled. */
#include "inflight.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

int inflight_parse(const char *text, long *reads, long *writes)
{
    char *end;
    errno = 0;
    long r = strtol(text, &end, 10);
    if (end == text || errno || r < 0)
        return -1;
    const char *p = end;
    long w = strtol(p, &end, 10);
    if (end == p || errno || w < 0)
        return -1;
    while (*end == ' ' || *end == '\n' || *end == '\t')
        end++;
    if (*end != '\0')
        return -1;
    *reads = r;
    *writes = w;
    return 0;
}

static void reset(struct inflight *d)
{
    memset(d, 0, sizeof *d);
    d->fd = -1;
}

/* Opens dir/inflight when it reads as an inflight file. */
static int try_open(struct inflight *d, const char *dir)
{
    char path[PATH_MAX + 16], buf[128];
    if (strlen(dir) > sizeof d->source - 10)
        return -1;
    long r, w;
    snprintf(path, sizeof path, "%s/inflight", dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    buf[n > 0 ? n : 0] = '\0';
    if (n <= 0 || inflight_parse(buf, &r, &w) < 0) {
        close(fd);
        return -1;
    }
    d->fd = fd;
    snprintf(d->source, sizeof d->source, "%.250s", path);
    char copy[PATH_MAX];
    snprintf(copy, sizeof copy, "%s", dir);
    snprintf(d->device, sizeof d->device, "%s", basename(copy));
    return 0;
}

void inflight_open_dev(struct inflight *d, const char *sys_root, unsigned major, unsigned minor)
{
    char link[PATH_MAX], dir[PATH_MAX];
    reset(d);
    snprintf(d->device, sizeof d->device, "%u:%u", major, minor);
    snprintf(link, sizeof link, "%s/dev/block/%u:%u", sys_root, major, minor);
    if (!realpath(link, dir)) {
        snprintf(
            d->unavailable, sizeof d->unavailable,
            "the data file's device %u:%u has no %.100s (%.40s): its filesystem is not directly on "
            "a block device (btrfs, overlayfs, a network filesystem)",
            major, minor, link, strerror(errno));
        return;
    }
    if (try_open(d, dir) == 0)
        return;
    /* an old kernel's partition: its disk's figure, which also counts the other partitions */
    char parent[PATH_MAX];
    snprintf(parent, sizeof parent, "%s", dir);
    char *slash = strrchr(parent, '/');
    if (slash && slash != parent) {
        *slash = '\0';
        if (try_open(d, parent) == 0)
            return;
    }
    snprintf(d->unavailable, sizeof d->unavailable,
             "the data file's device %u:%u (%.160s) has no readable inflight file, nor has its "
             "parent",
             major, minor, dir);
}

void inflight_open_file(struct inflight *d, const char *path)
{
    struct stat st;
    if (stat(path, &st) < 0) {
        reset(d);
        snprintf(d->device, sizeof d->device, "?");
        snprintf(d->unavailable, sizeof d->unavailable, "stat %s: %s", path, strerror(errno));
        return;
    }
    inflight_open_dev(d, "/sys", major(st.st_dev), minor(st.st_dev));
}

long inflight_sample(struct inflight *d)
{
    char buf[128];
    long r, w;
    if (d->fd < 0)
        return -1;
    /* sysfs makes the text again on every read from offset 0 */
    ssize_t n = pread(d->fd, buf, sizeof buf - 1, 0);
    buf[n > 0 ? n : 0] = '\0';
    if (n <= 0 || inflight_parse(buf, &r, &w) < 0)
        return -1;
    if (d->window_on) {
        d->n++;
        d->sum += (double)r;
        if (r > d->max)
            d->max = r;
    }
    if (d->step_on) {
        d->step_n++;
        d->step_sum += (double)r;
    }
    return r;
}

void inflight_step_begin(struct inflight *d)
{
    d->step_on = true;
    d->step_n = 0;
    d->step_sum = 0;
}

double inflight_step_end(struct inflight *d)
{
    d->step_on = false;
    return d->fd >= 0 && d->step_n > 0 ? d->step_sum / (double)d->step_n : -1;
}

json_t *inflight_json(const struct inflight *d)
{
    json_t *j = json_object();
    json_object_set_new(j, "device", json_string(d->device));
    if (d->fd < 0 && d->unavailable[0]) {
        json_object_set_new(j, "unavailable", json_string(d->unavailable));
        return j;
    }
    json_object_set_new(j, "source", json_string(d->source));
    if (d->n == 0) {
        json_object_set_new(j, "unavailable", json_string("no sample fell in the measured window"));
        json_object_set_new(j, "samples", json_integer(0));
        return j;
    }
    json_object_set_new(j, "mean", json_real(d->sum / (double)d->n));
    json_object_set_new(j, "max", json_integer(d->max));
    json_object_set_new(j, "samples", json_integer(d->n));
    return j;
}

void inflight_close(struct inflight *d)
{
    if (d->fd >= 0)
        close(d->fd);
    d->fd = -1;
}
