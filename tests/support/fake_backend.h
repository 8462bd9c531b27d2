/* fake_backend: a backend for io=net tests that misbehaves in one chosen way. */
#ifndef TVT_FAKE_BACKEND_H
#define TVT_FAKE_BACKEND_H

#include "forked_server.h"

enum fake_backend_mode {
    FAKE_STATUS_503, /* answers every request "503 Service Unavailable", keep-alive */
    FAKE_GARBAGE,    /* answers with bytes that are not HTTP */
    FAKE_CLOSE,      /* closes (FIN) once it has the request, without an answer */
    FAKE_RESET,      /* resets (RST) once it has the request */
};

/* Starts a forked_server serving one connection at a time, reading each request head and
 * then doing what mode says; forked_server_stop stops it. 0 ok, -1 with errno. */
int fake_backend_start(struct forked_server *b, enum fake_backend_mode mode);

#endif
