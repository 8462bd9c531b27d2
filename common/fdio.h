/* fdio: whole writes to a file descriptor (blocking, or until a deadline), the iovec step
 * after a gathering write, and the last line of a text; they never print. */
#ifndef TVT_FDIO_H
#define TVT_FDIO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/* Writes all len bytes of buf to fd, retrying EINTR and short writes. 0 ok; -1 with errno
 * (ENOSPC when the file takes no more: a write that wrote nothing). Not for non-blocking fds
 * (EAGAIN is an error here). */
int fdio_write_all(int fd, const void *buf, size_t len);

/* Writes all len bytes of buf to a non-blocking fd, waiting (poll) while it is full, until
 * deadline_ms (clock_now_ms(); 0: no deadline). A socket is written with MSG_NOSIGNAL, so a
 * closed peer is EPIPE, never SIGPIPE; any other fd (a pipe) with write(). 0 ok; -1 with
 * errno (ETIMEDOUT past the deadline). */
int fdio_write_until(int fd, const void *buf, size_t len, uint64_t deadline_ms);

/* After a gathering write (writev, sendmsg) of n bytes from iov[0..*cnt): passes over the
 * entries written whole and advances the one written in part, in place. Returns the first
 * entry still to write, with *cnt set to how many are left (0: all written). */
struct iovec *fdio_iov_consume(struct iovec *iov, size_t *cnt, size_t n);

/* The last non-empty line of text (trailing newlines dropped), into out (truncated to fit). */
void fdio_last_line(const char *text, char *out, size_t outlen);

#endif
