/* Unit tests for harness/sched: the deadline heap pops in order, removes from anywhere. */
#include <criterion/criterion.h>
#include <stdint.h>

#include "../../harness/load/sched.h"

#define N 1000

static struct sched_node nodes[N];

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

Test(sched, pops_in_deadline_order)
{
    struct sched s;
    cr_assert_eq(sched_init(&s, N), 0);
    for (int i = 0; i < N; i++) {
        sched_node_init(&nodes[i]);
        cr_assert_eq(sched_add(&s, &nodes[i], next() % 100000), 0);
    }
    uint64_t last = 0;
    for (int i = 0; i < N; i++) {
        struct sched_node *n = sched_pop(&s);
        cr_assert_not_null(n);
        cr_assert_geq(n->due_ns, last, "pop %d out of order", i);
        cr_assert_not(sched_queued(n));
        last = n->due_ns;
    }
    cr_assert_null(sched_pop(&s));
    sched_free(&s);
}

Test(sched, remove_from_the_middle_keeps_the_order)
{
    struct sched s;
    cr_assert_eq(sched_init(&s, N), 0);
    for (int i = 0; i < N; i++) {
        sched_node_init(&nodes[i]);
        sched_add(&s, &nodes[i], next() % 5000); /* many equal deadlines too */
    }
    for (int i = 0; i < N; i += 3)
        sched_remove(&s, &nodes[i]);
    sched_remove(&s, &nodes[0]); /* twice is fine */
    int popped = 0;
    uint64_t last = 0;
    struct sched_node *n;
    while ((n = sched_pop(&s))) {
        cr_assert_neq((n - nodes) % 3, 0, "a removed node came back");
        cr_assert_geq(n->due_ns, last);
        last = n->due_ns;
        popped++;
    }
    cr_assert_eq(popped, N - (N + 2) / 3);
    sched_free(&s);
}

Test(sched, full_heap_says_so)
{
    struct sched s;
    struct sched_node a, b;
    sched_node_init(&a);
    sched_node_init(&b);
    cr_assert_eq(sched_init(&s, 1), 0);
    cr_assert_eq(sched_add(&s, &a, 5), 0);
    cr_assert_eq(sched_add(&s, &b, 1), -1);
    cr_assert_eq(sched_peek(&s), &a);
    sched_free(&s);
}
