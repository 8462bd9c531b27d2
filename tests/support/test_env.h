/* test_env.h: what the integration tests read from their environment, in one place, with
 * the clock, the time bounds and the command runner they all use.
 *
 *   TVT_BIN_DIR    where the programs are (default "bin", repo-relative)
 *   TVT_IMPLS      which servers to start, by their names in tests/support/itest.c's table:
 *                  "thread", "async,thread" (default: all of them)
 *   TVT_SANITIZER  "", "address" or "thread": the programs are sanitized builds, slower */
#ifndef TVT_TEST_ENV_H
#define TVT_TEST_ENV_H

#include <stdbool.h>
#include <stddef.h>

/* The folder holding the programs under test. Static storage. */
const char *tenv_bin_dir(void);

/* true when TVT_IMPLS is unset or names impl ("thread" in "async, thread"). */
bool tenv_impl_enabled(const char *impl);

/* TVT_SANITIZER, "" when unset. */
const char *tenv_sanitizer(void);
bool tenv_sanitized(void);

/* How much time bounds stretch: 1 plain, 3 under ASan, 5 under TSan. */
double tenv_slack(void);

/* n scaled down under sanitizers (a half under ASan, a quarter under TSan),
 * so that a test file stays short. */
int tenv_scaled(int n);

/* Time bound of one send or read (5 s), stretched under sanitizers. */
int tenv_io_ms(void);

/* Milliseconds on CLOCK_MONOTONIC (common/clock.h's clock), for deadlines and timing. */
double tenv_now_ms(void);

/* Sleeps ms milliseconds, resuming after signals. */
void tenv_sleep_ms(double ms);

/* Full path of the executable prog into out: the first on PATH, else in /usr/local/sbin,
 * /usr/sbin or /sbin (nginx lives there). false if there is none. */
bool tenv_find_program(const char *prog, char *out, size_t outlen);

/* Runs argv (PATH lookup) with stdout+stderr captured into out, bounded by
 * timeout_ms (SIGKILL after): child_run (child_proc.h), its output copied. Returns the raw
 * wait status (that of the SIGKILL when it had to be stopped). */
int tenv_run_cmd(char *const argv[], char *out, size_t outlen, int timeout_ms);

#endif
