/* spares.h: blocks an event loop keeps for reuse (--buffers lean). A task that waits on the
 * backend or on a file read needs a block only while it waits; given back, the block stays on
 * its loop's list (up to a bound in bytes) for the next task that waits, so that a steady
 * stream of waits allocates nothing while an idle task holds nothing. One loop's; not
 * thread-safe. Under ASan a spare block is poisoned: a task that touches its block after
 * giving it back is reported, as after a free(). */
#ifndef TVT_SPARES_H
#define TVT_SPARES_H

#include <stddef.h>

struct spares {
    void *head;       /* the first spare; each spare's first bytes point to the next */
    size_t size;      /* bytes of every block on the list */
    size_t n;         /* blocks on the list */
    size_t max_bytes; /* n * size stays at or under it */
    size_t align;     /* 0: malloc's; else a power of two for posix_memalign */
};

/* An empty list that keeps up to max_bytes of blocks aligned to align (0: malloc's). */
void spares_init(struct spares *sp, size_t max_bytes, size_t align);

/* A block of size bytes (at least a pointer's): a spare one when the list holds that size,
   else a fresh allocation. Its contents are undefined. NULL: out of memory. */
void *spares_take(struct spares *sp, size_t size);

/* Gives back block p of size bytes, from spares_take of the same list: kept while the bound
   allows, else freed. A size other than the list's empties the list first (a workload that
   changed sizes keeps only blocks it can use). */
void spares_give(struct spares *sp, void *p, size_t size);

/* Frees every spare block; the list stays usable. */
void spares_drop(struct spares *sp);

#endif
