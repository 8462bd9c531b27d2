/* jsonfile: result files written atomically, so a reader never sees half a run. */
#include "jsonfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fdio.h"

/* Folder part of path ("." when there is none), into buf. */
static void dir_of(const char *path, char *buf, size_t cap)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(buf, cap, ".");
    else if (slash == path)
        snprintf(buf, cap, "/");
    else
        snprintf(buf, cap, "%.*s", (int)(slash - path), path);
}

int jsonfile_write(const char *path, const json_t *doc, char *err, size_t errlen)
{
    char tmp[PATH_MAX];
    char dir[PATH_MAX];
    char *text = NULL;
    int fd = -1, dfd = -1;
    const char *step;

    if (!path || !*path || !doc) {
        snprintf(err, errlen, "jsonfile: no path or no document given");
        return -1;
    }
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", path) >= sizeof tmp) {
        snprintf(err, errlen, "%s: path too long", path);
        return -1;
    }
    dir_of(path, dir, sizeof dir);

    /* Dump to memory first: a document jansson cannot encode fails before any file exists. */
    text = json_dumps(doc, JSON_INDENT(2));
    if (!text) {
        snprintf(err, errlen, "%s: cannot encode JSON (out of memory or invalid document)", path);
        return -1;
    }

    step = "cannot create a temporary file in the folder (does it exist, is it writable?)";
    fd = mkstemp(tmp);
    if (fd < 0) {
        tmp[0] = '\0'; /* nothing to unlink */
        goto fail;
    }
    /* mkstemp makes 0600; results are meant to be read by others. */
    step = "cannot set permissions of the temporary file";
    if (fchmod(fd, 0644) < 0)
        goto fail;
    step = "cannot write the temporary file (disk full?)";
    if (fdio_write_all(fd, text, strlen(text)) < 0 || fdio_write_all(fd, "\n", 1) < 0)
        goto fail;
    step = "cannot fsync the temporary file";
    if (fsync(fd) < 0)
        goto fail;
    step = "cannot close the temporary file";
    if (close(fd) < 0) {
        fd = -1;
        goto fail;
    }
    fd = -1;
    step = "cannot rename the temporary file over it";
    if (rename(tmp, path) < 0)
        goto fail;
    tmp[0] = '\0'; /* renamed: no longer ours to unlink */

    /* The rename is durable only once the folder's entry is on disk. */
    step = "written, but cannot fsync its folder";
    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || fsync(dfd) < 0)
        goto fail;
    close(dfd);
    free(text);
    return 0;

fail:;
    int saved = errno;
    if (fd >= 0)
        close(fd);
    if (dfd >= 0)
        close(dfd);
    if (tmp[0])
        unlink(tmp);
    free(text);
    snprintf(err, errlen, "%s: %s: %s", path, step, strerror(saved));
    errno = saved;
    return -1;
}
