/* Unit tests for harness/inflight: the inflight file's text, finding a device's file in a
 * made-up sysfs tree (a disk, a partition with its own file, an old kernel's partition that
 * falls back to its disk, a device with no entry), the window's mean and max, and a step's. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../harness/observe/inflight.h"

static char root[] = "/tmp/tvt-inflight-test-XXXXXX";

static void put(const char *rel, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "%s", path);
    fputs(text, f);
    fclose(f);
}

static void dir(const char *rel)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    cr_assert_eq(mkdir(path, 0755), 0, "%s", path);
}

static void link_to(const char *target, const char *rel)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    cr_assert_eq(symlink(target, path), 0, "%s", path);
}

/* sys/dev/block/{254:0 -> vda, 254:1 -> vda/vda1 (own file), 8:2 -> sda/sda2 (none)} */
static void setup(void)
{
    cr_assert_not_null(mkdtemp(root));
    dir("dev");
    dir("dev/block");
    dir("block");
    dir("block/vda");
    dir("block/vda/vda1");
    dir("block/sda");
    dir("block/sda/sda2");
    put("block/vda/inflight", "       7        2\n");
    put("block/vda/vda1/inflight", "       3        0\n");
    put("block/sda/inflight", "      11        1\n");
    link_to("../../block/vda", "dev/block/254:0");
    link_to("../../block/vda/vda1", "dev/block/254:1");
    link_to("../../block/sda/sda2", "dev/block/8:2");
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    (void)!system(cmd);
}

TestSuite(inflight, .init = setup, .fini = teardown);

Test(inflight, parse)
{
    long r, w;
    cr_assert_eq(inflight_parse("       3        0\n", &r, &w), 0);
    cr_assert_eq(r, 3);
    cr_assert_eq(w, 0);
    cr_assert_eq(inflight_parse("12 5", &r, &w), 0);
    cr_assert_eq(r, 12);
    cr_assert_eq(inflight_parse("", &r, &w), -1, "empty");
    cr_assert_eq(inflight_parse("3", &r, &w), -1, "one field");
    cr_assert_eq(inflight_parse("3 x", &r, &w), -1, "not a number");
    cr_assert_eq(inflight_parse("-1 0", &r, &w), -1, "negative");
    cr_assert_eq(inflight_parse("1 2 3", &r, &w), -1, "a third field");
}

/* Opens major:minor in the made-up tree and asserts the device it found, the file it reads
   (its path ends in source) and the in-flight count of that file. */
static void expect_device(unsigned major, unsigned minor, const char *device, const char *source,
                          int inflight)
{
    struct inflight d;
    inflight_open_dev(&d, root, major, minor);
    cr_assert_geq(d.fd, 0, "%u:%u: %s", major, minor, d.unavailable);
    cr_assert_str_eq(d.device, device);
    size_t len = strlen(d.source), want = strlen(source);
    cr_assert(len >= want && strcmp(d.source + len - want, source) == 0, "%u:%u reads %s", major,
              minor, d.source);
    cr_assert_eq(inflight_sample(&d), inflight, "%u:%u", major, minor);
    inflight_close(&d);
}

Test(inflight, a_disk_and_a_partition_have_their_own)
{
    expect_device(254, 0, "vda", "/block/vda/inflight", 7);
    expect_device(254, 1, "vda1", "/block/vda/vda1/inflight", 3);
}

Test(inflight, a_partition_without_one_falls_back_to_its_disk)
{
    expect_device(8, 2, "sda", "/block/sda/inflight", 11);
}

/* no entry: the JSON says why, with no figure */
Test(inflight, no_device_says_why)
{
    struct inflight d;
    inflight_open_dev(&d, root, 0, 45);
    cr_assert_lt(d.fd, 0);
    cr_assert_eq(inflight_sample(&d), -1);
    json_t *j = inflight_json(&d);
    cr_assert_str_eq(json_string_value(json_object_get(j, "device")), "0:45");
    const char *why = json_string_value(json_object_get(j, "unavailable"));
    cr_assert(why && strstr(why, "not directly on a block device"), "%s", why ? why : "null");
    cr_assert_null(json_object_get(j, "mean"));
    json_decref(j);
}

/* without a stat file: only samples inside the window count; a step has its own mean */
Test(inflight, window_and_step)
{
    struct inflight d;
    inflight_open_dev(&d, root, 254, 1);
    cr_assert_lt(d.stat_fd, 0, "this made-up partition has no stat file");
    inflight_sample(&d); /* before the window */
    inflight_window_begin(&d, 1000000000);
    inflight_sample(&d);
    put("block/vda/vda1/inflight", "       9        0\n");
    inflight_step_begin(&d, 1100000000);
    inflight_sample(&d);
    cr_assert_float_eq(inflight_step_end(&d, 1200000000), 9.0, 1e-9);
    inflight_step_begin(&d, 1200000000);
    cr_assert_float_eq(inflight_step_end(&d, 1300000000), -1.0, 1e-9, "a step without a sample");
    inflight_window_end(&d, 2000000000);
    inflight_sample(&d); /* after */
    json_t *j = inflight_json(&d);
    cr_assert_float_eq(json_real_value(json_object_get(j, "mean")), 6.0, 1e-9);
    cr_assert_str_eq(json_string_value(json_object_get(j, "method")), "samples of DEV/inflight");
    cr_assert_eq(json_integer_value(json_object_get(j, "max")), 9);
    cr_assert_eq(json_integer_value(json_object_get(j, "samples")), 2);
    json_decref(j);
    inflight_close(&d);
}

/* the stat file's fields: reads completed (1) and their summed ms in flight (4) */
Test(inflight, parse_stat)
{
    uint64_t reads, ms;
    cr_assert_eq(inflight_parse_stat("  673749     7941 17971186   142588    12637    13394  "
                                     "2204336     4936        0    27456   148347\n",
                                     &reads, &ms),
                 0);
    cr_assert_eq(reads, 673749);
    cr_assert_eq(ms, 142588);
    cr_assert_eq(inflight_parse_stat("1 2 3", &reads, &ms), -1, "three fields");
    cr_assert_eq(inflight_parse_stat("", &reads, &ms), -1, "empty");
    cr_assert_eq(inflight_parse_stat("1 2 x 4", &reads, &ms), -1, "not a number");
    cr_assert_eq(inflight_parse_stat("1 -2 3 4", &reads, &ms), -1, "negative");
}

/* with a stat file, the window's mean is the kernel's integral: 40 reads of 25 ms each in a
   second of window are one read in flight on average, however the 100 ms samples fell (here
   none saw a read); a step likewise */
Test(inflight, the_kernels_integral)
{
    struct inflight d;
    put("block/vda/stat", "  100 0 800 2000 0 0 0 0 0 0 0\n");
    inflight_open_dev(&d, root, 254, 0);
    cr_assert_geq(d.stat_fd, 0);
    put("block/vda/inflight", "       0        0\n");
    inflight_window_begin(&d, 5000000000);
    inflight_sample(&d);
    put("block/vda/stat", "  120 0 960 2500 0 0 0 0 0 0 0\n");
    inflight_step_begin(&d, 5500000000);
    put("block/vda/stat", "  140 0 1120 3000 0 0 0 0 0 0 0\n");
    cr_assert_float_eq(inflight_step_end(&d, 5750000000), 2.0, 1e-9, "500 ms of reads in 250");
    inflight_window_end(&d, 6000000000);
    json_t *j = inflight_json(&d);
    cr_assert_float_eq(json_real_value(json_object_get(j, "mean")), 1.0, 1e-9);
    cr_assert_eq(json_integer_value(json_object_get(j, "reads")), 40);
    cr_assert_float_eq(json_real_value(json_object_get(j, "sampled_mean")), 0.0, 1e-9);
    cr_assert(strstr(json_string_value(json_object_get(j, "method")), "DEV/stat"));
    json_decref(j);
    inflight_close(&d);
}

/* the device of a real file here: found, or the reason (never a made-up figure) */
Test(inflight, this_machine)
{
    struct inflight d;
    inflight_open_file(&d, "tests/unit/test_inflight.c");
    cr_assert(d.fd >= 0 || d.unavailable[0], "either a file or a reason");
    if (d.fd >= 0)
        cr_assert_geq(inflight_sample(&d), 0);
    inflight_close(&d);
}
