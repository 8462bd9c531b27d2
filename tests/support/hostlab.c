/* hostlab: the host lab of scripts/hostlab.sh for the integration tests. */
#include "hostlab.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "files.h"

#define SCRIPT_MS   30000 /* check, drop, down */
#define MAX_WORDS   64    /* of a hosts-file COMMAND plus the program's arguments */
#define CHECK_CODE  1     /* `hostlab.sh check`: cannot here, the reason on stdout */
#define REASON_SIZE 512

static struct {
    bool up;
    int lock_fd; /* HOSTLAB_LOCK, held from up to down */
    char dir[256];
    char hosts_path[300];
    struct hostlab_host hosts[HOSTLAB_HOSTS];
    int n;
} lab = {.lock_fd = -1};

static struct child script; /* its output buffer is large for a stack */

/* Runs hostlab.sh with args (NULL-terminated), its output in script.out. */
static int run_script(const char *const *args, const char *const *env, int timeout_ms)
{
    const char *argv[16] = {HOSTLAB_SCRIPT};
    size_t n = 1;
    while (*args && n < sizeof argv / sizeof argv[0] - 1)
        argv[n++] = *args++;
    argv[n] = NULL;
    const struct child_opts o = {.env = env, .group = true};
    return child_run(&script, argv, &o, timeout_ms);
}

/* The script's output on one line, for a message. */
static const char *said(void)
{
    static char flat[REASON_SIZE];
    snprintf(flat, sizeof flat, "%.*s", (int)sizeof flat - 1, script.out);
    for (size_t len = strlen(flat); len > 0 && flat[len - 1] == '\n'; len--)
        flat[len - 1] = '\0';
    for (char *p = flat; *p; p++)
        if (*p == '\n')
            *p = ' ';
    return flat;
}

static void read_hosts(void)
{
    FILE *f = fopen(lab.hosts_path, "r");
    char line[sizeof lab.hosts[0].command + 64];
    cr_assert_not_null(f, "%s: %s", lab.hosts_path, strerror(errno));
    lab.n = 0;
    while (fgets(line, sizeof line, f)) {
        cr_assert(lab.n < HOSTLAB_HOSTS, "%s: more than %d hosts", lab.hosts_path, HOSTLAB_HOSTS);
        struct hostlab_host *h = &lab.hosts[lab.n++];
        char name[sizeof h->name];
        int rest = 0;
        line[strcspn(line, "\n")] = '\0';
        cr_assert(sscanf(line, "%15s %15s %n", name, h->addr, &rest) == 2 && rest > 0,
                  "%s: line '%s' is not NAME ADDRESS COMMAND...", lab.hosts_path, line);
        memcpy(h->name, name, sizeof name);
        snprintf(h->command, sizeof h->command, "%s", line + rest);
        snprintf(h->netns, sizeof h->netns, "%s-%s", HOSTLAB_PREFIX, name);
    }
    fclose(f);
    cr_assert_eq(lab.n, HOSTLAB_HOSTS, "%s: %d hosts, want %d", lab.hosts_path, lab.n,
                 HOSTLAB_HOSTS);
}

static void release_lock(void)
{
    if (lab.lock_fd >= 0)
        close(lab.lock_fd);
    lab.lock_fd = -1;
}

/* down, then the lock; asserting only inside a test (not from atexit). 0 ok. */
static int lab_down(bool assert)
{
    int code = 0;
    if (lab.up) {
        const char *args[] = {"down", lab.dir, NULL};
        code = run_script(args, NULL, SCRIPT_MS);
        lab.up = false;
        if (code != 0 && !assert)
            fprintf(stderr, "hostlab: down %s: exit %d: %s\n", lab.dir, code, said());
    }
    release_lock();
    if (assert)
        cr_assert_eq(code, 0, "hostlab.sh down %s: exit %d: %s", lab.dir, code, said());
    return code;
}

static void down_at_exit(void)
{
    lab_down(false);
}

int hostlab_try_up(const char *dir, bool ssh, const char *const *env, struct child *c)
{
    static bool registered;
    cr_assert(!lab.up, "a host lab is up already in %s: one at a time", lab.dir);
    if (lab.lock_fd < 0)
        lab.lock_fd = tfile_lock(HOSTLAB_LOCK);
    snprintf(lab.dir, sizeof lab.dir, "%s/lab", dir);
    /* under the lock, a lab of this prefix is one a killed test left: --replace takes it */
    const char *argv[] = {HOSTLAB_SCRIPT,       "up",       lab.dir,        "--prefix",
                          HOSTLAB_PREFIX,       "--subnet", HOSTLAB_SUBNET, "--replace",
                          ssh ? "--ssh" : NULL, NULL};
    const struct child_opts o = {.env = env, .group = true};
    int code = child_run(c, argv, &o, HOSTLAB_UP_MS);
    if (code != 0)
        return code; /* the lock stays, so that the caller can look at what is left */
    lab.up = true;
    if (!registered)
        atexit(down_at_exit);
    registered = true;
    snprintf(lab.hosts_path, sizeof lab.hosts_path, "%s/hosts", lab.dir);
    read_hosts();
    return 0;
}

void hostlab_need(void)
{
    const char *check[] = {"check", NULL};
    int code = run_script(check, NULL, SCRIPT_MS);
    if (code == CHECK_CODE)
        TFILE_SKIP("the host lab cannot be made here: %s", said());
    cr_assert_eq(code, 0, "hostlab.sh check: exit %d: %s", code, said());
}

const char *hostlab_up(const char *dir, bool ssh)
{
    hostlab_need();
    int code = hostlab_try_up(dir, ssh, NULL, &script);
    cr_assert_eq(code, 0, "hostlab.sh up %s/lab%s: exit %d: %s", dir, ssh ? " --ssh" : "", code,
                 said());
    return lab.hosts_path;
}

const char *hostlab_dir(void)
{
    return lab.up ? lab.dir : "";
}

const struct hostlab_host *hostlab_hosts(int *n)
{
    *n = lab.up ? lab.n : 0;
    return lab.hosts;
}

const struct hostlab_host *hostlab_host(const char *name)
{
    for (int i = 0; lab.up && i < lab.n; i++)
        if (strcmp(lab.hosts[i].name, name) == 0)
            return &lab.hosts[i];
    cr_assert_fail("no host %s in the lab%s", name, lab.up ? "" : " (none is up)");
    return NULL;
}

int hostlab_run(const struct hostlab_host *h, const char *const *args, struct child *c,
                int timeout_ms)
{
    char words[sizeof h->command];
    const char *argv[MAX_WORDS + 1];
    size_t n = 0;
    char *save = NULL;
    snprintf(words, sizeof words, "%s", h->command);
    for (char *w = strtok_r(words, " ", &save); w && n < MAX_WORDS; w = strtok_r(NULL, " ", &save))
        argv[n++] = w;
    while (*args && n < MAX_WORDS)
        argv[n++] = *args++;
    cr_assert(!*args, "[%s] more than %d words to run", h->name, MAX_WORDS);
    argv[n] = NULL;
    return child_run(c, argv, NULL, timeout_ms);
}

int hostlab_socket(const char *netns, int type)
{
    if (!netns)
        return socket(AF_INET, type | SOCK_CLOEXEC, 0);
    char path[64];
    snprintf(path, sizeof path, "/run/netns/%s", netns);
    /* setns changes the calling thread's namespace only; a socket keeps the one it was
       made in */
    int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    int there = open(path, O_RDONLY | O_CLOEXEC);
    int fd = -1, err = 0;
    if (self < 0 || there < 0 || setns(there, CLONE_NEWNET) < 0) {
        err = errno;
    } else {
        fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
        err = errno;
        cr_assert_eq(setns(self, CLONE_NEWNET), 0, "back from namespace %s: %s", netns,
                     strerror(errno));
    }
    if (self >= 0)
        close(self);
    if (there >= 0)
        close(there);
    errno = err;
    return fd;
}

void hostlab_drop(const char *name)
{
    cr_assert(lab.up, "hostlab_drop(%s): no lab is up", name);
    const char *args[] = {"drop", name, lab.dir, NULL};
    int code = run_script(args, NULL, SCRIPT_MS);
    cr_assert_eq(code, 0, "hostlab.sh drop %s: exit %d: %s", name, code, said());
}

void hostlab_down(void)
{
    lab_down(true);
}
