/* datafile.h: the data file of io=file waits: opening and checking it, and where each read
 * goes. Every design (and any other contestant) follows the same rule: O_DIRECT, so that a
 * read waits on the device, not on the page cache; file_kib KiB at a uniformly random
 * 4 KiB-aligned offset in [0, size - len], from a PRNG per thread or per loop. */
#ifndef TVT_DATAFILE_H
#define TVT_DATAFILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define DATAFILE_ALIGN 4096u /* offsets, lengths and buffers of O_DIRECT reads */
/* The largest read (FILE_KIB_MAX, 1 MiB) and as much again, so that even it has 257
   offsets to land on. The harness makes 1 GiB files. */
#define DATAFILE_MIN_BYTES (2u << 20)

struct datafile {
    int fd;        /* O_RDONLY | O_DIRECT; -1 when not open */
    uint64_t size; /* bytes */
    char fs[32];   /* the filesystem type's name, e.g. "ext2/ext3/ext4" */
};

/* Opens path with O_DIRECT and checks that reads from it wait on a device: a regular file
 * of at least DATAFILE_MIN_BYTES on a filesystem with a device under it (not tmpfs or
 * ramfs, where O_DIRECT reads come from memory) that accepts O_DIRECT (open and one test
 * read, neither failing with EINVAL). 0 ok; -1 with a message naming the file, the
 * filesystem type and the fix in err. */
int datafile_open(struct datafile *df, const char *path, char *err, size_t errlen);

void datafile_close(struct datafile *df);

/* The name of a statfs f_type ("tmpfs", "overlayfs", "ext2/ext3/ext4", ...), or its number
 * in hex into buf when unknown. Returns buf. */
const char *datafile_fs_name(long f_type, char *buf, size_t len);

/* 1 for a filesystem with no device under it (tmpfs, ramfs, hugetlbfs: a statfs f_type),
 * where O_DIRECT reads come from memory and datafile_open refuses the file; else 0. */
int datafile_fs_is_memory(long f_type);

/* A small PRNG (splitmix64): one per thread or loop, never shared, no locking. */
struct datafile_rng {
    uint64_t s;
};

/* Seeds r from seed (any value; 0 is fine). */
void datafile_rng_seed(struct datafile_rng *r, uint64_t seed);
/* A seed that differs between threads and runs (clock, thread id, a counter). Thread-safe. */
uint64_t datafile_rng_fresh_seed(void);
uint64_t datafile_rng_next(struct datafile_rng *r);

/* The offset of the next read of len bytes from a file of size bytes: uniform over the
 * DATAFILE_ALIGN-aligned offsets in [0, size - len]. len <= size, both > 0. */
uint64_t datafile_offset(struct datafile_rng *r, uint64_t size, uint32_t len);

/* A read of len bytes at off came back with res bytes (< 0: it failed with errno err): 0 when
 * it read all len; else -1 with the cause in why ("reading 4 KiB of the data file at offset
 * 8192: ..."), which the servers answer with a 500. */
int datafile_read_check(ssize_t res, int err, uint64_t off, uint32_t len, char *why, size_t whylen);

/* A buffer for O_DIRECT reads of up to len bytes (DATAFILE_ALIGN-aligned, len rounded up);
 * NULL when out of memory. Free it with free(). */
void *datafile_buffer(size_t len);

#endif
