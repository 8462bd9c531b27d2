/* fdio: whole writes to a file descriptor, and the last line of a text; they never print. */
#ifndef TVT_FDIO_H
#define TVT_FDIO_H

#include <stddef.h>

/* Writes all len bytes of buf to fd, retrying EINTR and short writes. 0 ok; -1 with errno
 * (ENOSPC when the file takes no more: a write that wrote nothing). Not for non-blocking fds
 * (EAGAIN is an error here). */
int fdio_write_all(int fd, const void *buf, size_t len);

/* The last non-empty line of text (trailing newlines dropped), into out (truncated to fit). */
void fdio_last_line(const char *text, char *out, size_t outlen);

#endif
