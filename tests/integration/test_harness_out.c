/* Fault tests of bin/harness, result folders that cannot take the file: --out under a
 * regular file, in a missing folder, over a folder, and on a full disk (RLIMIT_FSIZE). Each is
 * a clear error naming the path and the cause, and leaves no file at --out and no temporary
 * file beside it; an earlier result at the same path survives whole. Every process is started
 * with PR_SET_PDEATHSIG (child_proc.h) and stopped by its PID. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../support/files.h"
#include "../support/harness_run.h"
#include "../support/server_proc.h"
#include "../support/test_env.h"

TestSuite(harness_faults, .init = tfile_scratch_make, .fini = tfile_scratch_remove, .timeout = 90);

/* true if folder holds an entry whose name starts with prefix */
static bool has_entry(const char *folder, const char *prefix)
{
    DIR *d = opendir(folder);
    struct dirent *e;
    bool found = false;
    if (!d)
        return false;
    while (!found && (e = readdir(d)) != NULL)
        found = strncmp(e->d_name, prefix, strlen(prefix)) == 0;
    closedir(d);
    return found;
}

/* `harness load` for a moment against a fresh server, writing to out, with limits in the
 * harness's process. Returns its exit code; the output is in c. */
static int load_to(struct child *c, const char *out, const struct child_limit *limits,
                   size_t nlimits)
{
    char target[64];
    struct server_proc *sp = hrun_server(hrun_impl(), target, sizeof target);
    const char *args[] = {"load",     "--target", target,    "--conns", "2", "--duration", "0.3",
                          "--warmup", "0",        "--quiet", "--out",   out, NULL};
    struct child_opts o = {.limits = limits, .nlimits = nlimits};
    int code = hrun_child(c, args, &o);
    struct server_exit ex;
    server_stop(sp, SIGTERM, 5000, &ex);
    server_free(sp);
    return code;
}

/* The harness failed to write out, said so naming the path and cause, left no file at out
 * and no temporary file in folder. */
static void expect_write_error(struct child *c, int code, const char *out, const char *folder,
                               const char *cause)
{
    cr_assert_eq(code, 1, "harness exited %d, expected 1 (cannot write %s):\n%s", code, out,
                 c->out);
    cr_assert(strstr(c->out, out), "the message does not name %s:\n%s", out, c->out);
    cr_assert(strstr(c->out, cause), "the message does not say '%s':\n%s", cause, c->out);
    const char *base = strrchr(out, '/') + 1;
    char prefix[256];
    snprintf(prefix, sizeof prefix, "%s.tmp", base);
    cr_assert_not(has_entry(folder, prefix), "a temporary file was left in %s", folder);
}

Test(harness_faults, out_under_a_regular_file_is_a_clear_error)
{
    char file[600], out[700];
    struct child c;
    snprintf(file, sizeof file, "%s/not-a-folder", tfile_scratch);
    close(open(file, O_WRONLY | O_CREAT, 0644));
    snprintf(out, sizeof out, "%s/r.json", file);
    int code = load_to(&c, out, NULL, 0);
    expect_write_error(&c, code, out, tfile_scratch, "Not a directory");
    struct stat st;
    cr_assert(stat(file, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0);
}

Test(harness_faults, out_in_a_missing_folder_is_a_clear_error)
{
    char out[700], missing[600];
    struct child c;
    snprintf(missing, sizeof missing, "%s/missing", tfile_scratch);
    snprintf(out, sizeof out, "%s/r.json", missing);
    int code = load_to(&c, out, NULL, 0);
    expect_write_error(&c, code, out, tfile_scratch, "No such file or directory");
    cr_assert_neq(access(missing, F_OK), 0, "the harness created %s", missing);
}

Test(harness_faults, out_over_a_folder_is_a_clear_error)
{
    char out[600];
    struct child c;
    snprintf(out, sizeof out, "%s/a-folder", tfile_scratch);
    cr_assert_eq(mkdir(out, 0755), 0);
    int code = load_to(&c, out, NULL, 0);
    expect_write_error(&c, code, out, tfile_scratch, "Is a directory");
    struct stat st;
    cr_assert(stat(out, &st) == 0 && S_ISDIR(st.st_mode), "the folder was replaced");
}

/* A full disk, as RLIMIT_FSIZE makes it: write() fails with EFBIG and the kernel sends
 * SIGXFSZ, whose default action kills. The harness must report the error (SIGXFSZ ignored),
 * not die and leave half a temporary file. 512 bytes: the file is cut mid-document. */
Test(harness_faults, full_disk_is_a_clear_error_and_leaves_no_half_file)
{
    char dir[600], out[700];
    struct child c;
    struct child_limit fsize = {RLIMIT_FSIZE, 512};
    snprintf(dir, sizeof dir, "%s/results", tfile_scratch);
    cr_assert_eq(mkdir(dir, 0755), 0);
    snprintf(out, sizeof out, "%s/r.json", dir);
    int code = load_to(&c, out, &fsize, 1);
    cr_assert_neq(code, 128 + SIGXFSZ,
                  "the harness was killed by SIGXFSZ (it should ignore it and report EFBIG); "
                  "temporary file left: %s",
                  has_entry(dir, "r.json.tmp") ? "yes" : "no");
    expect_write_error(&c, code, out, dir, "File too large");
    cr_assert_neq(access(out, F_OK), 0, "%s exists", out);

    /* an earlier result at the same path survives the failed write whole */
    static const char old[] = "{\"status\": \"ok\", \"note\": \"an earlier run\"}\n";
    FILE *f = fopen(out, "w");
    cr_assert_not_null(f);
    fputs(old, f);
    fclose(f);
    code = load_to(&c, out, &fsize, 1);
    expect_write_error(&c, code, out, dir, "File too large");
    char *back = tfile_slurp(out, NULL);
    cr_assert_not_null(back, "%s: %s", out, strerror(errno));
    cr_assert_str_eq(back, old, "the earlier result was changed");
    free(back);
}
