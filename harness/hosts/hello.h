/* hello: the first message of a program the harness runs on another host (`harness agent`,
 * `harness gen`): its build, then its host's environment; the orchestrator refuses a build
 * other than its own. */
#ifndef TVT_HELLO_H
#define TVT_HELLO_H

#include <stddef.h>
#include <stdint.h>

/* Sends the hello (wire.h's WIRE_HELLO) on fd: TVT_VERSION, a NUL, this host's environment as
 * JSON (sysenv's keys, and cpus_allowed: the CPUs this process may use). 0 ok, -1. */
int hello_send(int fd, uint64_t deadline_ms);

/* A hello's payload from host name: its environment into env; -1 with the cause in err when
 * its build is not this one (both named, and the fix). */
int hello_check(const char *payload, size_t len, const char *name, char *env, size_t envlen,
                char *err, size_t errlen);

#endif
