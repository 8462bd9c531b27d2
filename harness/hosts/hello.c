/* hello: a remote program's build and environment, sent and checked. */
#include "hosts/hello.h"

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "load/wire.h"
#include "plan/placement.h"
#include "sysenv.h"
#include "version.h"

int hello_send(int fd, uint64_t deadline_ms)
{
    static char buf[16384];
    char cpus[1024];
    struct cpu_list l = {0};
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0)
        for (int c = 0; c < CPU_SETSIZE && l.n < PLACE_MAX_CPUS; c++)
            if (CPU_ISSET(c, &set))
                l.cpu[l.n++] = c;
    json_t *env = sysenv_json();
    if (env)
        json_object_set_new(env, "cpus_allowed", json_string(place_format(&l, cpus, sizeof cpus)));
    char *text = env ? json_dumps(env, JSON_COMPACT) : NULL;
    int n = snprintf(buf, sizeof buf, "%s%c%s", tvt_version(), '\0', text ? text : "{}");
    free(text);
    json_decref(env);
    if (n < 0 || (size_t)n >= sizeof buf)
        n = snprintf(buf, sizeof buf, "%s%c{}", tvt_version(), '\0');
    return wire_send(fd, WIRE_HELLO, buf, (size_t)n + 1, deadline_ms);
}

int hello_check(const char *payload, size_t len, const char *name, char *env, size_t envlen,
                char *err, size_t errlen)
{
    size_t vlen = strnlen(payload, len);
    if (vlen == len || strcmp(payload, tvt_version()) != 0) {
        snprintf(err, errlen,
                 "host %s runs harness %.*s, this one is %s: build the same commit there "
                 "(git checkout, make)",
                 name, (int)(vlen < 64 ? vlen : 64), payload, tvt_version());
        return -1;
    }
    snprintf(env, envlen, "%.*s", (int)(len - vlen - 1), payload + vlen + 1);
    return 0;
}
