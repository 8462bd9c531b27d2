/* test_shared.c: the shared table of state=shared: counts per key, colliding keys, a full
 * table, the ring of recent keys, and an update that loses an overlapping one's increment. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "shared.h"

static struct shared_table table; /* 48 KiB: static, emptied by each test */

static void empty(void)
{
    shared_init(&table);
}

TestSuite(shared, .init = empty);

static uint64_t update(const char *key)
{
    return shared_update(&table, key, strlen(key), NULL, NULL);
}

/* A run of updates, each with the count it must return; the table starts empty. */
struct step {
    const char *key;
    uint64_t want; /* the key's count after the update */
};

static const struct step STEPS[] = {
    {"a", 1},  /* a new key starts at one */
    {"a", 2},  /* and counts on */
    {"b", 1},  /* another key has its own count */
    {"a", 3},  /* the first goes on where it was */
    {"ab", 1}, /* a key is its whole length: "a" is not a prefix match */
    {"A", 1},  /* keys are case-sensitive */
    {"-", 1},  /* the default key is a key like any other */
    {"b", 2},  /* back to an older one */
    {"a.b-c_9", 1},
    {"abcdefghijklmnopqrstuvwxyz012345", 1}, /* 32 characters, the longest */
    {"abcdefghijklmnopqrstuvwxyz012345", 2},
};

Test(shared, counts_per_key)
{
    uint64_t total = 0;
    for (size_t i = 0; i < sizeof STEPS / sizeof STEPS[0]; i++) {
        uint64_t n = update(STEPS[i].key);
        cr_assert_eq(n, STEPS[i].want, "step %zu '%s': count %llu, want %llu", i, STEPS[i].key,
                     (unsigned long long)n, (unsigned long long)STEPS[i].want);
        total++;
    }
    cr_assert_eq(shared_count(&table, "a", 1), 3);
    cr_assert_eq(shared_count(&table, "b", 1), 2);
    cr_assert_eq(shared_count(&table, "zz", 2), 0, "a key never updated is not there");
    cr_assert_eq(shared_keys(&table), 7, "seven distinct keys");
    cr_assert_eq(shared_updates(&table), total);
    cr_assert_eq(shared_counted(&table), total, "the counts sum to the updates");
}

/* Two keys with the same home slot, found by search: the second probes past the first. */
static void colliding(char a[16], char b[16], uint32_t *home)
{
    static uint32_t seen[SHARED_SLOTS];
    memset(seen, 0, sizeof seen);
    for (uint32_t i = 1; i < 100000; i++) {
        char k[16];
        snprintf(k, sizeof k, "k%u", i);
        uint32_t h = shared_home(k, strlen(k));
        if (seen[h]) {
            snprintf(a, 16, "k%u", seen[h]);
            snprintf(b, 16, "%s", k);
            *home = h;
            return;
        }
        seen[h] = i;
    }
    cr_assert_fail("no two keys of k1..k99999 share a home slot");
}

Test(shared, colliding_keys_keep_their_own_counts)
{
    char a[16], b[16];
    uint32_t home;
    colliding(a, b, &home);
    cr_assert_eq(shared_home(b, strlen(b)), home);
    for (int i = 0; i < 3; i++)
        update(a);
    cr_assert_eq(update(b), 1, "'%s' collides with '%s': a slot of its own", b, a);
    cr_assert_eq(update(a), 4, "'%s' is still found at its home", a);
    cr_assert_eq(update(b), 2, "'%s' is found past '%s'", b, a);
    cr_assert_eq(shared_keys(&table), 2);
    cr_assert_eq(shared_counted(&table), 6);
}

Test(shared, colliding_keys_at_the_last_slot_wrap_around)
{
    char k[16];
    uint32_t first = 0;
    /* fill the last slot with whatever key lands there, then one more key homed there */
    for (uint32_t i = 1, found = 0; i < 200000 && found < 2; i++) {
        snprintf(k, sizeof k, "w%u", i);
        if (shared_home(k, strlen(k)) != SHARED_SLOTS - 1)
            continue;
        cr_assert_eq(update(k), 1, "'%s' is new", k);
        if (found++ == 0)
            first = i;
    }
    cr_assert_eq(shared_keys(&table), 2, "two keys homed at the last slot");
    cr_assert_eq(shared_count(&table, k, strlen(k)), 1);
    cr_assert(table.slots[0].len == strlen(k) && memcmp(table.slots[0].key, k, strlen(k)) == 0,
              "the second, '%s', wrapped around to slot 0", k);
    snprintf(k, sizeof k, "w%u", first);
    cr_assert_eq(update(k), 2, "the first is still at the last slot");
}

Test(shared, full_table_refuses_only_new_keys)
{
    char k[16];
    for (uint32_t i = 0; i < SHARED_SLOTS; i++) {
        snprintf(k, sizeof k, "f%u", i);
        cr_assert_eq(update(k), 1, "key %u of %u fits", i + 1, SHARED_SLOTS);
    }
    cr_assert_eq(shared_keys(&table), SHARED_SLOTS);
    cr_assert_eq(update("one-more"), 0, "a new key in a full table: refused");
    cr_assert_eq(shared_count(&table, "one-more", 8), 0, "and not there");
    cr_assert_eq(shared_updates(&table), SHARED_SLOTS, "a refusal is not an update");
    cr_assert_eq(update("f7"), 2, "a key already there still counts on");
    cr_assert_eq(update("f1023"), 2);
    cr_assert_eq(shared_counted(&table), SHARED_SLOTS + 2);
}

Test(shared, ring_holds_the_last_keys_newest_first)
{
    const char *keys[SHARED_RING];
    size_t lens[SHARED_RING];
    cr_assert_eq(shared_recent(&table, keys, lens, SHARED_RING), 0, "nothing seen yet");
    update("x");
    update("y");
    update("x");
    size_t n = shared_recent(&table, keys, lens, SHARED_RING);
    cr_assert_eq(n, 3, "every update is in the ring, repeats too");
    const char *want[] = {"x", "y", "x"};
    for (size_t i = 0; i < n; i++)
        cr_assert(lens[i] == 1 && keys[i][0] == want[i][0], "recent %zu: '%.*s', want %s", i,
                  (int)lens[i], keys[i], want[i]);
    cr_assert_eq(shared_recent(&table, keys, lens, 2), 2, "at most max");
    char k[16];
    for (int i = 0; i < 100; i++) { /* past the ring's size: the oldest fall out */
        snprintf(k, sizeof k, "r%d", i);
        update(k);
    }
    n = shared_recent(&table, keys, lens, SHARED_RING);
    cr_assert_eq(n, SHARED_RING, "a full ring");
    for (size_t i = 0; i < n; i++) {
        snprintf(k, sizeof k, "r%zu", 99 - i);
        cr_assert(lens[i] == strlen(k) && memcmp(keys[i], k, lens[i]) == 0,
                  "recent %zu: '%.*s', want %s", i, (int)lens[i], keys[i], k);
    }
}

/* The work of an update that runs another update of the same key in the middle, as a second
   thread would without a lock: that one's increment is overwritten. */
static void overlapping(void *arg)
{
    int *depth = arg;
    if ((*depth)++ == 0)
        shared_update(&table, "hot", 3, overlapping, depth);
}

Test(shared, overlapping_updates_lose_an_increment)
{
    int depth = 0;
    cr_assert_eq(update("hot"), 1);
    uint64_t n = shared_update(&table, "hot", 3, overlapping, &depth);
    cr_assert_eq(depth, 2, "the work ran once in each update");
    cr_assert_eq(n, 2, "the outer update read 1 before the inner one wrote 2, and wrote 2 over it");
    cr_assert_eq(shared_count(&table, "hot", 3), 2, "three updates, a count of two");
    cr_assert_eq(shared_updates(&table), 3, "the table counted every update");
    cr_assert_eq(shared_counted(&table), 2, "one increment lost");
}

static void count_calls(void *arg)
{
    ++*(int *)arg;
}

Test(shared, work_runs_once_per_update_and_not_when_full)
{
    int calls = 0;
    char k[16];
    shared_update(&table, "w", 1, count_calls, &calls);
    cr_assert_eq(calls, 1);
    for (uint32_t i = 1; i < SHARED_SLOTS; i++) {
        snprintf(k, sizeof k, "f%u", i);
        update(k);
    }
    cr_assert_eq(shared_update(&table, "new", 3, count_calls, &calls), 0);
    cr_assert_eq(calls, 1, "a refused update does no work");
}
