/* hostlab: the host lab of scripts/hostlab.sh for the integration tests of multi-host runs:
   a server host and two client hosts as network namespaces on one bridge, an sshd in each
   with ssh, and the hosts file that names them. One lab at a time, under a lock on the whole
   machine, so that tests of several binaries (or Criterion jobs) wait for each other instead
   of clashing on the names. Every function asserts through Criterion.

   Take the lab down in the suite's .fini, which Criterion runs after a failed assertion too
   (hostlab_up also registers hostlab_down with atexit, for a test that skips itself later):

     static void fini(void) { hostlab_down(); tfile_scratch_remove(); }
     TestSuite(multi, .init = tfile_scratch_make, .fini = fini, .timeout = 60);
     Test(multi, two_generators)
     {
         const char *hosts = hostlab_up(tfile_scratch, true);
         ... bin/harness ... --hosts hosts ...; hostlab_drop("c2"); ...
     }

   A test killed by its timeout or a signal runs neither: its lab stays, and the next
   hostlab_up replaces it (up --replace). */
#ifndef TVT_HOSTLAB_H
#define TVT_HOSTLAB_H

#include <stdbool.h>

#include "child_proc.h"

#define HOSTLAB_SCRIPT    "scripts/hostlab.sh"
#define HOSTLAB_PREFIX    "tvtest"   /* namespaces tvtest-br, tvtest-srv, tvtest-c1, ... */
#define HOSTLAB_SUBNET    "10.213.9" /* .1 srv, .2 c1, .3 c2; apart from a lab made by hand */
#define HOSTLAB_HERE_ADDR HOSTLAB_SUBNET ".254" /* this namespace's address on the lab */
#define HOSTLAB_LINK      HOSTLAB_PREFIX "-lab" /* its veth */
#define HOSTLAB_LOCK      "/tmp/tvt-hostlab.lock"
#define HOSTLAB_HOSTS     3 /* srv, c1, c2 */
#define HOSTLAB_UP_MS     60000

/* One line of the hosts file, and the host's namespace. */
struct hostlab_host {
    char name[16];      /* "srv", "c1", "c2" */
    char addr[16];      /* "10.213.9.1" */
    char netns[32];     /* "tvtest-srv" */
    char command[1024]; /* what runs a program there: "ip netns exec tvtest-srv", "ssh ..." */
};

/* Brings the lab up in DIR/lab (dir exists; the lab's folder must not), with an sshd per
   host when ssh. Returns the hosts file's path (static storage). Skips the test with the
   script's reason when namespaces cannot be made here (not root, say), removing the scratch
   folder first (files.h's TFILE_SKIP: Criterion runs no .fini after a skip); asserts that
   up worked otherwise, sshd being installed included (scripts/deps.sh installs it). */
const char *hostlab_up(const char *dir, bool ssh);

/* Skips the test as hostlab_up does when namespaces cannot be made here. */
void hostlab_need(void);

/* `scripts/hostlab.sh up DIR/lab` as hostlab_up runs it, plus env ("K=V", NULL-terminated;
   may be NULL), without hostlab_need and without asserting on the outcome: returns its exit
   code, its output in c->out. On 0 the lab is up as after hostlab_up. Either way the lock
   is held until hostlab_down. */
int hostlab_try_up(const char *dir, bool ssh, const char *const *env, struct child *c);

/* The lab's folder (DIR/lab), "" when no lab is up. Static storage. */
const char *hostlab_dir(void);

/* The hosts of the lab that is up, in the hosts file's order; their count in *n. */
const struct hostlab_host *hostlab_hosts(int *n);

/* The host of that name (asserts there is one). */
const struct hostlab_host *hostlab_host(const char *name);

/* Runs `COMMAND ARGS...` of host h (args NULL-terminated) to its end, within timeout_ms, as
   c (its output in c->out). Returns its exit code. */
int hostlab_run(const struct hostlab_host *h, const char *const *args, struct child *c,
                int timeout_ms);

/* A socket (AF_INET, of type type, close-on-exec) in namespace netns, NULL for the test's
   own: made there by the calling thread, which then goes back. The fd, or -1 with errno. */
int hostlab_socket(const char *netns, int type);

/* Host name disappears as a powered-off host would (`hostlab.sh drop`): its link goes down,
   everything running in it is killed. */
void hostlab_drop(const char *name);

/* Takes the lab down (`hostlab.sh down`: no namespace, veth, sshd or file left) and releases
   the lock; asserts it worked. Nothing when no lab is up, so it is safe in any .fini. */
void hostlab_down(void);

#endif
