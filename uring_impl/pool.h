/* pool.h: a free list of fixed-size objects, so that serving a request allocates nothing. */
#ifndef TVT_POOL_H
#define TVT_POOL_H

#include <stddef.h>

/* Objects are allocated in chunks and reused, most recently freed first (warm in cache);
 * none goes back to malloc before pool_destroy. One loop's: not thread-safe. */
struct pool {
    size_t size; /* of one object, rounded up to keep every object aligned */
    void *free;  /* first free object; its first word points to the next */
    void **chunks;
    size_t nchunks, cap;
};

/* An empty pool of objects of `size` bytes. */
void pool_init(struct pool *p, size_t size);

/* An object (contents undefined), or NULL when out of memory. */
void *pool_get(struct pool *p);

void pool_put(struct pool *p, void *obj);

/* Frees every chunk; objects still out become invalid. Safe on a zeroed pool. */
void pool_destroy(struct pool *p);

#endif
