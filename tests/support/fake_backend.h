/* fake_backend: a backend for io=net tests that misbehaves in one chosen way. */
#ifndef TVT_FAKE_BACKEND_H
#define TVT_FAKE_BACKEND_H

#include <sys/types.h>

enum fake_backend_mode {
    FAKE_STATUS_503, /* answers every request "503 Service Unavailable", keep-alive */
    FAKE_GARBAGE,    /* answers with bytes that are not HTTP */
    FAKE_CLOSE,      /* closes (FIN) once it has the request, without an answer */
    FAKE_RESET,      /* resets (RST) once it has the request */
};

struct fake_backend {
    pid_t pid;
    int port;
};

/* Forks a child serving one connection at a time on 127.0.0.1 (port picked by the kernel),
 * reading each request head and then doing what mode says. The child dies with the calling
 * thread. 0 ok, -1 with errno. */
int fake_backend_start(struct fake_backend *b, enum fake_backend_mode mode);

/* Kills (SIGKILL) and reaps it. */
void fake_backend_stop(struct fake_backend *b);

#endif
