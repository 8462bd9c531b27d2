/* sched: a binary min-heap of deadlines, one node embedded per connection (send, think, retry). */
#ifndef TVT_SCHED_H
#define TVT_SCHED_H

#include <stdbool.h>
#include <stdint.h>

/* Embed one in the owner and get back to it with container_of. */
struct sched_node {
    uint64_t due_ns; /* CLOCK_MONOTONIC */
    int pos;         /* index in the heap, -1 when not queued */
};

/* Fixed capacity, set at init: every node that can be queued at once. Not thread-safe. */
struct sched {
    struct sched_node **heap;
    int len, cap;
};

/* 0 ok, -1 with errno (ENOMEM). */
int sched_init(struct sched *s, int cap);
void sched_free(struct sched *s);

/* Marks a node as not queued; call once before first use. */
void sched_node_init(struct sched_node *n);

/* Queues n (which must not be queued) for due_ns. -1 (ENOSPC) if the heap is full. O(log n). */
int sched_add(struct sched *s, struct sched_node *n, uint64_t due_ns);

/* Takes n out of the queue; a node that is not queued is fine. O(log n). */
void sched_remove(struct sched *s, struct sched_node *n);

/* The earliest node, or NULL when empty; sched_pop also removes it. */
struct sched_node *sched_peek(const struct sched *s);
struct sched_node *sched_pop(struct sched *s);

static inline bool sched_queued(const struct sched_node *n)
{
    return n->pos >= 0;
}

#endif
