/* datagen: the data file of io=file runs: written once in a folder with real data, then reused. */
#ifndef TVT_DATAGEN_H
#define TVT_DATAGEN_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The file a run's servers read. */
struct datagen {
    char path[PATH_MAX]; /* DIR/tvt-data-<M>MiB.bin */
    uint64_t bytes;
    bool reused;    /* it was there, of the right size and not sparse */
    double write_s; /* seconds spent writing and syncing it; 0 when reused */
    char fs[32];    /* the folder's filesystem, datafile_fs_name's text */
};

/* Called after each chunk while the file is written; a non-zero return abandons it. */
typedef int (*datagen_progress)(void *arg, uint64_t done_mib, uint64_t total_mib);

/* The file's name for a size: "tvt-data-1024MiB.bin", into buf. Returns buf. Pure. */
const char *datagen_name(long size_mib, char *buf, size_t len);

/* Makes dir (and its parents) if missing, refuses it on a filesystem with no device under it
 * (tmpfs, ramfs: O_DIRECT reads there come from memory), and reuses dir/datagen_name when it
 * is a regular file of size_mib MiB that is not sparse; else writes one: pseudo-random data
 * (never zeros, never a hole) with O_DIRECT under a temporary name, fsynced, renamed into
 * place (so a half-written file is never taken), the folder fsynced. Temporary files that
 * runs which died left behind are removed first. progress may be NULL. 0 ok; -1 with the
 * cause and the fix in err (nothing half-written is left). Not thread-safe. */
int datagen_prepare(const char *dir, long size_mib, datagen_progress progress, void *arg,
                    struct datagen *out, char *err, size_t errlen);

#endif
