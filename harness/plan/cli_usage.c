/* cli_usage: the text of `harness help`, `harness help load` and `harness help run`: the
 * option table's rows (cli_table.c), and what a run does beyond its flags. */
#include <stdio.h>

#include "opts.h"
#include "plan/cli.h"

static const char USAGE_TOP[] =
    "harness: load generator and measuring runner of the tasks-vs-threads suite\n"
    "\n"
    "usage: harness load --target HOST:PORT [options]   drive any HTTP/1.1 server\n"
    "       harness run (--impl async|thread|uring | --server-cmd 'CMD') [options]\n"
    "                   [-- SERVER FLAGS]\n"
    "                                                   spawn a server, load it, measure it\n"
    "       harness help [load|run]\n"
    "       harness agent [DIR] | harness gen            the other hosts' side of\n"
    "                                                   run --hosts, which starts them\n"
    "\n"
    "Exit codes: 0 ok, 1 the run failed (the JSON still says why), 2 usage error.\n";

static const char NOTES_LOAD[] =
    "Every result has a `placement` object: where each side ran (keys: harness help run).\n";

static const char NOTES_RUN[] =
    "\n"
    "  -- FLAGS...          passed to the server unchanged (e.g. -- --backlog 128)\n"
    "\n"
    "Before anything starts the open-file limits are checked (the soft limit raised to the\n"
    "hard one first; the servers inherit it): each --impl server process holds conns /\n"
    "workers fds (twice that with io=net: a backend connection each), each generator process\n"
    "conns / procs, the started backend one per connection, each plus a reserve; a run that\n"
    "cannot fit exits 2 naming --workers or --procs and the numbers\n"
    "\n"
    "  --ready-timeout-ms MS  wait for `listening on` (default 10000)\n"
    "  --idle-s S           idle baseline before the load starts (default 0.3)\n"
    "  --stall-s S          no answer for S seconds fails the run (default 5 + think time)\n"
    "  -- FLAGS...          passed to the server unchanged (e.g. -- --backlog 128)\n"
    "\n"
    "result keys added by placement and capacity (harness/README.md has them all):\n"
    "  placement  {server_cpus, client_cpus, backend_cpus: [CPU numbers, [] when none],\n"
    "             overlap, server_k, cpus_allowed, server_pinned, client_pinned,\n"
    "             generator_loops, note}; in `load` results too\n"
    "  params     server_cpu, client_cpu (the first CPU of each set), threads, workers,\n"
    "             pin_workers, capacity\n"
    "  capacity   null without --capacity; else {closed_loop_rps, slo_ms, slo_rule,\n"
    "             capacity_rps (null: none met the target), capacity_bound (slo: a later\n"
    "             step crossed it; generator: a lower bound; range: none crossed it),\n"
    "             capacity_note, steps: [{offered_rps, achieved_rps, requests, errors,\n"
    "             error_rate, p50_us, p90_us, p99_us, p999_us, p99_uncorrected_us,\n"
    "             server_cpu_s, server_cpu_util, server_saturated (>= 90% of K CPUs),\n"
    "             generator_cpu_s, generator_cpu_max_thread, generator_behind (achieved\n"
    "             < 99% of offered, server not saturated), behind_cause, counted,\n"
    "             backend_cpu_s, device_inflight_mean, ...}]}\n"
    "\n"
    "result keys of the wait kinds:\n"
    "  params     io (timer|net|file: what was asked), io_sent (io= was in the requests),\n"
    "             file_kib (null unless sent), data_file (absolute), data_size_mib,\n"
    "             data_file_reused, data_file_write_s (null: not io=file, or an explicit\n"
    "             --data-file), upstream (HOST:PORT or null)\n"
    "  backend    null unless run --io net; {upstream, started (false with --upstream: the\n"
    "             rest null), command, cpus, shares_client_cpus, pid, workers, cpu_s\n"
    "             (user + sys over the window, /proc), window_s, cpu_util (of its CPUs),\n"
    "             cpu_us_per_request (per good answer of the front), accepted, requests\n"
    "             (its counters: its whole life), counters, exit, killed}\n"
    "  server.device_inflight  run --io file: reads in flight at the data file's device\n"
    "             (the partition's or its disk's): {device, source, mean (the kernel's\n"
    "             summed read time over the window, /sys/dev/block/MAJ:MIN/stat), method,\n"
    "             reads (completed in the window), sampled_mean, max, samples (of its\n"
    "             inflight file, every 100 ms)}, or {device, unavailable: why}; null\n"
    "             otherwise; each of `samples` has device_inflight\n"
    "  client.saturation  the figures of client.saturated: {rule, threshold, cpus, loops,\n"
    "             generator_cpu_s, generator_cpu_max_thread, window_s, backend_shares_cpus,\n"
    "             backend_cpu_s, busy, client_cpus_busy, server_cpus_busy}. saturated: the\n"
    "             busiest generator loop used > 90% of a core, or the loops > 90% of\n"
    "             min(loops, generator CPUs); and, when a started backend shares the\n"
    "             generator's CPUs, (generator CPU + backend CPU) per second of the window\n"
    "             > 90% of the CPUs of both sets together (busy). client_cpus_busy and\n"
    "             server_cpus_busy: how busy each set was over the window counting every\n"
    "             process and the kernel's softirq work (/proc/stat); not in the flag: well\n"
    "             above busy, something besides the generator ran there (loopback traffic)\n";

void cli_usage(FILE *f, int cmd)
{
    struct cli_opts d;
    if (cmd < 0)
        fputs(USAGE_TOP, f);
    if (cmd < 0 || cmd == CLI_LOAD) {
        cli_defaults(CLI_LOAD, &d);
        fprintf(f, "%sload options:\n", cmd < 0 ? "\n" : "");
        opts_usage(f, &CLI_TABLE, CLI_BIT(CLI_LOAD), &d);
        fputs(NOTES_LOAD, f);
    }
    if (cmd < 0 || cmd == CLI_RUN) {
        cli_defaults(CLI_RUN, &d);
        fprintf(f, "%srun options (every load option too; --target is then optional):\n",
                cmd < 0 ? "\n" : "");
        opts_usage(f, &CLI_TABLE, CLI_BIT(CLI_RUN), &d);
        fputs(NOTES_RUN, f);
    }
}
