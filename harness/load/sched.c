/* sched: a binary min-heap of deadlines, one node embedded per connection (send, think, retry). */
#include "load/sched.h"

#include <errno.h>
#include <stdlib.h>

int sched_init(struct sched *s, int cap)
{
    s->len = 0;
    s->cap = cap;
    s->heap = calloc(cap > 0 ? (size_t)cap : 1, sizeof *s->heap);
    return s->heap ? 0 : -1;
}

void sched_free(struct sched *s)
{
    free(s->heap);
    s->heap = NULL;
    s->len = s->cap = 0;
}

void sched_node_init(struct sched_node *n)
{
    n->pos = -1;
    n->due_ns = 0;
}

static void place(struct sched *s, struct sched_node *n, int i)
{
    s->heap[i] = n;
    n->pos = i;
}

static void sift_up(struct sched *s, int i)
{
    struct sched_node *n = s->heap[i];
    while (i > 0) {
        int parent = (i - 1) / 2;
        if (s->heap[parent]->due_ns <= n->due_ns)
            break;
        place(s, s->heap[parent], i);
        i = parent;
    }
    place(s, n, i);
}

static void sift_down(struct sched *s, int i)
{
    struct sched_node *n = s->heap[i];
    for (;;) {
        int child = 2 * i + 1;
        if (child >= s->len)
            break;
        if (child + 1 < s->len && s->heap[child + 1]->due_ns < s->heap[child]->due_ns)
            child++;
        if (n->due_ns <= s->heap[child]->due_ns)
            break;
        place(s, s->heap[child], i);
        i = child;
    }
    place(s, n, i);
}

int sched_add(struct sched *s, struct sched_node *n, uint64_t due_ns)
{
    if (s->len >= s->cap) {
        errno = ENOSPC;
        return -1;
    }
    n->due_ns = due_ns;
    place(s, n, s->len++);
    sift_up(s, n->pos);
    return 0;
}

void sched_remove(struct sched *s, struct sched_node *n)
{
    int i = n->pos;
    if (i < 0)
        return;
    n->pos = -1;
    struct sched_node *last = s->heap[--s->len];
    if (i == s->len)
        return;
    place(s, last, i);
    /* the moved node may belong above or below its new place */
    if (i > 0 && s->heap[(i - 1) / 2]->due_ns > last->due_ns)
        sift_up(s, i);
    else
        sift_down(s, i);
}

struct sched_node *sched_peek(const struct sched *s)
{
    return s->len ? s->heap[0] : NULL;
}

struct sched_node *sched_pop(struct sched *s)
{
    struct sched_node *n = sched_peek(s);
    if (n)
        sched_remove(s, n);
    return n;
}
