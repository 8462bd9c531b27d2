/* test_dlist.c: DLIST_PUSH, DLIST_UNLINK and DLIST_UNLINK_TAIL, at the head, in the middle and
 * at the end. */
#include <criterion/criterion.h>
#include <stddef.h>

#include "dlist.h"

struct node {
    char name;
    struct node *prev, *next;
};

/* The list's names front to back, after checking that every prev link mirrors a next. */
static const char *walk(struct node *head)
{
    static char out[16];
    size_t n = 0;

    for (struct node *e = head, *before = NULL; e; before = e, e = e->next) {
        cr_assert_eq(e->prev, before, "%c's prev is not the element before it", e->name);
        cr_assert_lt(n, sizeof out - 1);
        out[n++] = e->name;
    }
    out[n] = '\0';
    return out;
}

/* A list of four pushed in the order d, c, b, a: "abcd". */
static struct node *four(struct node *nodes)
{
    struct node *head = NULL;

    for (int i = 3; i >= 0; i--) {
        nodes[i] = (struct node){.name = (char)('a' + i)};
        DLIST_PUSH(head, &nodes[i]);
    }
    return head;
}

Test(dlist, push_puts_at_the_front)
{
    struct node nodes[4];
    struct node *head = NULL;

    cr_assert_str_eq(walk(head), "", "a new list is empty");
    head = four(nodes);
    cr_assert_str_eq(walk(head), "abcd");
}

Test(dlist, unlink_anywhere)
{
    /* each case: which element goes, what is left */
    static const struct {
        int gone;
        const char *left;
    } cases[] = {
        {0, "bcd"}, /* the head: the next becomes the head */
        {1, "acd"}, /* in the middle */
        {3, "abc"}, /* the last */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct node nodes[4];
        struct node *head = four(nodes);

        DLIST_UNLINK(head, &nodes[cases[i].gone]);
        cr_assert_str_eq(walk(head), cases[i].left, "unlinking %c", 'a' + cases[i].gone);
    }
}

Test(dlist, unlink_all_then_push_again)
{
    struct node nodes[4];
    struct node *head = four(nodes);

    DLIST_UNLINK(head, &nodes[2]);
    DLIST_UNLINK(head, &nodes[0]);
    DLIST_UNLINK(head, &nodes[3]);
    cr_assert_str_eq(walk(head), "b");
    DLIST_UNLINK(head, &nodes[1]);
    cr_assert_null(head, "the sole element gone, the list is empty");
    /* an element taken off one list goes onto another with fresh links */
    struct node *other = NULL;
    DLIST_PUSH(other, &nodes[2]);
    DLIST_PUSH(other, &nodes[0]);
    cr_assert_str_eq(walk(other), "ac");
}

Test(dlist, unlink_tail_keeps_the_tail)
{
    struct node nodes[4];
    struct node *head = four(nodes), *tail = &nodes[3];
    DLIST_UNLINK_TAIL(head, tail, &nodes[3]);
    cr_assert_eq(tail, &nodes[2], "the last gone, the one before it is the tail");
    DLIST_UNLINK_TAIL(head, tail, &nodes[1]);
    cr_assert_eq(tail, &nodes[2], "one in the middle gone, the tail stays");
    cr_assert_str_eq(walk(head), "ac");
    DLIST_UNLINK_TAIL(head, tail, &nodes[0]);
    DLIST_UNLINK_TAIL(head, tail, &nodes[2]);
    cr_assert(head == NULL && tail == NULL, "the list is empty at both ends");
}
