/* filebufs.h: io=file read buffers, held only while a read is in flight and then reused. */
#ifndef TVT_FILEBUFS_H
#define TVT_FILEBUFS_H

#include <stddef.h>

/* Buffer sizes are powers of two from 4 KiB to 1 MiB (FILE_KIB_MAX), one free list each;
 * buffers are DATAFILE_ALIGN-aligned (O_DIRECT) and never go back to malloc before
 * file_bufs_destroy, so a read costs no allocation in steady state. A read's data is not
 * sent (the answer's body is the shared static one), so nothing needs a buffer once its
 * read has completed: an idle task holds none. One loop's: not thread-safe. */
#define FILE_BUF_CLASSES 9

struct file_bufs {
    void *free[FILE_BUF_CLASSES]; /* each free buffer's first word points to the next */
};

/* A buffer of at least len bytes (len <= 1 MiB), or NULL when out of memory. */
void *file_bufs_get(struct file_bufs *fb, size_t len);

/* Gives back a buffer file_bufs_get returned for the same len. */
void file_bufs_put(struct file_bufs *fb, void *buf, size_t len);

/* Frees the free buffers (every buffer should be back by now). */
void file_bufs_destroy(struct file_bufs *fb);

#endif
