/* shared.c: the shared table of state=shared: per-key counts by open addressing, the update
 * count, the ring of recent keys. */
#include "shared.h"

#include <string.h>

#define RELAXED memory_order_relaxed

enum { SLOT_EMPTY, SLOT_CLAIMING, SLOT_READY };

void shared_init(struct shared_table *t)
{
    memset(t, 0, sizeof *t);
}

uint32_t shared_home(const char *key, size_t len)
{
    uint32_t h = 2166136261u; /* FNV-1a: short keys, no adversary */
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)key[i];
        h *= 16777619u;
    }
    return h & (SHARED_SLOTS - 1);
}

static int slot_holds(const struct shared_slot *sl, const char *key, size_t len)
{
    return sl->len == len && memcmp(sl->key, key, len) == 0;
}

/* Takes an empty slot for key: 1 taken, 0 someone else took it first (*st: what it holds). */
static int slot_claim(struct shared_table *t, struct shared_slot *sl, const char *key, size_t len,
                      uint32_t *st)
{
    uint32_t want = SLOT_EMPTY;
    if (!atomic_compare_exchange_strong_explicit(&sl->state, &want, SLOT_CLAIMING,
                                                 memory_order_acquire, memory_order_acquire)) {
        *st = want;
        return 0;
    }
    memcpy(sl->key, key, len);
    sl->len = (uint32_t)len;
    atomic_store_explicit(&sl->count, 0, RELAXED);
    atomic_fetch_add_explicit(&t->keys, 1, RELAXED);
    atomic_store_explicit(&sl->state, SLOT_READY, memory_order_release);
    return 1;
}

/* The slot holding key, claimed when the key is new, by linear probing from its home; NULL
 * when the key is not there and claim is 0, or when every slot holds another key. */
static struct shared_slot *slot_find(struct shared_table *t, const char *key, size_t len, int claim)
{
    uint32_t home = shared_home(key, len);
    for (uint32_t i = 0; i < SHARED_SLOTS; i++) {
        struct shared_slot *sl = &t->slots[(home + i) & (SHARED_SLOTS - 1)];
        uint32_t st = atomic_load_explicit(&sl->state, memory_order_acquire);
        if (st == SLOT_EMPTY) {
            if (!claim)
                return NULL; /* a key is never further than the first empty slot */
            if (slot_claim(t, sl, key, len, &st))
                return sl;
        }
        while (st == SLOT_CLAIMING) /* only unguarded: another update writes its key */
            st = atomic_load_explicit(&sl->state, memory_order_acquire);
        if (slot_holds(sl, key, len))
            return sl;
    }
    return NULL;
}

uint64_t shared_update(struct shared_table *t, const char *key, size_t len, shared_work_fn *work,
                       void *arg)
{
    struct shared_slot *sl = slot_find(t, key, len, 1);
    if (!sl)
        return 0;
    /* read, work, write back: what makes an unguarded update lose another's increment */
    uint64_t n = atomic_load_explicit(&sl->count, RELAXED) + 1;
    if (work)
        work(arg);
    atomic_store_explicit(&sl->count, n, RELAXED);
    atomic_store_explicit(&t->updates, atomic_load_explicit(&t->updates, RELAXED) + 1, RELAXED);
    uint32_t at = atomic_load_explicit(&t->ring_next, RELAXED);
    atomic_store_explicit(&t->ring_next, at + 1, RELAXED);
    atomic_store_explicit(&t->ring[at % SHARED_RING], (uint16_t)(sl - t->slots + 1), RELAXED);
    return n;
}

uint64_t shared_count(const struct shared_table *t, const char *key, size_t len)
{
    /* slot_find claims nothing with claim 0: the cast does not let it write */
    struct shared_slot *sl = slot_find((struct shared_table *)t, key, len, 0);
    return sl ? atomic_load_explicit(&sl->count, RELAXED) : 0;
}

uint64_t shared_counted(const struct shared_table *t)
{
    uint64_t sum = 0;
    for (uint32_t i = 0; i < SHARED_SLOTS; i++)
        if (atomic_load_explicit(&t->slots[i].state, memory_order_acquire) == SLOT_READY)
            sum += atomic_load_explicit(&t->slots[i].count, RELAXED);
    return sum;
}

uint64_t shared_updates(const struct shared_table *t)
{
    return atomic_load_explicit(&t->updates, RELAXED);
}

uint32_t shared_keys(const struct shared_table *t)
{
    return atomic_load_explicit(&t->keys, RELAXED);
}

size_t shared_recent(const struct shared_table *t, const char **keys, size_t *lens, size_t max)
{
    uint32_t next = atomic_load_explicit(&t->ring_next, RELAXED);
    size_t n = 0;
    for (uint32_t i = 0; i < SHARED_RING && i < next && n < max; i++) {
        uint16_t at = atomic_load_explicit(&t->ring[(next - 1 - i) % SHARED_RING], RELAXED);
        if (at == 0 || at > SHARED_SLOTS)
            continue;
        keys[n] = t->slots[at - 1].key;
        lens[n++] = t->slots[at - 1].len;
    }
    return n;
}
