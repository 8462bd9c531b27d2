/* response.h: the answers both servers send: status line, headers, body. */
#ifndef TVT_RESPONSE_H
#define TVT_RESPONSE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define RESPONSE_HEAD_MAX 512 /* head of a 200, or a whole error answer */

/* The Date header's text, formatted once a second. Owned by one thread or
 * loop: not shared, so no locking. */
struct date_cache {
    time_t sec;
    char text[40];
};

/* Reformats dc->text when now is a different second than the cached one. */
void date_cache_update(struct date_cache *dc, time_t now);

/* Fills the shared read-only body buffer. Call once, before any thread starts. */
void response_init(void);

/* The body of a 200: the first `bytes` bytes (<= BYTES_MAX) of one static
 * buffer that every connection shares read-only. */
const char *response_body(void);

/* Formats the head of a 200 (status line to blank line) into buf, which holds
 * RESPONSE_HEAD_MAX bytes. Returns its length. */
size_t response_head_ok(char *buf, size_t body_len, int keep_alive, int http_minor,
                        const struct date_cache *dc);

/* response_head_ok with an `X-Shared-Count: N` header when shared_count > 0 (a state=shared
 * request: the key's count after its update). */
size_t response_head_ok_shared(char *buf, size_t body_len, int keep_alive, int http_minor,
                               uint64_t shared_count, const struct date_cache *dc);

/* Formats a whole error answer (head and the reason as a text body, with
 * Connection: close) into buf, which holds RESPONSE_HEAD_MAX bytes.
 * Returns its length. */
size_t response_error(char *buf, int status, const char *reason, const struct date_cache *dc);

/* Formats a whole answer of `status` with the reason as a text body, keeping the
 * connection when keep_alive (e.g. a 502 when the backend failed: the client did nothing
 * wrong), else with Connection: close. buf holds RESPONSE_HEAD_MAX bytes. Returns its
 * length. */
size_t response_status(char *buf, int status, const char *reason, int keep_alive, int http_minor,
                       const struct date_cache *dc);

/* The reason phrase of a status code ("Bad Request"). */
const char *response_reason(int status);

#endif
