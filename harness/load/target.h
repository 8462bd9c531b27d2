/* target: where the generator connects: HOST:PORT parsing, resolution, the loopback rule. */
#ifndef TVT_TARGET_H
#define TVT_TARGET_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* Resolves "HOST:PORT" or "[V6]:PORT" (numeric or a name) into *ss. Refuses addresses
 * outside 127.0.0.0/8 and ::1 unless allow_remote: a benchmark aimed at a shared host by
 * mistake is a denial of service. Writes the Host header value to host (as given).
 * 0 ok; -1 with the cause in err. */
int target_resolve(const char *spec, bool allow_remote, struct sockaddr_storage *ss, socklen_t *len,
                   char *host, size_t hostlen, char *err, size_t errlen);

/* true for 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104. */
bool target_is_loopback(const struct sockaddr *sa);

/* true if sa is IPv4 (so that --source-ips can bind 127.0.0.x). */
bool target_is_ipv4(const struct sockaddr *sa);

#endif
