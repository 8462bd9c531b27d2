/* bufring.c: a provided-buffer ring (see bufring.h). */
#include "bufring.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

int buf_ring_init(struct buf_ring *b, struct io_uring *ring, unsigned entries, unsigned size,
                  int bgid)
{
    struct io_uring_buf_reg reg;
    int rc;

    memset(b, 0, sizeof(*b));
    b->entries = entries;
    b->size = size;
    b->mask = (unsigned)io_uring_buf_ring_mask(entries);
    b->bgid = bgid;
    b->br_len = (size_t)entries * sizeof(struct io_uring_buf);
    b->mem_len = (size_t)entries * size;
    /* The kernel needs the ring page-aligned: mmap gives that. */
    b->br = mmap(NULL, b->br_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (b->br == MAP_FAILED) {
        b->br = NULL;
        return -errno;
    }
    b->mem = mmap(NULL, b->mem_len, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (b->mem == MAP_FAILED) {
        rc = -errno;
        b->mem = NULL;
        goto fail;
    }
    memset(&reg, 0, sizeof(reg));
    reg.ring_addr = (unsigned long)b->br;
    reg.ring_entries = entries;
    reg.bgid = (unsigned short)bgid;
    rc = io_uring_register_buf_ring(ring, &reg, 0);
    if (rc < 0)
        goto fail;
    io_uring_buf_ring_init(b->br);
    for (unsigned i = 0; i < entries; i++)
        buf_ring_give_back(b, i);
    buf_ring_publish(b);
    return 0;
fail:
    buf_ring_destroy(b, NULL);
    return rc;
}

void buf_ring_destroy(struct buf_ring *b, struct io_uring *ring)
{
    if (ring && b->br)
        io_uring_unregister_buf_ring(ring, b->bgid);
    if (b->mem)
        munmap(b->mem, b->mem_len);
    if (b->br)
        munmap(b->br, b->br_len);
    b->mem = NULL;
    b->br = NULL;
}
