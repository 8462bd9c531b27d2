/* pool.c: a free list of fixed-size objects, grown in chunks (see pool.h). */
#include "pool.h"

#include <stdalign.h>
#include <stdlib.h>

#define CHUNK_OBJECTS 64

void pool_init(struct pool *p, size_t size)
{
    size_t align = alignof(max_align_t);

    if (size < sizeof(void *))
        size = sizeof(void *);
    p->size = (size + align - 1) / align * align;
    p->free = NULL;
    p->chunks = NULL;
    p->nchunks = p->cap = 0;
}

void *pool_get(struct pool *p)
{
    void *obj;

    if (!p->free) {
        if (p->nchunks == p->cap) {
            size_t cap = p->cap ? p->cap * 2 : 16;
            void **chunks = realloc(p->chunks, cap * sizeof(*chunks));
            if (!chunks)
                return NULL;
            p->chunks = chunks;
            p->cap = cap;
        }
        char *chunk = malloc(CHUNK_OBJECTS * p->size);
        if (!chunk)
            return NULL;
        p->chunks[p->nchunks++] = chunk;
        for (int i = CHUNK_OBJECTS - 1; i >= 0; i--)
            pool_put(p, chunk + (size_t)i * p->size);
    }
    obj = p->free;
    p->free = *(void **)obj;
    return obj;
}

void pool_put(struct pool *p, void *obj)
{
    *(void **)obj = p->free;
    p->free = obj;
}

void pool_destroy(struct pool *p)
{
    for (size_t i = 0; i < p->nchunks; i++)
        free(p->chunks[i]);
    free(p->chunks);
    p->chunks = NULL;
    p->free = NULL;
    p->nchunks = p->cap = 0;
}
