/* resp_pool: the responses a test holds, in fixed slots, so that those a failed assertion
   leaves behind are freed by the suite's .fini (itest_release, ct_release call
   resp_release). */
#ifndef TVT_RESP_POOL_H
#define TVT_RESP_POOL_H

#include "http_client.h"

#define MAX_RESP 8 /* responses held at once */

/* A free slot (asserts when all MAX_RESP are held); resp_done frees the response in it and
   the slot. */
struct hc_response *resp_new(void);
void resp_done(struct hc_response *r);

/* Frees every response still held. */
void resp_release(void);

#endif
