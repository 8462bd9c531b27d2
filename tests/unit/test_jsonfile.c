/* Unit tests of common/jsonfile: atomic writes, and failures that leave nothing behind. */
#include "jsonfile.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[] = "/tmp/tvt-jsonfile-XXXXXX";

static void make_dir(void)
{
    strcpy(dir, "/tmp/tvt-jsonfile-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

/* Removes the test folder: its files, then it (one level, as the tests create). */
static void remove_dir(void)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char p[512];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        if (unlink(p) < 0)
            rmdir(p);
    }
    closedir(d);
    rmdir(dir);
}

/* Number of entries in the test folder other than "." and ".." and except `keep`. */
static int entries_except(const char *keep)
{
    int n = 0;
    DIR *d = opendir(dir);
    cr_assert_not_null(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") ||
            (keep && !strcmp(e->d_name, keep)))
            continue;
        n++;
    }
    closedir(d);
    return n;
}

TestSuite(jsonfile, .init = make_dir, .fini = remove_dir);

Test(jsonfile, writes_round_trip_and_no_temp)
{
    char path[512], err[256] = "";
    snprintf(path, sizeof path, "%s/run.json", dir);
    json_t *doc = json_pack("{s:i, s:s, s:[f,f]}", "n", 1000000, "kind", "task", "xs", 1.5, 2.5);
    cr_assert_eq(jsonfile_write(path, doc, err, sizeof err), 0, "%s", err);
    json_error_t jerr;
    json_t *back = json_load_file(path, 0, &jerr);
    cr_assert_not_null(back, "%s", jerr.text);
    cr_expect(json_equal(doc, back));
    cr_expect_eq(entries_except("run.json"), 0, "a temporary file was left behind");
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    cr_expect_eq(st.st_mode & 0777, 0644);
    json_decref(back);
    json_decref(doc);
}

Test(jsonfile, replaces_an_existing_file_whole)
{
    /* A long document then a short one: a non-atomic writer without O_TRUNC would leave a
       tail of the first. */
    char path[512], err[256];
    snprintf(path, sizeof path, "%s/run.json", dir);
    json_t *big =
        json_pack("{s:s}", "pad", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
    json_t *small = json_pack("{s:i}", "n", 1);
    cr_assert_eq(jsonfile_write(path, big, err, sizeof err), 0, "%s", err);
    cr_assert_eq(jsonfile_write(path, small, err, sizeof err), 0, "%s", err);
    json_t *back = json_load_file(path, 0, NULL);
    cr_assert_not_null(back, "file is not valid JSON after the second write");
    cr_expect(json_equal(small, back));
    json_decref(back);
    json_decref(big);
    json_decref(small);
}

Test(jsonfile, missing_folder_fails_with_message)
{
    char path[512], err[512] = "";
    snprintf(path, sizeof path, "%s/no-such-dir/run.json", dir);
    json_t *doc = json_pack("{s:i}", "n", 1);
    cr_assert_eq(jsonfile_write(path, doc, err, sizeof err), -1);
    cr_expect_not_null(strstr(err, path), "message does not name the path: %s", err);
    cr_expect_not_null(strstr(err, strerror(ENOENT)), "message does not name the cause: %s", err);
    cr_expect_eq(entries_except(NULL), 0);
    json_decref(doc);
}

Test(jsonfile, unwritable_folder_fails_and_leaves_nothing)
{
    /* Root ignores folder permissions, so as root use /proc, which nobody can write. */
    char path[512], err[512] = "";
    char ro[256];
    if (geteuid() == 0) {
        snprintf(ro, sizeof ro, "/proc");
    } else {
        snprintf(ro, sizeof ro, "%s/ro", dir);
        cr_assert_eq(mkdir(ro, 0555), 0);
    }
    snprintf(path, sizeof path, "%s/tvt-run.json", ro);
    json_t *doc = json_pack("{s:i}", "n", 1);
    cr_assert_eq(jsonfile_write(path, doc, err, sizeof err), -1);
    cr_expect_not_null(strstr(err, path), "message does not name the path: %s", err);
    cr_expect_eq(access(path, F_OK), -1);
    if (geteuid() != 0) {
        DIR *d = opendir(ro);
        int n = 0;
        for (struct dirent *e; (e = readdir(d)) != NULL;)
            n += e->d_name[0] != '.';
        closedir(d);
        cr_expect_eq(n, 0, "something was left in the read-only folder");
    }
    json_decref(doc);
}

Test(jsonfile, failed_rename_removes_the_temp_file)
{
    /* The target is a folder: the temp file gets written, rename() fails with EISDIR,
       and the temp file must be removed again. */
    char path[512], err[512] = "";
    snprintf(path, sizeof path, "%s/target", dir);
    cr_assert_eq(mkdir(path, 0755), 0);
    json_t *doc = json_pack("{s:i}", "n", 1);
    cr_assert_eq(jsonfile_write(path, doc, err, sizeof err), -1);
    cr_expect_not_null(strstr(err, "rename"), "%s", err);
    cr_expect_eq(entries_except("target"), 0, "the temporary file was left behind");
    json_decref(doc);
}
