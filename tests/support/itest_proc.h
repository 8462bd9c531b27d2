/* itest_proc.h: what the integration tests read about a server process from /proc (its CPU
   time, fds, threads, storage reads), and the data file of the io=file tests. The server
   tests get it through itest.h; the contestant tests include it alone. */
#ifndef TVT_ITEST_PROC_H
#define TVT_ITEST_PROC_H

#include <stdbool.h>
#include <sys/types.h>

/* ---- the server process, from /proc ----------------------------------------------------- */

/* CPU seconds (user + system) the process has used so far, from /proc/PID/stat. */
double cpu_seconds(pid_t pid);
/* Open fds of pid, counting only those numbered below `below` (0: all); -1 on error. */
int fd_count(pid_t pid, int below);
long thread_count(pid_t pid);
/* Polls until the server's fd count (and, for want_threads >= 0, its thread count) is back
   at the given figures, or timeout_ms passes. true when reached; the last figures in *fds,
   *threads. Closing is asynchronous in every server: a reset is noticed on the next read. */
bool settle(pid_t pid, int want_fds, long want_threads, int timeout_ms, int *fds, long *threads);

/* Bytes the process has made the storage layer read (read_bytes of /proc/PID/io, all its
   threads): O_DIRECT reads count, page cache hits do not. -1 on error. */
long long storage_read_bytes(pid_t pid);

/* ---- io=file ---------------------------------------------------------------------------- */

#define TEST_DATA_MIB 16
/* A data file of TEST_DATA_MIB MiB of real (random, not sparse) data under build/, written
   once and shared by the tests (created under a temporary name and renamed, so tests
   running at once never see half a file). Skips the test, saying why, when build/ is on a
   memory filesystem. Static storage. */
const char *test_data_file(void);

#endif
