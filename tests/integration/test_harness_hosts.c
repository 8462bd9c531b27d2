/* Runs across hosts (harness run --hosts), in the host lab (tests/support/hostlab.h): a server
 * host and two client hosts as network namespaces, reached through `ip netns exec` and through
 * real ssh (an sshd per namespace). The merged counts are the sum of the hosts' shares, each
 * host had its share of the connections, the server ran in its namespace (it listened on that
 * host's address, which exists nowhere else) and was measured there, and the result names the
 * hosts with their environments. A client host that disappears mid-run fails the run naming
 * it; a host whose build differs is refused naming both builds; nothing is left running or in
 * /tmp afterwards. Flags that name hosts without a hosts file, or a host it does not have, are
 * usage errors naming the fix. Skipped, saying why, where namespaces cannot be made. */
#include <criterion/criterion.h>

#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../support/child_proc.h"
#include "../support/files.h"
#include "../support/harness_run.h"
#include "../support/hostlab.h"
#include "../support/test_env.h"

#define RUN_S 60 /* a short run across hosts, ssh sessions included, on a busy machine */

static void fini(void)
{
    hostlab_down();
    tfile_scratch_remove();
}

TestSuite(harness_hosts, .init = tfile_scratch_make, .fini = fini, .timeout = 120);

static struct child run; /* its output buffer is large for a stack */

/* How many processes run `harness agent` or `harness gen` of this build now. */
static int remote_programs(void)
{
    const char *self = hrun_path();
    char real[4096];
    if (!realpath(self, real))
        snprintf(real, sizeof real, "%s", self);
    DIR *d = opendir("/proc");
    pid_t pid;
    int n = 0;
    while (d && (pid = child_proc_next(d)) > 0) {
        char cmd[4200];
        ssize_t len = child_proc_read(pid, "cmdline", cmd, sizeof cmd);
        const char *sub = cmd + strlen(cmd) + 1; /* argv[1] */
        if (len > (ssize_t)strlen(cmd) + 1 && strcmp(cmd, real) == 0 &&
            (strcmp(sub, "agent") == 0 || strcmp(sub, "gen") == 0))
            n++;
    }
    if (d)
        closedir(d);
    return n;
}

/* The entry of host name in the result's hosts. */
static json_t *host_entry(json_t *doc, const char *name)
{
    json_t *hosts = hget(doc, "hosts"), *h;
    size_t i;
    cr_assert(json_is_array(hosts), "the result has no hosts array");
    json_array_foreach(hosts, i, h) if (strcmp(hstr(h, "name"), name) == 0) return h;
    cr_assert_fail("the result's hosts do not name %s", name);
    return NULL;
}

static bool has_role(json_t *h, const char *role)
{
    json_t *roles = hget(h, "roles"), *r;
    size_t i;
    json_array_foreach(roles, i, r) if (strcmp(json_string_value(r), role) == 0) return true;
    return false;
}

/* The checks of a good run across the lab: merged = sum, shares even, the server on srv. */
static void expect_spread(json_t *doc, int conns)
{
    json_t *client = hget(doc, "client");
    json_int_t requests = hint(client, "requests");
    cr_assert_gt(requests, 0);
    json_int_t sum = 0, conns_sum = 0;
    const char *clients[] = {"c1", "c2"};
    for (int i = 0; i < 2; i++) {
        json_t *h = host_entry(doc, clients[i]);
        cr_assert(has_role(h, "clients"), "%s is not a generators' host", clients[i]);
        cr_assert_not(has_role(h, "server"));
        json_t *share = hget(h, "share");
        cr_assert_gt(hint(share, "requests"), 0, "%s answered nothing", clients[i]);
        cr_assert_eq(hint(share, "conns"), conns / 2, "%s had %lld connections", clients[i],
                     (long long)hint(share, "conns"));
        sum += hint(share, "requests");
        conns_sum += hint(share, "conns_connected");
        /* its environment is its own host's, sent in its hello */
        cr_assert_str_eq(hstr(hget(h, "env"), "git_commit"), hstr(hget(doc, "env"), "git_commit"));
        cr_assert(hnum(share, "window_start_ms") >= 0 && hnum(share, "window_start_ms") < 1000,
                  "%s opened its window %.1f ms after the first", clients[i],
                  hnum(share, "window_start_ms"));
    }
    cr_assert_eq(sum, requests, "the hosts' shares sum to %lld, the merged count is %lld",
                 (long long)sum, (long long)requests);
    cr_assert_eq(conns_sum, conns);
    /* the server listened on srv's address, which only srv's namespace has */
    json_t *srv = host_entry(doc, "srv");
    cr_assert(has_role(srv, "server"));
    cr_assert(json_is_null(hget(srv, "share")), "the server host has a share of the load");
    const struct hostlab_host *lab_srv = hostlab_host("srv");
    char prefix[64];
    snprintf(prefix, sizeof prefix, "%s:", lab_srv->addr);
    const char *target = hstr(hget(doc, "params"), "target");
    cr_assert(strncmp(target, prefix, strlen(prefix)) == 0, "the target is %s, not on srv (%s)",
              target, lab_srv->addr);
    /* and its figures were read there */
    json_t *server = hget(doc, "server");
    cr_assert_gt(hint(server, "rss_steady_kib"), 0);
    cr_assert_gt(hnum(server, "cpu_user_s") + hnum(server, "cpu_sys_s"), 0);
    cr_assert(json_is_object(hget(srv, "env")), "srv's environment is missing");
}

/* A short closed-loop run across the lab of hosts file hosts. */
static json_t *run_across(const char *hosts, const char *name, int conns)
{
    char n[16];
    snprintf(n, sizeof n, "%d", conns);
    const char *args[] = {"run", "--impl",       hrun_impl(), "--hosts",  hosts, "--server-on",
                          "srv", "--clients-on", "c1,c2",     "--conns",  n,     "--duration",
                          "1",   "--warmup",     "0.3",       "--idle-s", "0.2", NULL};
    return hrun_ok(tfile_scratch, name, args, RUN_S);
}

Test(harness_hosts, two_generator_hosts_through_ip_netns_exec_merge_exactly)
{
    hrun_need("runs across hosts");
    const char *hosts = hostlab_up(tfile_scratch, false);
    json_t *doc = run_across(hosts, "netns", 40);
    expect_spread(doc, 40);
    json_decref(doc);
    cr_assert_eq(remote_programs(), 0, "a harness agent or gen outlived the run");
}

Test(harness_hosts, two_generator_hosts_through_ssh_merge_exactly)
{
    hrun_need("runs across hosts");
    const char *hosts = hostlab_up(tfile_scratch, true);
    json_t *doc = run_across(hosts, "ssh", 40);
    expect_spread(doc, 40);
    /* ssh measured each host's clock: a round trip, and an offset of the same clock */
    json_t *share = hget(host_entry(doc, "c1"), "share");
    cr_assert_gt(hnum(share, "clock_rtt_ms"), 0);
    cr_assert_lt(hnum(share, "clock_offset_ms"), 50);
    json_decref(doc);
    cr_assert_eq(remote_programs(), 0, "a harness agent or gen outlived the run");
}

Test(harness_hosts, a_client_host_that_disappears_fails_the_run_naming_it)
{
    hrun_need("runs across hosts");
    const char *hosts = hostlab_up(tfile_scratch, true);
    char out[300];
    snprintf(out, sizeof out, "%s/dropped.json", tfile_scratch);
    const char *args[] = {"run",         "--impl",     hrun_impl(),    "--hosts",  hosts,
                          "--server-on", "srv",        "--clients-on", "c1,c2",    "--conns",
                          "40",          "--duration", "30",           "--warmup", "0.3",
                          "--idle-s",    "0.2",        "--out",        out,        NULL};
    child_start(&run, hrun_argv(args), &(struct child_opts){.group = true});
    /* once the window runs, c2 goes away as a powered-off host would */
    while (!strstr(run.out, "measure") && !child_pump(&run, 200))
        ;
    cr_assert(strstr(run.out, "measure"), "the run never measured:\n%s", run.out);
    hostlab_drop("c2");
    int code = child_wait(&run, RUN_S * 1000);
    cr_assert_eq(code, 1, "harness exited %d:\n%s", code, run.out);
    cr_assert(strstr(run.out, "host c2"), "the failure does not name c2:\n%s", run.out);
    json_t *doc = hjson_load(out);
    cr_assert_str_eq(hstr(doc, "status"), "failed");
    cr_assert(strstr(hstr(doc, "failure"), "host c2"), "%s", hstr(doc, "failure"));
    json_decref(doc);
    /* nothing of the run stays: no agent, no generator, no server on srv */
    cr_assert_eq(remote_programs(), 0, "a harness agent or gen outlived the run");
    const char *ps[] = {"pgrep", "-f", "_server --host", NULL};
    struct child c;
    int left = hostlab_run(hostlab_host("srv"), ps, &c, 15000);
    cr_assert_neq(left, 0, "a server still runs on srv:\n%s", c.out);
}

Test(harness_hosts, a_host_of_another_build_is_refused_naming_both)
{
    hrun_need("runs across hosts");
    hostlab_up(tfile_scratch, false);
    /* srv's command answers with the hello of another build */
    char fake[300], hosts[300], text[2048];
    snprintf(fake, sizeof fake, "%s/other_build.py", tfile_scratch);
    tfile_write_script(fake, "import struct, sys\n"
                             "p = b'0000000-other\\0{}'\n"
                             "sys.stdout.buffer.write(b'h' + struct.pack('=I', len(p)) + p)\n"
                             "sys.stdout.flush()\n"
                             "sys.stdin.read()\n");
    const struct hostlab_host *s = hostlab_host("srv"), *c1 = hostlab_host("c1");
    snprintf(text, sizeof text, "srv %s ip netns exec %s python3 %s\nc1 %s %s\n", s->addr, s->netns,
             fake, c1->addr, c1->command);
    snprintf(hosts, sizeof hosts, "%s/hosts.other", tfile_scratch);
    tfile_write_script(hosts, text);
    const char *args[] = {
        "run",          "--impl", hrun_impl(), "--hosts", hosts,        "--server-on", "srv",
        "--clients-on", "c1",     "--conns",   "4",       "--duration", "1",           NULL};
    int code = hrun_child(&run, args, NULL);
    cr_assert_eq(code, 1, "harness exited %d:\n%s", code, run.out);
    cr_assert(strstr(run.out, "host srv runs harness 0000000-other"), "%s", run.out);
    cr_assert(strstr(run.out, "build the same commit there"), "%s", run.out);
    cr_assert_eq(remote_programs(), 0);
}

Test(harness_hosts, host_flags_without_a_hosts_file_or_with_an_unknown_name_are_usage_errors)
{
    hrun_need("runs across hosts");
    const char *no_file[] = {"run", "--impl", "async", "--server-on", "srv", NULL};
    cr_assert_eq(hrun_child(&run, no_file, NULL), 2, "%s", run.out);
    cr_assert(strstr(run.out, "add --hosts FILE"), "%s", run.out);
    char hosts[300];
    snprintf(hosts, sizeof hosts, "%s/hosts", tfile_scratch);
    tfile_write_script(hosts, "srv 10.213.99.1 ip netns exec nowhere\nc1 10.213.99.2\n");
    const char *unknown[] = {"run",         "--impl", "async",        "--hosts", hosts,
                             "--server-on", "srv",    "--clients-on", "c1,c7",   NULL};
    cr_assert_eq(hrun_child(&run, unknown, NULL), 2, "%s", run.out);
    cr_assert(strstr(run.out, "--clients-on c7: no such host") && strstr(run.out, "srv c1"), "%s",
              run.out);
    const char *no_clients[] = {"run", "--impl",      "async", "--hosts",
                                hosts, "--server-on", "srv",   NULL};
    cr_assert_eq(hrun_child(&run, no_clients, NULL), 2, "%s", run.out);
    cr_assert(strstr(run.out, "--clients-on"), "%s", run.out);
}
