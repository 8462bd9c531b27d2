/* response.c: formatting answers without allocating. */
#include "response.h"

#include <stdio.h>
#include <string.h>

#include "workload.h"

#define SERVER_NAME "tasks-vs-threads"

static char body[BYTES_MAX];

void response_init(void)
{
    memset(body, 'x', sizeof(body));
}

const char *response_body(void)
{
    return body;
}

void date_cache_update(struct date_cache *dc, time_t now)
{
    struct tm tm;

    if (dc->sec == now && dc->text[0] != '\0')
        return;
    gmtime_r(&now, &tm);
    strftime(dc->text, sizeof(dc->text), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    dc->sec = now;
}

const char *response_reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
    }
}

/* HTTP/1.0 clients keep the connection only when told so; HTTP/1.1 ones keep it unless
   told otherwise. */
static const char *connection_header(int keep_alive, int http_minor)
{
    return !keep_alive       ? "Connection: close\r\n"
           : http_minor == 0 ? "Connection: keep-alive\r\n"
                             : "";
}

size_t response_head_ok(char *buf, size_t body_len, int keep_alive, int http_minor,
                        const struct date_cache *dc)
{
    return response_head_ok_shared(buf, body_len, keep_alive, http_minor, 0, dc);
}

size_t response_head_ok_shared(char *buf, size_t body_len, int keep_alive, int http_minor,
                               uint64_t shared_count, const struct date_cache *dc)
{
    const char *conn = connection_header(keep_alive, http_minor);
    char shared[48] = "";
    if (shared_count > 0)
        snprintf(shared, sizeof shared, "X-Shared-Count: %llu\r\n",
                 (unsigned long long)shared_count);
    int n = snprintf(buf, RESPONSE_HEAD_MAX,
                     "HTTP/1.1 200 OK\r\n"
                     "Server: " SERVER_NAME "\r\n"
                     "Date: %s\r\n"
                     "Content-Type: text/plain\r\n"
                     "Content-Length: %zu\r\n"
                     "%s%s\r\n",
                     dc->text, body_len, shared, conn);
    return (size_t)n;
}

size_t response_status(char *buf, int status, const char *reason, int keep_alive, int http_minor,
                       const struct date_cache *dc)
{
    int rlen = (int)strnlen(reason, 200); /* keeps the whole answer inside buf */
    int n = snprintf(buf, RESPONSE_HEAD_MAX,
                     "HTTP/1.1 %d %s\r\n"
                     "Server: " SERVER_NAME "\r\n"
                     "Date: %s\r\n"
                     "Content-Type: text/plain\r\n"
                     "Content-Length: %zu\r\n"
                     "%s"
                     "\r\n"
                     "%.*s\n",
                     status, response_reason(status), dc->text, (size_t)rlen + 1,
                     connection_header(keep_alive, http_minor), rlen, reason);
    return (size_t)n;
}

size_t response_error(char *buf, int status, const char *reason, const struct date_cache *dc)
{
    return response_status(buf, status, reason, 0, 1, dc);
}
