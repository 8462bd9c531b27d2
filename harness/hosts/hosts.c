/* hosts: the machines of a run across hosts, from a hosts file. */
#include "hosts/hosts.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Splits line into words (on blanks); NUL-terminates them in place. Returns how many. */
static int split(char *line, char **words, int max)
{
    int n = 0;
    for (char *p = strtok(line, " \t\r"); p && n < max; p = strtok(NULL, " \t\r"))
        words[n++] = p;
    return n;
}

/* One host line's words into h. 0 ok; -1 with the cause in err. */
static int parse_host(char **w, int n, int lineno, struct host *h, char *err, size_t errlen)
{
    if (n < 2) {
        snprintf(err, errlen, "hosts file line %d: expected NAME ADDRESS [COMMAND...]", lineno);
        return -1;
    }
    if (strlen(w[0]) >= sizeof h->name || strlen(w[1]) >= sizeof h->addr) {
        snprintf(err, errlen, "hosts file line %d: a name or address too long", lineno);
        return -1;
    }
    if (n - 2 > HOST_ARGS_MAX) {
        snprintf(err, errlen, "hosts file line %d: more than %d words of command", lineno,
                 HOST_ARGS_MAX);
        return -1;
    }
    memset(h, 0, sizeof *h);
    snprintf(h->name, sizeof h->name, "%s", w[0]);
    snprintf(h->addr, sizeof h->addr, "%s", w[1]);
    size_t off = 0;
    for (int i = 2; i < n; i++) {
        size_t len = strlen(w[i]) + 1;
        if (off + len > sizeof h->words) {
            snprintf(err, errlen, "hosts file line %d: its command is too long", lineno);
            return -1;
        }
        memcpy(h->words + off, w[i], len);
        h->cmd[h->ncmd++] = h->words + off;
        off += len;
    }
    const char *prog = h->ncmd ? strrchr(h->cmd[0], '/') : NULL;
    prog = prog ? prog + 1 : h->ncmd ? h->cmd[0] : "";
    h->ssh = strcmp(prog, "ssh") == 0;
    return 0;
}

int hosts_parse(const char *text, struct hosts *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    int lineno = 0;
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        char line[2048], *w[HOST_ARGS_MAX + 3];
        lineno++;
        snprintf(line, sizeof line, "%.*s", (int)(len < sizeof line ? len : sizeof line - 1), p);
        p += len + (nl ? 1 : 0);
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        int n = split(line, w, HOST_ARGS_MAX + 3);
        if (n == 0)
            continue;
        if (out->n == HOSTS_MAX) {
            snprintf(err, errlen, "hosts file line %d: more than %d hosts", lineno, HOSTS_MAX);
            return -1;
        }
        if (parse_host(w, n, lineno, &out->h[out->n], err, errlen) < 0)
            return -1;
        if (hosts_find(out, out->h[out->n].name)) {
            snprintf(err, errlen, "hosts file line %d: host %s named twice", lineno, w[0]);
            return -1;
        }
        out->n++;
    }
    if (out->n == 0) {
        snprintf(err, errlen, "the hosts file names no host");
        return -1;
    }
    return 0;
}

int hosts_load(const char *path, struct hosts *out, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "--hosts %s: %s", path, strerror(errno));
        return -1;
    }
    static char text[65536];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    if (hosts_parse(text, out, err, errlen) < 0)
        return -1;
    /* the commands point into each host's own words: valid after the copy too */
    return 0;
}

const struct host *hosts_find(const struct hosts *hs, const char *name)
{
    for (int i = 0; i < hs->n; i++)
        if (strcmp(hs->h[i].name, name) == 0)
            return &hs->h[i];
    return NULL;
}

bool hosts_has_addr(const struct hosts *hs, const char *addr)
{
    for (int i = 0; i < hs->n; i++)
        if (strcmp(hs->h[i].addr, addr) == 0)
            return true;
    return false;
}
