/* container.h: container_of, to get from an embedded watcher back to its struct. */
#ifndef TVT_CONTAINER_H
#define TVT_CONTAINER_H

#include <stddef.h>

#define container_of(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

#endif
