/* spares.c: a loop's list of blocks given back for reuse (spares.h). */
#include "spares.h"

#include <sanitizer/asan_interface.h> /* no-ops unless built with ASan */
#include <stdlib.h>

void spares_init(struct spares *sp, size_t max_bytes, size_t align)
{
    *sp = (struct spares){.max_bytes = max_bytes, .align = align};
}

void *spares_take(struct spares *sp, size_t size)
{
    void *p = sp->head;

    if (p && sp->size == size) {
        ASAN_UNPOISON_MEMORY_REGION(p, size);
        sp->head = *(void **)p;
        sp->n--;
        return p;
    }
    if (!sp->align)
        return malloc(size);
    return posix_memalign(&p, sp->align, size) == 0 ? p : NULL;
}

void spares_give(struct spares *sp, void *p, size_t size)
{
    if (size != sp->size) {
        spares_drop(sp);
        sp->size = size;
    }
    if ((sp->n + 1) * size > sp->max_bytes) {
        free(p);
        return;
    }
    *(void **)p = sp->head;
    sp->head = p;
    sp->n++;
    ASAN_POISON_MEMORY_REGION(p, size);
}

void spares_drop(struct spares *sp)
{
    while (sp->head) {
        void *p = sp->head;
        ASAN_UNPOISON_MEMORY_REGION(p, sp->size);
        sp->head = *(void **)p;
        free(p);
    }
    sp->n = 0;
}
