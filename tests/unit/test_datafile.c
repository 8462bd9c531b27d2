/* test_datafile.c: the io=file offset rule (aligned, in range, uniform) and the checks a data
 * file must pass before a server starts on it. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "datafile.h"

#define KIB 1024u
#define MIB (1024u * 1024u)

/* Sizes and read lengths; each case: offsets drawn must be aligned, and the read must end
 * inside the file. */
static const struct {
    uint64_t size;
    uint32_t len;
    uint64_t slots; /* aligned offsets in [0, size - len] */
} RANGES[] = {
    {2 * MIB, 4 * KIB, 512},           /* the smallest file allowed, the default read */
    {2 * MIB, 1024 * KIB, 257},        /* the largest read: 1 MiB of room left, 257 offsets */
    {2 * MIB + 100, 4 * KIB, 512},     /* a tail shorter than a block is never read */
    {2 * MIB + 4 * KIB, 4 * KIB, 513}, /* a whole extra block is */
    {8 * KIB, 8 * KIB, 1},             /* a read as large as the file: offset 0 only */
    {1ull << 30, 64 * KIB, 262129},    /* the harness's 1 GiB file */
    {(1ull << 40) + 123, 4 * KIB, 1ull << 28}, /* past 4 GiB: offsets need 64 bits */
};

Test(datafile, offsets_aligned_and_in_range)
{
    struct datafile_rng r;
    datafile_rng_seed(&r, 42);
    for (size_t i = 0; i < sizeof RANGES / sizeof RANGES[0]; i++) {
        uint64_t last = (RANGES[i].slots - 1) * DATAFILE_ALIGN, hi = 0;
        for (int k = 0; k < 20000; k++) {
            uint64_t off = datafile_offset(&r, RANGES[i].size, RANGES[i].len);
            cr_assert_eq(off % DATAFILE_ALIGN, 0, "case %zu: offset %llu unaligned", i,
                         (unsigned long long)off);
            cr_assert_leq(off + RANGES[i].len, RANGES[i].size, "case %zu: read past the end", i);
            cr_assert_leq(off, last, "case %zu: offset %llu past the last slot", i,
                          (unsigned long long)off);
            hi = off > hi ? off : hi;
        }
        if (RANGES[i].slots <= 1024) /* 20000 draws reach the last of few slots */
            cr_assert_eq(hi, last, "case %zu: the last slot (%llu) never drawn", i,
                         (unsigned long long)last);
    }
}

/* Uniform: 512 slots, 512000 draws, about 1000 each. A seeded PRNG makes this repeatable;
   the bound (chi-square under 700 for 511 degrees of freedom, p < 1e-6) only catches a
   skewed rule (modulo bias, a lost bit), not bad luck. */
Test(datafile, offsets_uniform)
{
    enum { SLOTS = 512, DRAWS = 512000 };
    static unsigned count[SLOTS];
    struct datafile_rng r;
    datafile_rng_seed(&r, 7);
    for (int k = 0; k < DRAWS; k++)
        count[datafile_offset(&r, 2 * MIB, 4 * KIB) / DATAFILE_ALIGN]++;
    double expect = (double)DRAWS / SLOTS, chi = 0;
    for (int i = 0; i < SLOTS; i++) {
        cr_assert_gt(count[i], 0, "slot %d never drawn", i);
        chi += (count[i] - expect) * (count[i] - expect) / expect;
    }
    cr_assert_lt(chi, 700, "chi-square %.1f over %d slots: not uniform", chi, SLOTS);
}

Test(datafile, rng_streams_differ)
{
    struct datafile_rng a, b;
    datafile_rng_seed(&a, datafile_rng_fresh_seed());
    datafile_rng_seed(&b, datafile_rng_fresh_seed());
    int same = 0;
    for (int k = 0; k < 64; k++)
        same += datafile_rng_next(&a) == datafile_rng_next(&b);
    cr_assert_lt(same, 2, "two fresh seeds gave the same stream");
}

Test(datafile, fs_names)
{
    char buf[32];
    cr_assert_str_eq(datafile_fs_name(0x01021994, buf, sizeof buf), "tmpfs");
    cr_assert_str_eq(datafile_fs_name(0x794c7630, buf, sizeof buf), "overlayfs");
    cr_assert_str_eq(datafile_fs_name(0xEF53, buf, sizeof buf), "ext2/ext3/ext4");
    cr_assert_str_eq(datafile_fs_name(0x1234, buf, sizeof buf), "type 0x1234", "unknown: hex");
}

/* ---- datafile_open's checks, on files this test writes -------------------------------- */

static char dir[64];

static void make_dir(void)
{
    struct statfs sf;
    mkdir("build", 0755);
    snprintf(dir, sizeof dir, "build/unit-datafile-XXXXXX");
    cr_assert(mkdtemp(dir), "mkdtemp %s", dir);
    if (statfs(dir, &sf) == 0 && (sf.f_type == 0x01021994 || sf.f_type == 0x858458f6))
        cr_skip_test("%s is on a memory filesystem: no disk to test O_DIRECT on", dir);
}

static void write_file(const char *name, size_t bytes, int sparse)
{
    char path[128], block[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    cr_assert(fd >= 0, "%s", path);
    if (sparse) {
        cr_assert_eq(ftruncate(fd, (off_t)bytes), 0);
    } else {
        memset(block, 'd', sizeof block);
        for (size_t done = 0; done < bytes; done += sizeof block)
            cr_assert(write(fd, block, bytes - done < sizeof block ? bytes - done : sizeof block) >
                      0);
    }
    close(fd);
}

static void cleanup(void)
{
    const char *names[] = {"good", "short", "sparse"};
    char path[128];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
}

Test(datafile, open_checks, .fini = cleanup)
{
    make_dir();
    write_file("good", 4 * MIB, 0);
    write_file("short", 2 * MIB - 4096, 0);
    write_file("sparse", 4 * MIB, 1);
    static const struct {
        const char *name; /* under dir; NULL: dir itself */
        int ok;
        const char *must_mention;
    } CASES[] = {
        {"good", 1, NULL},              /* 4 MiB of data on a disk filesystem */
        {"short", 0, "2 MiB"},          /* under the minimum: says what it is */
        {"sparse", 0, "sparse"},        /* holes read without the device */
        {"missing", 0, "No such file"}, /* the errno, and the file */
        {NULL, 0, "not a regular file"},
    };
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        char path[128], err[512] = "";
        struct datafile df;
        snprintf(path, sizeof path, "%s%s%s", dir, CASES[i].name ? "/" : "",
                 CASES[i].name ? CASES[i].name : "");
        int rc = datafile_open(&df, path, err, sizeof err);
        cr_assert_eq(rc == 0, CASES[i].ok, "%s: rc %d: %s", path, rc, err);
        if (rc == 0) {
            cr_assert_eq(df.size, 4 * MIB);
            cr_assert_geq(df.fd, 0);
            cr_assert(fcntl(df.fd, F_GETFL) & O_DIRECT, "%s: not opened O_DIRECT", path);
            datafile_close(&df);
            cr_assert_eq(df.fd, -1);
        } else {
            cr_assert(strstr(err, CASES[i].must_mention), "%s: '%s' lacks '%s'", path, err,
                      CASES[i].must_mention);
            cr_assert(strstr(err, path), "%s: '%s' does not name the file", path, err);
        }
    }
}

/* /dev/shm is tmpfs on Linux: O_DIRECT opens there since 6.6, but reads come from memory. */
Test(datafile, memory_filesystem_refused)
{
    struct statfs sf;
    if (statfs("/dev/shm", &sf) != 0 || sf.f_type != 0x01021994)
        cr_skip_test("/dev/shm is not tmpfs here: nothing to test the refusal on");
    char path[] = "/dev/shm/tvt-unit-datafile-XXXXXX", block[4096], err[512] = "";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    memset(block, 'd', sizeof block);
    for (int i = 0; i < 1024; i++)
        cr_assert_eq(write(fd, block, sizeof block), (ssize_t)sizeof block);
    close(fd);
    struct datafile df;
    int rc = datafile_open(&df, path, err, sizeof err);
    unlink(path);
    cr_assert_eq(rc, -1, "a data file on tmpfs was accepted");
    cr_assert(strstr(err, "tmpfs") && strstr(err, "--data-dir"),
              "the message names the filesystem and the fix: %s", err);
}
