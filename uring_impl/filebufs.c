/* filebufs.c: io=file read buffers by size class (see filebufs.h). */
#include "filebufs.h"

#include <stdlib.h>

#include "datafile.h"

static int size_class(size_t len)
{
    int k = 0;

    while (k < FILE_BUF_CLASSES - 1 && ((size_t)DATAFILE_ALIGN << k) < len)
        k++;
    return k;
}

void *file_bufs_get(struct file_bufs *fb, size_t len)
{
    int k = size_class(len);
    void *buf = fb->free[k];

    if (buf) {
        fb->free[k] = *(void **)buf;
        return buf;
    }
    return datafile_buffer((size_t)DATAFILE_ALIGN << k);
}

void file_bufs_put(struct file_bufs *fb, void *buf, size_t len)
{
    int k = size_class(len);

    *(void **)buf = fb->free[k];
    fb->free[k] = buf;
}

void file_bufs_destroy(struct file_bufs *fb)
{
    for (int k = 0; k < FILE_BUF_CLASSES; k++)
        while (fb->free[k]) {
            void *buf = fb->free[k];
            fb->free[k] = *(void **)buf;
            free(buf);
        }
}
