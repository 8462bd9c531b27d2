/* hosts: the machines a run spans, from a hosts file: one line a host,
 * `NAME ADDRESS COMMAND...`, where COMMAND is how to run a program there (`ssh -o
 * BatchMode=yes user@lab2`, `ip netns exec NS`, or nothing for this machine); `#` starts a
 * comment. Pure but for hosts_load's read. */
#ifndef TVT_HOSTS_H
#define TVT_HOSTS_H

#include <stdbool.h>
#include <stddef.h>

#define HOSTS_MAX     32
#define HOST_ARGS_MAX 32

/* One host. Not to be copied: cmd points into its own words. */
struct host {
    char name[64];
    char addr[64];    /* how the others reach it: the server's listening address */
    char words[1024]; /* the command's words, NUL-separated */
    const char *cmd[HOST_ARGS_MAX + 1]; /* into words, NULL-terminated; cmd[0] NULL: here */
    int ncmd;
    bool ssh; /* the command is ssh: the harness adds its multiplexing options */
};

struct hosts {
    int n;
    struct host h[HOSTS_MAX];
};

/* Parses the text of a hosts file into out. 0 ok; -1 with the line and the cause in err (a
 * missing address, a name twice, too many hosts or words). */
int hosts_parse(const char *text, struct hosts *out, char *err, size_t errlen);

/* Reads and parses the file at path. 0 ok; -1 with the cause in err. */
int hosts_load(const char *path, struct hosts *out, char *err, size_t errlen);

/* The host called name, or NULL. */
const struct host *hosts_find(const struct hosts *hs, const char *name);

/* true if addr (numeric, as the hosts file writes it) is one of the hosts'. */
bool hosts_has_addr(const struct hosts *hs, const char *addr);

#endif
