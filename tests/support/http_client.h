/* http_client: a tiny blocking HTTP/1.x client for the integration tests, every call bounded. */
#ifndef TVT_HTTP_CLIENT_H
#define TVT_HTTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

/* One TCP connection to 127.0.0.1 and the bytes received but not yet consumed. The
   socket is non-blocking; every wait goes through poll with a deadline. */
struct hc_conn {
    struct hc_conn *prev, *next; /* every open connection, for hc_close_all */
    int fd;
    char *buf; /* received, not yet parsed into a response */
    size_t len, cap;
    bool eof;   /* the peer closed (FIN) */
    bool reset; /* the peer reset (ECONNRESET) */
};

struct hc_response {
    int status;          /* e.g. 200 */
    int minor;           /* HTTP/1.minor of the status line */
    long content_length; /* -1 when the header is absent (body then runs to the close) */
    bool conn_close;     /* a `Connection: close` header */
    char *head;          /* status line and headers, NUL-terminated; owned */
    char *body;          /* body bytes, NUL-terminated for convenience; owned */
    size_t body_len;
};

/* Connects to 127.0.0.1:port within timeout_ms (TCP_NODELAY set, so that split sends go
   out as separate segments). Returns a connection (free with hc_close) or NULL, errno set. */
struct hc_conn *hc_connect(int port, int timeout_ms);

/* Sends all of data within timeout_ms. 0 ok; -1 with errno (EPIPE, ECONNRESET, ETIMEDOUT).
   Never raises SIGPIPE. */
int hc_send(struct hc_conn *c, const void *data, size_t len, int timeout_ms);
int hc_send_str(struct hc_conn *c, const char *s, int timeout_ms);

/* Sends data in pieces of `piece` bytes with delay_us between them (the whole call bounded
   by timeout_ms plus the delays). 0 ok, -1 errno. */
int hc_send_pieces(struct hc_conn *c, const void *data, size_t len, size_t piece, long delay_us,
                   int timeout_ms);

/* Reads whatever is available now (one recv). 1 got bytes, 0 nothing yet (EAGAIN),
   -1 closed or reset (c->eof / c->reset set) or other error (errno). For poll loops. */
int hc_fill(struct hc_conn *c);

/* Parses one response from the bytes already received. 1 complete (*r filled, bytes
   consumed), 0 need more, -1 unparseable (errno EPROTO). */
int hc_try_response(struct hc_conn *c, struct hc_response *r);

/* Reads one complete response within timeout_ms. 0 ok (*r filled; free with
   hc_response_free). -1 with errno: ETIMEDOUT, ECONNRESET (reset before a complete answer),
   ECONNABORTED (closed before a complete answer), EPROTO (unparseable). */
int hc_read_response(struct hc_conn *c, struct hc_response *r, int timeout_ms);

/* Waits up to timeout_ms for the peer to close. 1 closed (FIN or reset), 0 still open;
   bytes that arrive meanwhile stay in c->buf (check c->len). */
int hc_wait_close(struct hc_conn *c, int timeout_ms);

/* Which connections a poll loop waits on: want(i, arg) for c[i]. */
typedef bool hc_want_fn(int i, void *arg);

/* Waits up to timeout_ms until one of the connections c[0..n) that want() names is readable
   (bytes, a close or a reset), and writes the indices of the readable ones to ready (room
   for n). Their count (0 at the timeout or on EINTR); -1 when want() names none. */
int hc_poll_in(struct hc_conn *const *c, int n, hc_want_fn *want, void *arg, int timeout_ms,
               int *ready);

/* Value of header `name` (case-insensitive) copied into out; true if present. */
bool hc_header(const struct hc_response *r, const char *name, char *out, size_t outlen);

/* true if the body is exactly n bytes, all equal to ch. */
bool hc_body_is(const struct hc_response *r, size_t n, char ch);

void hc_response_free(struct hc_response *r);

/* Half-closes: sends FIN but keeps reading. 0 ok, -1 errno. */
int hc_shutdown_write(struct hc_conn *c);

/* Closes the connection (NULL is fine). hc_abort sets SO_LINGER 0 first, so the peer
   sees a reset rather than a FIN. */
void hc_close(struct hc_conn *c);
void hc_abort(struct hc_conn *c);

/* Closes every connection still open, e.g. after a failed assertion skipped the test's
   own hc_close calls. The list is not locked: use the client from one thread. */
void hc_close_all(void);

#endif
