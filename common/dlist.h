/* dlist.h: the intrusive doubly-linked lists the servers keep their connections on. An element
 * has `prev` and `next` pointers of its own type; a list is a head pointer (NULL: empty), and
 * DLIST_UNLINK_TAIL's lists a tail pointer too. Each macro is O(1) and evaluates its arguments
 * more than once: pass plain lvalues. */
#ifndef TVT_DLIST_H
#define TVT_DLIST_H

/* Puts e first on the list whose first element is head. */
#define DLIST_PUSH(head, e)                                                                        \
    do {                                                                                           \
        (e)->prev = NULL;                                                                          \
        (e)->next = (head);                                                                        \
        if (head)                                                                                  \
            (head)->prev = (e);                                                                    \
        (head) = (e);                                                                              \
    } while (0)

/* Takes e off the list whose first element is head (e's own pointers are left as they were). */
#define DLIST_UNLINK(head, e)                                                                      \
    do {                                                                                           \
        if ((e)->prev)                                                                             \
            (e)->prev->next = (e)->next;                                                           \
        else                                                                                       \
            (head) = (e)->next;                                                                    \
        if ((e)->next)                                                                             \
            (e)->next->prev = (e)->prev;                                                           \
    } while (0)

/* DLIST_UNLINK on a list that keeps its last element in tail as well. */
#define DLIST_UNLINK_TAIL(head, tail, e)                                                           \
    do {                                                                                           \
        if ((e)->next == NULL)                                                                     \
            (tail) = (e)->prev;                                                                    \
        DLIST_UNLINK(head, e);                                                                     \
    } while (0)

#endif
