/* main: `harness load` and `harness run`: dispatch, help, exit codes, the result file. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jsonfile.h"
#include "load/gen.h"
#include "plan/cli.h"
#include "record/result.h"
#include "record/summary.h"
#include "run/node.h"
#include "run/runner.h"

static int usage_error(const char *msg)
{
    fprintf(stderr, "harness: %s\n(harness --help for usage)\n", msg);
    return 2;
}

/* The result's folder must exist before a run of minutes is spent on it. The
 * write itself can still fail (disk full); jsonfile_write says so then. */
static int check_out_dir(const char *path, char *err, size_t errlen)
{
    char dir[4096];
    const char *slash = strrchr(path, '/');
    struct stat st;

    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else
        snprintf(dir, sizeof dir, "%.*s", slash == path ? 1 : (int)(slash - path), path);
    int e = stat(dir, &st) < 0 ? errno : S_ISDIR(st.st_mode) ? 0 : ENOTDIR;
    if (e != 0) {
        snprintf(err, errlen,
                 "--out %.1000s: cannot write in %.1000s: %s (create the folder first)", path, dir,
                 strerror(e));
        return -1;
    }
    return 0;
}

static int run_cmd(enum cli_cmd cmd, int argc, char **argv)
{
    struct cli_opts o;
    struct run_record r;
    char err[2600];
    switch (cli_parse(cmd, argc, argv, &o, err, sizeof err)) {
    case CLI_HELP: cli_usage(stdout, cmd); return 0;
    case CLI_ERROR: return usage_error(err);
    case CLI_OK: break;
    }
    if (o.out && check_out_dir(o.out, err, sizeof err) < 0) {
        fprintf(stderr, "harness: %s\n", err);
        return 1;
    }
    int rc = runner_run(&o, &r, err, sizeof err);
    if (rc == 2)
        return usage_error(err);
    summary_print(stdout, &r);
    fflush(stdout);
    if (o.out) {
        json_t *doc = result_json(&r);
        if (!doc || jsonfile_write(o.out, doc, err, sizeof err) < 0) {
            fprintf(stderr, "harness: cannot write the result: %s\n", doc ? err : "out of memory");
            rc = 1;
        }
        json_decref(doc);
    }
    if (r.failed)
        fprintf(stderr, "harness: the run failed: %s\n", r.failure);
    result_free(&r);
    return rc;
}

/* `harness agent [DIR]` and `harness gen`: what an orchestrator starts on a host of its hosts
 * file; not for a terminal. */
static int remote_cmd(const char *sub, int argc, char **argv)
{
    bool agent = strcmp(sub, "agent") == 0;
    if ((argc > 1 && argv[1][0] == '-') || argc > (agent ? 2 : 1) || isatty(0)) {
        fprintf(agent && argc > 1 && strcmp(argv[1], "--help") != 0 ? stderr : stdout,
                "usage: harness %s%s\n"
                "  started by `harness run --hosts FILE` on a host of FILE, through its command\n"
                "  (ssh, ip netns exec); it speaks the harness's messages on stdin and stdout.\n",
                sub, agent ? " [DIR]  (DIR: the orchestrator's folder, which it works in)" : "");
        return argc > 1 && strcmp(argv[1], "--help") == 0 ? 0 : 2;
    }
    if (agent)
        return node_agent_main(argc > 1 ? argv[1] : NULL);
    return gen_remote_main();
}

int main(int argc, char **argv)
{
    /* A full disk (or RLIMIT_FSIZE) must be a write error that jsonfile_write
     * reports and cleans up after, not a silent death half-way through a file. */
    signal(SIGXFSZ, SIG_IGN);
    if (argc < 2)
        return usage_error("which subcommand? load or run");
    const char *sub = argv[1];
    if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 || strcmp(sub, "help") == 0) {
        if (argc > 2 && strcmp(argv[2], "load") == 0)
            cli_usage(stdout, CLI_LOAD);
        else if (argc > 2 && strcmp(argv[2], "run") == 0)
            cli_usage(stdout, CLI_RUN);
        else
            cli_usage(stdout, -1);
        return 0;
    }
    if (strcmp(sub, "load") == 0)
        return run_cmd(CLI_LOAD, argc - 1, argv + 1);
    if (strcmp(sub, "run") == 0)
        return run_cmd(CLI_RUN, argc - 1, argv + 1);
    /* the programs a run across hosts starts on the others, over their stdin and stdout */
    if (strcmp(sub, "agent") == 0 || strcmp(sub, "gen") == 0)
        return remote_cmd(sub, argc - 1, argv + 1);
    char msg[160];
    snprintf(msg, sizeof msg, "unknown subcommand '%s' (load or run)", sub);
    return usage_error(msg);
}
