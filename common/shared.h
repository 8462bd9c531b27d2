/* shared.h: the table every connection of a server process shares (state=shared): a count per
 * key in a fixed-size open-addressing hash table, a table-wide count of updates, and a ring of
 * the last keys seen.
 *
 * The table takes no lock: serialising updates is the caller's business (a mutex in the thread
 * server, the one loop of an event-loop server). An update reads a key's count, runs the
 * caller's work (the CPU a real cache's update spends), then writes the count back, so two
 * updates that overlap lose one increment; overlapping updates can do nothing worse. Their
 * fields are relaxed atomics and a slot is claimed by compare-and-swap, so that even unguarded
 * use (the thread server's --lock none) loses counts but never corrupts a key or reads past
 * the table. */
#ifndef TVT_SHARED_H
#define TVT_SHARED_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "workload.h"

#define SHARED_SLOTS 1024u /* keys a table holds; a power of two */
#define SHARED_RING  64u   /* the last keys seen */

struct shared_slot {
    _Atomic uint32_t state; /* empty, being claimed, or holding key */
    uint32_t len;           /* key's length, 1..KEY_MAX */
    char key[KEY_MAX];      /* not NUL-terminated */
    _Atomic uint64_t count; /* updates of this key the table kept */
};

struct shared_table {
    struct shared_slot slots[SHARED_SLOTS];
    _Atomic uint64_t updates;           /* updates the table kept, every key */
    _Atomic uint32_t keys;              /* slots in use */
    _Atomic uint32_t ring_next;         /* where the next key seen goes, mod SHARED_RING */
    _Atomic uint16_t ring[SHARED_RING]; /* slot index + 1 of the keys seen; 0: none yet */
};

/* The work an update runs between reading a key's count and writing it back. */
typedef void shared_work_fn(void *arg);

/* Empties t. A zeroed table (static storage) is empty too. */
void shared_init(struct shared_table *t);

/* One update of key[0..len) (a valid key: workload_key_ok): claims a slot for a new key, reads
 * its count, calls work(arg) (NULL: none), writes the count plus one back, counts the update
 * table-wide and puts the key in the ring. Returns the key's count after the update (>= 1), or
 * 0 when the key is new and every slot is taken (nothing changed). */
uint64_t shared_update(struct shared_table *t, const char *key, size_t len, shared_work_fn *work,
                       void *arg);

/* The count of key[0..len); 0 when it is not in the table. */
uint64_t shared_count(const struct shared_table *t, const char *key, size_t len);

/* The sum of every key's count: the updates the table kept (fewer than were made when
 * unguarded updates overlapped). */
uint64_t shared_counted(const struct shared_table *t);

/* The table-wide count of updates (an unguarded one can lose these too). */
uint64_t shared_updates(const struct shared_table *t);

/* Keys in the table, 0..SHARED_SLOTS. */
uint32_t shared_keys(const struct shared_table *t);

/* The last keys seen, newest first: up to max of them (at most SHARED_RING), each as a
 * pointer into the table (keys[i], not NUL-terminated) and its length (lens[i]). Returns how
 * many. */
size_t shared_recent(const struct shared_table *t, const char **keys, size_t *lens, size_t max);

/* The slot a key's probe starts at (its hash), for tests that need colliding keys. */
uint32_t shared_home(const char *key, size_t len);

#endif
