/* timeout.c: socket timeouts of the thread server (see timeout.h). */
#include "timeout.h"

#include <sys/socket.h>
#include <sys/time.h>

void timeout_set(int fd, int opt, int64_t ms)
{
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};

    setsockopt(fd, SOL_SOCKET, opt, &tv, sizeof(tv));
}
