/* resp_pool: the responses a test holds, freed after a failed assertion. */
#include "resp_pool.h"

#include <criterion/criterion.h>
#include <stdbool.h>

static struct hc_response slot[MAX_RESP];
static bool used[MAX_RESP];

struct hc_response *resp_new(void)
{
    for (int i = 0; i < MAX_RESP; i++)
        if (!used[i]) {
            used[i] = true;
            return &slot[i];
        }
    cr_assert_fail("more than %d responses held at once", MAX_RESP);
    return NULL;
}

void resp_done(struct hc_response *r)
{
    hc_response_free(r);
    used[r - slot] = false;
}

void resp_release(void)
{
    for (int i = 0; i < MAX_RESP; i++)
        if (used[i])
            resp_done(&slot[i]);
}
