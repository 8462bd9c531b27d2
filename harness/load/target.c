/* target: where the generator connects: HOST:PORT parsing, resolution, the loopback rule. */
#include "load/target.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool target_is_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
        return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
        const uint8_t *b = in6->sin6_addr.s6_addr;
        if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr))
            return true;
        return IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr) && b[12] == 127;
    }
    return false;
}

bool target_is_ipv4(const struct sockaddr *sa)
{
    return sa->sa_family == AF_INET;
}

int target_resolve(const char *spec, bool allow_remote, struct sockaddr_storage *ss, socklen_t *len,
                   char *host, size_t hostlen, char *err, size_t errlen)
{
    char name[256];
    const char *port;
    if (spec[0] == '[') {
        const char *close = strchr(spec, ']');
        if (!close || close[1] != ':' || (size_t)(close - spec - 1) >= sizeof name) {
            snprintf(err, errlen, "target '%s' is not [IPV6]:PORT", spec);
            return -1;
        }
        memcpy(name, spec + 1, (size_t)(close - spec - 1));
        name[close - spec - 1] = '\0';
        port = close + 2;
    } else {
        const char *colon = strrchr(spec, ':');
        if (!colon || colon == spec || (size_t)(colon - spec) >= sizeof name) {
            snprintf(err, errlen, "target '%s' is not HOST:PORT (e.g. 127.0.0.1:8080)", spec);
            return -1;
        }
        memcpy(name, spec, (size_t)(colon - spec));
        name[colon - spec] = '\0';
        port = colon + 1;
    }
    char *end;
    long p = strtol(port, &end, 10);
    if (*port == '\0' || *end != '\0' || p < 1 || p > 65535) {
        snprintf(err, errlen, "target '%s': port must be 1..65535", spec);
        return -1;
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(name, port, &hints, &res);
    if (rc != 0 || !res) {
        snprintf(err, errlen, "cannot resolve '%s': %s", name, gai_strerror(rc));
        return -1;
    }
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    freeaddrinfo(res);
    if (!allow_remote && !target_is_loopback((struct sockaddr *)ss)) {
        snprintf(err, errlen,
                 "target '%s' is not a loopback address (127.0.0.0/8 or ::1); pass "
                 "--allow-remote if you really mean to load another host",
                 spec);
        return -1;
    }
    snprintf(host, hostlen, "%s", spec);
    return 0;
}
