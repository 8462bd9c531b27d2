/* inflight: device reads in flight under the data file of io=file runs, from sysfs: the
 * kernel's integral (DEV/stat) and samples (DEV/inflight). */
#include "observe/inflight.h"

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

int inflight_parse_stat(const char *text, uint64_t *reads, uint64_t *read_ms)
{
    unsigned long long f[4];
    const char *p = text;
    for (int i = 0; i < 4; i++) {
        char *end;
        errno = 0;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p < '0' || *p > '9')
            return -1;
        f[i] = strtoull(p, &end, 10);
        if (errno || end == p)
            return -1;
        p = end;
    }
    *reads = f[0];
    *read_ms = f[3];
    return 0;
}

double inflight_mean_between(const struct inflight_mark *a, const struct inflight_mark *b)
{
    if (!a->ok || !b->ok || b->t_ns <= a->t_ns || b->read_ms < a->read_ms)
        return -1;
    return (double)(b->read_ms - a->read_ms) * 1e6 / (double)(b->t_ns - a->t_ns);
}

static void reset(struct inflight *d)
{
    memset(d, 0, sizeof *d);
    d->fd = -1;
    d->stat_fd = -1;
}

long inflight_read_here(struct inflight *d, bool stat, char *buf, size_t len)
{
    int fd = stat ? d->stat_fd : d->fd;
    /* sysfs makes the text again on every read from offset 0 */
    ssize_t n = fd >= 0 && len > 0 ? pread(fd, buf, len - 1, 0) : -1;
    if (len > 0)
        buf[n > 0 ? n : 0] = '\0';
    return n;
}

/* One of the two files, here or through d->read. */
static long read_text(struct inflight *d, bool stat, char *buf, size_t len)
{
    if (d->read) {
        long n = d->read(d->read_ctx, stat, buf, len);
        buf[n > 0 && (size_t)n < len ? n : 0] = '\0';
        return n;
    }
    return inflight_read_here(d, stat, buf, len);
}

static void mark(struct inflight *d, uint64_t now_ns, struct inflight_mark *m)
{
    char buf[512];
    memset(m, 0, sizeof *m);
    if (d->stat_fd < 0)
        return;
    long n = read_text(d, true, buf, sizeof buf);
    m->t_ns = now_ns;
    m->ok = n > 0 && inflight_parse_stat(buf, &m->reads, &m->read_ms) == 0;
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
    snprintf(path, sizeof path, "%s/stat", dir);
    d->stat_fd = open(path, O_RDONLY | O_CLOEXEC);
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
    long n = read_text(d, false, buf, sizeof buf);
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

void inflight_window_begin(struct inflight *d, uint64_t now_ns)
{
    mark(d, now_ns, &d->win_a);
    d->window_on = true;
}

void inflight_window_end(struct inflight *d, uint64_t now_ns)
{
    if (!d->window_on)
        return;
    d->window_on = false;
    mark(d, now_ns, &d->win_b);
}

void inflight_step_begin(struct inflight *d, uint64_t now_ns)
{
    d->step_on = true;
    d->step_n = 0;
    d->step_sum = 0;
    mark(d, now_ns, &d->step_a);
}

double inflight_step_end(struct inflight *d, uint64_t now_ns)
{
    struct inflight_mark b;
    d->step_on = false;
    mark(d, now_ns, &b);
    double m = inflight_mean_between(&d->step_a, &b);
    if (m >= 0)
        return m;
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
    double kernel = inflight_mean_between(&d->win_a, &d->win_b);
    if (d->n == 0 && kernel < 0) {
        json_object_set_new(j, "unavailable", json_string("no sample fell in the measured window"));
        json_object_set_new(j, "samples", json_integer(0));
        return j;
    }
    /* the integral counts every read however short; 100 ms samples miss most of 30 us ones */
    if (kernel >= 0) {
        json_object_set_new(j, "mean", json_real(kernel));
        json_object_set_new(j, "method", json_string("kernel read time / window (DEV/stat)"));
        json_object_set_new(j, "reads",
                            json_integer((json_int_t)(d->win_b.reads - d->win_a.reads)));
    } else {
        json_object_set_new(j, "mean", json_real(d->sum / (double)d->n));
        json_object_set_new(j, "method", json_string("samples of DEV/inflight"));
    }
    json_object_set_new(j, "sampled_mean", d->n ? json_real(d->sum / (double)d->n) : json_null());
    json_object_set_new(j, "max", json_integer(d->max));
    json_object_set_new(j, "samples", json_integer(d->n));
    return j;
}

void inflight_close(struct inflight *d)
{
    if (d->read) { /* the files are the other host's */
        d->fd = d->stat_fd = -1;
        d->read = NULL;
        return;
    }
    if (d->fd >= 0)
        close(d->fd);
    if (d->stat_fd >= 0)
        close(d->stat_fd);
    d->fd = d->stat_fd = -1;
}
