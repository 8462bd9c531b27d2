/* file_io.c: the --file-io mode of a loop's file reader, chosen once (see file_io.h). */
#include "file_io.h"

#include <stdio.h>

#include "server_opts.h"

static const struct file_io_ops *const modes[] = {
    [FILE_IO_LOOP] = &file_loop_ops,
    [FILE_IO_POOL] = &file_pool_ops,
    [FILE_IO_URING] = &file_uring_ops,
};

int file_io_start(struct file_reader *r, uint32_t mode, struct ev_loop *loop, int fd,
                  uint32_t threads, file_done_fn *done, void *data, char *err, size_t errlen)
{
    if (mode >= sizeof modes / sizeof modes[0] || !modes[mode]) {
        snprintf(err, errlen, "no such mode (%u)", mode);
        return -1;
    }
    *r = (struct file_reader){
        .ops = modes[mode],
        .loop = loop,
        .fd = fd,
        .threads = threads,
        .done = done,
        .data = data,
    };
    return r->ops->start(r, err, errlen);
}
