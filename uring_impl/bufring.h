/* bufring.h: a provided-buffer ring: receive buffers the kernel picks per completion. */
#ifndef TVT_BUFRING_H
#define TVT_BUFRING_H

#include <liburing.h>
#include <stddef.h>

/* A pool of `entries` buffers of `size` bytes each, registered as buffer group `bgid`.
 * A multishot recv takes one buffer per completion; the loop gives each back once it
 * has parsed (or copied) its bytes, so no buffer stays with a connection between
 * completions. Owned by one loop: not thread-safe. */
struct buf_ring {
    struct io_uring_buf_ring *br; /* the ring the kernel reads buffer addresses from */
    char *mem;                    /* entries * size bytes */
    size_t br_len, mem_len;       /* mapped lengths */
    unsigned entries, size, mask;
    unsigned returned; /* given back since the last buf_ring_publish */
    int bgid;
};

/* Maps the ring and its buffers (prefaulted: they are the loop's fixed cost, not a
 * connection's), registers them with ring and offers every buffer. entries is a power of
 * two. 0 ok; -errno on failure (-EINVAL: this kernel has no buffer rings). */
int buf_ring_init(struct buf_ring *b, struct io_uring *ring, unsigned entries, unsigned size,
                  int bgid);

/* The buffer the kernel filled for buffer id bid (from the CQE's flags). */
static inline char *buf_ring_addr(const struct buf_ring *b, unsigned bid)
{
    return b->mem + (size_t)bid * b->size;
}

/* Gives buffer bid back; the kernel sees it after the next buf_ring_publish. */
static inline void buf_ring_give_back(struct buf_ring *b, unsigned bid)
{
    io_uring_buf_ring_add(b->br, buf_ring_addr(b, bid), b->size, (unsigned short)bid, (int)b->mask,
                          (int)b->returned++);
}

/* Makes the buffers given back visible to the kernel (one store). Call before submitting. */
static inline void buf_ring_publish(struct buf_ring *b)
{
    if (b->returned) {
        io_uring_buf_ring_advance(b->br, (int)b->returned);
        b->returned = 0;
    }
}

/* Unregisters (if ring is not NULL) and unmaps. Safe on a zeroed struct. */
void buf_ring_destroy(struct buf_ring *b, struct io_uring *ring);

#endif
