/* test_uring_startup: uring_server's start-up: its own flag (--recv) and the refusal to
 * start when io_uring cannot serve (exit 3, before listening, with the cause and the fix):
 *   - a seccomp filter refuses io_uring_setup (EPERM, ENOSYS) or buffer-ring registration
 *     (then --recv conn still runs);
 *   - kernel.io_uring_disabled is 1 or 2: the sysctl is machine-wide, so the server sees a
 *     file of the test's own bind-mounted in its place (a private mount namespace), and a
 *     filter gives the EPERM the kernel would.
 * The filters are installed in the forked child before exec. TVT_BIN_DIR and TVT_IMPLS
 * ("uring") as in the other integration tests. */
#include <criterion/criterion.h>

#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../support/http_client.h"
#include "../support/itest.h"
#include "../support/server_proc.h"
#include "../support/test_env.h"

#define IORING_REGISTER_PBUF_RING_OP 22 /* io_uring_register's opcode for buffer rings */
#define SKIP_NO_SECCOMP              99 /* the child could not install its filter */
#define SKIP_NO_MOUNT_NS             98 /* the child could not show a sysctl of its own */
#define DISABLED_SYSCTL              "/proc/sys/kernel/io_uring_disabled"

static void release_all(void)
{
    itest_release();
}

TestSuite(uring_startup, .fini = release_all, .timeout = 60);

/* ---- start-up refusal ------------------------------------------------------------------- */

/* A seccomp filter that fails syscall nr with errno e, only when its second argument is
   arg1 (or always, for arg1 < 0); everything else is allowed. */
static int install_filter(int nr, long arg1, int e)
{
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)nr, 0, 3),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[1])),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)arg1, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ((unsigned)e & SECCOMP_RET_DATA)),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    if (arg1 < 0) /* skip the argument test: the jump after nr lands on the errno return */
        f[4] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)nr, 2, 3);
    struct sock_fprog prog = {.len = sizeof f / sizeof f[0], .filter = f};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return -1;
    return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);
}

/* What a server under a filter did: its exit status and everything it wrote. */
struct filtered_run {
    int status;
    bool listened; /* it printed `listening on`; it was then asked to stop (SIGTERM) */
    int port;
    char out[8192];
};

/* Shows this process (in a mount namespace of its own) the file sysctl in place of
   kernel.io_uring_disabled. 0 ok, -1 when namespaces or bind mounts are refused here. */
static int show_disabled_sysctl(const char *sysctl)
{
    if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        return -1;
    return mount(sysctl, DISABLED_SYSCTL, NULL, MS_BIND, NULL);
}

/* Runs uring_server with args under the filter (and, if sysctl is not NULL, seeing that
   file as kernel.io_uring_disabled); if it starts listening, calls served(port) and stops it
   with SIGTERM. Skips the test when seccomp (or the mount namespace) is unavailable here. */
static void run_filtered(const char *const *args, int nr, long arg1, int e, const char *sysctl,
                         void (*served)(int port), struct filtered_run *run)
{
    char path[4096];
    char *argv[8] = {path};
    int p[2];
    snprintf(path, sizeof path, "%s/uring_server", tenv_bin_dir());
    for (int i = 0; args[i] && i < 6; i++)
        argv[i + 1] = (char *)args[i];
    cr_assert(pipe(p) == 0, "pipe: %s", strerror(errno));
    pid_t pid = fork();
    cr_assert(pid >= 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(p[1], 1);
        dup2(p[1], 2);
        close(p[0]);
        close(p[1]);
        signal(SIGPIPE, SIG_DFL);
        if (sysctl && show_disabled_sysctl(sysctl) < 0)
            _exit(SKIP_NO_MOUNT_NS);
        if (install_filter(nr, arg1, e) < 0)
            _exit(SKIP_NO_SECCOMP);
        execv(path, argv);
        _exit(127);
    }
    close(p[1]);
    size_t len = 0;
    double deadline = tenv_now_ms() + 10000 * tenv_slack();
    run->listened = false;
    run->port = -1;
    for (;;) {
        struct pollfd pfd = {.fd = p[0], .events = POLLIN};
        int left = (int)(deadline - tenv_now_ms());
        if (left <= 0 || poll(&pfd, 1, left) <= 0)
            break;
        ssize_t n = read(p[0], run->out + len, sizeof run->out - 1 - len);
        if (n <= 0)
            break;
        len += (size_t)n;
        run->out[len] = '\0';
        const char *l = strstr(run->out, "listening on ");
        if (!run->listened && l && strchr(l, '\n')) {
            const char *colon = strrchr(l, ':');
            run->listened = true;
            run->port = colon ? atoi(colon + 1) : -1;
            if (served && run->port > 0)
                served(run->port);
            kill(pid, SIGTERM);
        }
    }
    run->out[len] = '\0';
    close(p[0]);
    pid_t done;
    while ((done = waitpid(pid, &run->status, WNOHANG)) == 0 && tenv_now_ms() < deadline)
        tenv_sleep_ms(5); /* the output ended: the exit follows */
    if (done == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &run->status, 0);
        cr_assert_fail("uring_server under a filter did not end within 10 s; output: %s", run->out);
    }
    if (WIFEXITED(run->status) && WEXITSTATUS(run->status) == SKIP_NO_SECCOMP)
        cr_skip_test("seccomp filters cannot be installed here");
    if (WIFEXITED(run->status) && WEXITSTATUS(run->status) == SKIP_NO_MOUNT_NS)
        cr_skip_test("no mount namespace with a bind mount over %s here", DISABLED_SYSCTL);
}

static void expect_refused(const struct sut *s, const struct filtered_run *run,
                           const char *const *needles, const char *what)
{
    EXPECT(s, WIFEXITED(run->status) && WEXITSTATUS(run->status) == 3,
           "%s: exit status %d, want exit code 3; output: %s", what,
           WIFEXITED(run->status) ? WEXITSTATUS(run->status) : -1, run->out);
    EXPECT(s, !run->listened, "%s: it listened anyway: %s", what, run->out);
    EXPECT(s, strstr(run->out, "io_uring unavailable") && strstr(run->out, "Fix"),
           "%s: the message names no cause and fix: %s", what, run->out);
    for (int i = 0; needles[i]; i++)
        EXPECT(s, strstr(run->out, needles[i]), "%s: the message does not mention %s: %s", what,
               needles[i], run->out);
}

static const struct sut *serving; /* for serve_one, called back by run_filtered */

static void serve_one(int port)
{
    expect_served(serving, port, "under a filter refusing buffer rings, with --recv conn");
}

Test(uring_startup, refuses_when_seccomp_denies_io_uring)
{
    const struct sut *s = sut_named("uring");
    if (!s)
        cr_skip_test("TVT_IMPLS=%s excludes the uring server", getenv("TVT_IMPLS"));
    serving = s;
#ifndef __x86_64__
    cr_skip_test("the test's seccomp filter is written for x86_64");
#endif
    struct filtered_run run;
    const char *const none[] = {NULL};

    const char *const eperm[] = {"EPERM", "kernel.io_uring_disabled", "seccomp", NULL};
    run_filtered(none, __NR_io_uring_setup, -1, EPERM, NULL, NULL, &run);
    expect_refused(s, &run, eperm, "io_uring_setup refused with EPERM");

    const char *const enosys[] = {"ENOSYS", "CONFIG_IO_URING", NULL};
    run_filtered(none, __NR_io_uring_setup, -1, ENOSYS, NULL, NULL, &run);
    expect_refused(s, &run, enosys, "io_uring_setup refused with ENOSYS");

    /* No buffer rings: the default --recv ring cannot run, --recv conn can. */
    const char *const nobufs[] = {"buffer ring", "--recv conn", NULL};
    run_filtered(none, __NR_io_uring_register, IORING_REGISTER_PBUF_RING_OP, EINVAL, NULL, NULL,
                 &run);
    expect_refused(s, &run, nobufs, "buffer-ring registration refused");

    const char *const conn[] = {"--recv", "conn", NULL};
    run_filtered(conn, __NR_io_uring_register, IORING_REGISTER_PBUF_RING_OP, EINVAL, NULL,
                 serve_one, &run);
    EXPECT(s, run.listened, "--recv conn needs no buffer ring, yet: %s", run.out);
    EXPECT(s, WIFEXITED(run.status) && WEXITSTATUS(run.status) == 0,
           "--recv conn under the filter: exit status %d after SIGTERM; output: %s",
           WIFEXITED(run.status) ? WEXITSTATUS(run.status) : -1, run.out);
}

/* kernel.io_uring_disabled set: io_uring_setup fails with EPERM, and the message says which
   setting refused it and how to undo it. The sysctl is machine-wide, so the server is shown
   a file of its own in its place (a private mount namespace), and a filter gives the EPERM
   that the kernel would. */
Test(uring_startup, refusal_names_io_uring_disabled)
{
    const struct sut *s = sut_named("uring");
    if (!s)
        cr_skip_test("TVT_IMPLS=%s excludes the uring server", getenv("TVT_IMPLS"));
#ifndef __x86_64__
    cr_skip_test("the test's seccomp filter is written for x86_64");
#endif
    struct {
        const char *value;
        const char *needles[4];
    } cases[] = {
        {"2\n", {"EPERM", "kernel.io_uring_disabled = 2", "sysctl -w kernel.io_uring_disabled=0"}},
        {"1\n", {"kernel.io_uring_disabled = 1", "kernel.io_uring_group", "CAP_SYS_ADMIN"}},
    };
    char sysctl[] = "/tmp/tvt-io_uring_disabled.XXXXXX";
    int fd = mkstemp(sysctl);
    cr_assert(fd >= 0, "mkstemp: %s", strerror(errno));
    close(fd);
    struct filtered_run run;
    const char *const none[] = {NULL};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        FILE *f = fopen(sysctl, "w");
        cr_assert(f && fputs(cases[i].value, f) >= 0 && fclose(f) == 0, "writing %s: %s", sysctl,
                  strerror(errno));
        run_filtered(none, __NR_io_uring_setup, -1, EPERM, sysctl, NULL, &run);
        const char *needles[4] = {cases[i].needles[0], cases[i].needles[1], cases[i].needles[2]};
        char what[64];
        snprintf(what, sizeof what, "kernel.io_uring_disabled = %c", cases[i].value[0]);
        expect_refused(s, &run, needles, what);
    }
    unlink(sysctl);
}

Test(uring_startup, recv_flag)
{
    const struct sut *s = sut_named("uring");
    if (!s)
        cr_skip_test("TVT_IMPLS=%s excludes the uring server", getenv("TVT_IMPLS"));
    char path[4096];
    snprintf(path, sizeof path, "%s/uring_server", tenv_bin_dir());
    const struct cli_case cases[] = {
        {{"--help"}, 0, "--recv ring|conn"},
        {{"--help"}, 0, "Exits 3"},
        {{"--recv", "both"}, 2, "--recv 'both': expected ring or conn"},
        {{"--recv"}, 2, "--recv needs a value"},
        {{"--recv=conn", "--bogus"}, 2, "--bogus"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_cli(s, path, NULL, &cases[i]);
}
