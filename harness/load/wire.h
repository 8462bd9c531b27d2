/* wire: the generator's control messages between a parent and a generator process, framed on
 * a byte stream (a pipe, or a remote program's stdin and stdout): one kind byte, a length, the
 * payload. Both ends run the same build, so structs travel as their bytes. */
#ifndef TVT_WIRE_H
#define TVT_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "load/load.h"

#define WIRE_MAX (1u << 24) /* the largest payload taken: a result is about 280 KiB */

/* Message kinds. Parent to process: */
enum {
    WIRE_CLOCK = 'C',    /* what is your clock? (a remote process, before WIRE_OPTS) */
    WIRE_OPTS = 'O',     /* struct wire_opts: start the load */
    WIRE_TRAFFIC = 'W',  /* the ramp is over: connections start sending */
    WIRE_MEASURE = 'M',  /* the measured window opens */
    WIRE_END = 'E',      /* it closes */
    WIRE_WINDOW = 'P',   /* send the measured window (a WIRE_RESULT) */
    WIRE_STEP = 'B',     /* three doubles: rate, settle_s, length_s; answered by WIRE_ACK */
    WIRE_STEP_END = 'F', /* close the step and send it (a WIRE_RESULT) */
    WIRE_WATCH = 'T',    /* a stop watch begins (load_stop_watch); answered by WIRE_ACK */
    WIRE_STOP = 'S',     /* stop, send the whole run's result (a WIRE_RESULT) and exit */
};
/* Process to parent: */
enum {
    WIRE_STATUS = 's', /* struct wire_status, every 100 ms */
    WIRE_RESULT = 'r', /* struct load_result, then its two histograms */
    WIRE_ACK = 'a',    /* one byte: '+' done, '-' failed */
    WIRE_HELLO = 'h',  /* a remote process's first message: its build (TVT_VERSION), a NUL,
                          its host's environment (JSON) */
    WIRE_TIME = 't',   /* the answer to WIRE_CLOCK: a uint64_t, CLOCK_MONOTONIC ns */
};

/* How a generator process is to run its share. */
struct wire_opts {
    struct load_opts o;
    int32_t procs;  /* processes of its own (a remote host's share); 1: this one alone */
    int32_t replan; /* on a host of its own: its own CPUs, its loops as many, its fd limit
                       raised and its processes as many as that needs */
};

/* A generator process's state, sent whole every 100 ms. */
struct wire_status {
    int32_t ramped, quota_done, open, failed;
    uint64_t progress, errors;
    char error[256]; /* non-empty: load_start failed; the process then exits */
};

/* Bytes received and not yet taken as messages. */
struct wire_rx {
    char *buf;
    size_t len, cap;
    size_t taken; /* bytes of the message handed out last, dropped at the next take */
    bool eof;     /* the peer closed its end (or an error) */
};

/* Sends one message: kind and payload (may be NULL when len is 0). Waits when the stream is
 * full, up to deadline_ms on CLOCK_MONOTONIC (0: forever). 0 ok; -1 with errno (ETIMEDOUT,
 * EPIPE...). */
int wire_send(int fd, char kind, const void *payload, size_t len, uint64_t deadline_ms);

/* Sends a message only if the stream takes it whole at once (a small one on a non-blocking
 * pipe: status records, of which the newest is the one that matters). 0 sent, -1 not. */
int wire_send_now(int fd, char kind, const void *payload, size_t len);

/* A load_result and its two histograms as one WIRE_RESULT. 0 ok, -1. */
int wire_send_result(int fd, const struct load_result *res, uint64_t deadline_ms);

/* Reads what fd has now (it must be non-blocking) into rx. */
void wire_rx_fill(struct wire_rx *rx, int fd);

/* Takes the next whole message out of rx: its kind, its payload (inside rx, valid until the
 * next call on rx), its length. true if there was one. A frame over WIRE_MAX marks rx eof (a
 * broken stream). */
bool wire_rx_next(struct wire_rx *rx, char *kind, const char **payload, size_t *len);

/* Waits, up to deadline_ms, for the next message of `kind`; messages of other kinds met on the
 * way go to on_other (may be NULL: dropped). true with the payload, false on EOF or time out. */
bool wire_rx_wait(struct wire_rx *rx, int fd, char kind, const char **payload, size_t *len,
                  uint64_t deadline_ms,
                  void (*on_other)(void *arg, char kind, const char *payload, size_t len),
                  void *arg);

/* A WIRE_RESULT's payload into *out (whose histograms it allocates: load_result_free). 0 ok;
 * -1 malformed or out of memory. */
int wire_parse_result(const char *payload, size_t len, struct load_result *out);

void wire_rx_free(struct wire_rx *rx);

#endif
