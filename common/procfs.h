/* procfs: readers for /proc (process memory, system memory, sockets, switches); no printing. */
#ifndef TVT_PROCFS_H
#define TVT_PROCFS_H

#include <sys/types.h>

/* Memory and switch figures of one process, from /proc/PID/status (kB as the kernel says). */
struct proc_mem {
    long rss_kib, hwm_kib, vsz_kib, rss_anon_kib, threads;
    long long ctx_vol, ctx_invol; /* of the thread group leader only; see procfs_task_switches */
};

/* Parses the text of a /proc/PID/status file. 0 ok, -1 (errno EINVAL) if a field is missing.
   Pure: thread-safe. */
int procfs_parse_status(const char *text, struct proc_mem *out);

/* Reads /proc/PID/status (pid 0 = this process). 0 ok, -1 with errno on failure. */
int procfs_read_status(pid_t pid, struct proc_mem *out);

/* Parses the Pss line of /proc/PID/smaps_rollup. 0 ok, -1 (errno EINVAL) if absent. */
int procfs_parse_smaps_rollup(const char *text, long *pss_kib);

/* Reads PSS of pid (0 = this process) from smaps_rollup. 0 ok, -1 with errno
   (ENOENT on kernels before 4.14, which have no smaps_rollup). */
int procfs_read_pss(pid_t pid, long *pss_kib);

/* System-wide memory figures from /proc/meminfo, in kB. */
struct sys_mem {
    long mem_total_kib, mem_available_kib, kernel_stack_kib, sunreclaim_kib;
};

/* Parses /proc/meminfo text. 0 ok, -1 (errno EINVAL) if a field is missing. */
int procfs_parse_meminfo(const char *text, struct sys_mem *out);

/* Reads /proc/meminfo. 0 ok, -1 with errno. */
int procfs_read_meminfo(struct sys_mem *out);

/* Parses the TCP line of /proc/net/sockstat: sockets in use and memory in pages
   (system-wide, shared with everyone). 0 ok, -1 (errno EINVAL) if absent. */
int procfs_parse_sockstat(const char *text, long *tcp_inuse, long *tcp_mem_pages);

/* Reads /proc/net/sockstat of this network namespace. 0 ok, -1 with errno. */
int procfs_read_sockstat(long *tcp_inuse, long *tcp_mem_pages);

/* voluntary+involuntary switches summed over /proc/PID/task/<tid>/status (pid 0 = this
   process). Threads that exit during the scan are skipped. 0 ok, -1 with errno. */
int procfs_task_switches(pid_t pid, long long *vol, long long *invol);

/* For each numeric entry N of dir ("/proc": processes, "/proc/PID/task": threads), calls
   fn(text, arg) with the text of dir/N/status. An entry gone by the time it is read (the
   process or thread ended) is skipped. 0 ok, -1 with errno when dir cannot be opened. */
int procfs_each_status(const char *dir, void (*fn)(const char *text, void *arg), void *arg);

/* reads a whole small file into buf (NUL-terminated); bytes read or -1 with errno.
   A file longer than cap-1 bytes is truncated (read what fits). Retries EINTR. */
ssize_t procfs_slurp(const char *path, char *buf, size_t cap);

#endif
