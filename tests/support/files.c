/* files: the files and folders of a test. */
#include "files.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>

void tfile_mkdtemp(char *tmpl)
{
    cr_assert_not_null(mkdtemp(tmpl), "mkdtemp %s: %s", tmpl, strerror(errno));
}

char tfile_scratch[128];

void tfile_scratch_make(void)
{
    snprintf(tfile_scratch, sizeof tfile_scratch, "/tmp/tvt-%s-XXXXXX",
             program_invocation_short_name);
    tfile_mkdtemp(tfile_scratch);
}

void tfile_scratch_remove(void)
{
    if (tfile_scratch[0])
        tfile_rm_tree(tfile_scratch);
    tfile_scratch[0] = '\0';
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

void tfile_rm_tree(const char *path)
{
    nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int tfile_lock(const char *path)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    cr_assert(fd >= 0 && flock(fd, LOCK_EX) == 0, "%s: %s", path, strerror(errno));
    return fd;
}

char *tfile_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0, r;
    char *buf = malloc(cap);
    while (buf && (r = fread(buf + n, 1, cap - 1 - n, f)) > 0) {
        n += r;
        if (cap - 1 - n < 4096) {
            char *more = realloc(buf, cap * 2);
            if (!more) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = more;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf)
        buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

const char *tfile_tail(const char *path)
{
    static char tail[3072];
    tail[0] = '\0';
    FILE *f = fopen(path, "rb");
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

void tfile_write_script(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "%s: %s", path, strerror(errno));
    fputs(text, f);
    cr_assert_eq(fclose(f), 0);
    cr_assert_eq(chmod(path, 0755), 0);
}
