/* node_wire: the messages between node_remote (the orchestrator's side) and `harness agent`
 * (node_agent.c) on another host. Both ends run the same build (hello.h checks), so structs
 * travel as their bytes. Not an API: node.h is. */
#ifndef TVT_NODE_WIRE_H
#define TVT_NODE_WIRE_H

#include <stdint.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "observe/inflight.h"
#include "record/result.h"

#define CALL_MS    60000 /* an agent that does not answer a call in a minute is gone */
#define SLOTS      4     /* programs an agent runs at once: a server and a backend */
#define STATE_TAIL 8192  /* bytes of a program's stderr sent back with its state */

enum {
    AG_SPAWN = 'X',
    AG_READY = 'Y',
    AG_POLL = 'E',
    AG_SIGNAL = 'G',
    AG_STOP = 'K',
    AG_CLEANUP = 'C',
    AG_PROBE = 'Q',
    AG_PERF_OPEN = 'F',
    AG_PERF_CLOSE = 'f',
    AG_LIMITS = 'L',
    AG_CPUSTAT = 'U',
    AG_DATA = 'D',
    AG_DEV_READ = 'd',
    AG_REPLY = 'r',
};

/* What a call's answer carries of a program's state. */
struct state {
    int32_t rc, slot, exited, killed, status, port;
    pid_t pid;
    struct rusage ru;
    char host[128];
    char text[600]; /* an error's text */
    uint32_t tail_len;
    char tail[STATE_TAIL]; /* the end of its stderr */
};

/* AG_READY's arguments. */
struct ready_args {
    int32_t timeout_ms, has_probe;
    socklen_t len;
    struct sockaddr_storage ss;
};

/* AG_DATA's answer. */
struct data_reply {
    int32_t rc;
    char err[700];
    char line[1200];
    struct data_result d;
    struct inflight dev; /* the agent's: its fds only say which files exist there */
};

#define DATA_CALL_MS 1800000 /* writing a data file of gigabytes takes minutes */

#endif
