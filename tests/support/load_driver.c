/* load_driver.c: keeps requests in flight on many connections from the helper thread. */
#include "load_driver.h"

#include <stdio.h>
#include <string.h>

#include "itest.h"
#include "test_env.h"

static int load_send(struct load *l, int i)
{
    char req[128];
    uint32_t s = l->seq++;
    uint32_t bytes = (s * 131u) % 4096u;
    uint32_t wait = l->wait_us_max ? s % (l->wait_us_max + 1) : 0;
    int n = snprintf(req, sizeof req, "GET /?bytes=%u&wait_us=%u HTTP/1.1\r\nHost: a\r\n\r\n",
                     bytes, wait);
    if (hc_send(l->c[i], req, (size_t)n, 1000) < 0)
        return -1;
    l->want[i][(l->head[i] + l->inflight[i]) % LOAD_DEPTH] = bytes;
    l->inflight[i]++;
    return 0;
}

static void load_close(struct load *l, int i)
{
    l->open[i] = false;
    atomic_fetch_add(&l->closed, 1);
}

/* The connections to wait on: every open one; once draining, those with answers due. */
struct waiting {
    const struct load *l;
    double drain_until; /* < 0: not draining */
};

static bool waiting(int i, void *arg)
{
    const struct waiting *w = arg;
    return w->l->open[i] && (w->drain_until < 0 || w->l->inflight[i] > 0);
}

/* Runs until told to stop, then reads the answers still in flight (sending no more) so that
   the test can go on using the connections; or until every connection has closed. */
void *load_main(void *arg)
{
    struct load *l = arg;
    int ready[LOAD_MAX];
    struct waiting w = {l, -1};
    for (int i = 0; i < l->n; i++) {
        l->open[i] = true;
        for (int k = 0; k < l->depth && l->open[i]; k++)
            if (load_send(l, i) < 0) {
                l->send_failed++;
                load_close(l, i);
            }
    }
    for (;;) {
        if (w.drain_until < 0 && atomic_load(&bg_stop))
            w.drain_until = tenv_now_ms() + 2000;
        int n = hc_poll_in(l->c, l->n, waiting, &w, 20, ready);
        if (n < 0 || (w.drain_until >= 0 && tenv_now_ms() > w.drain_until))
            break;
        for (int k = 0; k < n; k++) {
            int i = ready[k];
            struct hc_conn *c = l->c[i];
            while (hc_fill(c) > 0)
                ;
            while (l->inflight[i] > 0) {
                struct hc_response r;
                int t = hc_try_response(c, &r);
                if (t == 0)
                    break;
                if (t < 0) { /* a head cut off by the close */
                    l->cut++;
                    load_close(l, i);
                    break;
                }
                uint32_t want = l->want[i][l->head[i]];
                l->head[i] = (l->head[i] + 1) % LOAD_DEPTH;
                l->inflight[i]--;
                if (r.status == 200 && hc_body_is(&r, want, 'x')) {
                    atomic_fetch_add(&l->ok, 1);
                    if (i < 4 && l->ndone[i] < LOAD_TIMES)
                        l->done_ms[i][l->ndone[i]++] = tenv_now_ms();
                } else if (l->bad++ == 0) {
                    snprintf(l->first_bad, sizeof l->first_bad,
                             "connection %d: status %d, %zu body bytes, want 200 and %u", i,
                             r.status, r.body_len, want);
                }
                hc_response_free(&r);
                if (w.drain_until < 0 && load_send(l, i) < 0) {
                    if (!l->stop_on_close)
                        l->send_failed++;
                    load_close(l, i);
                    break;
                }
            }
            if (l->open[i] && (c->eof || c->reset)) {
                if (l->inflight[i] > 0 && !l->stop_on_close)
                    l->cut++;
                load_close(l, i);
            }
        }
    }
    return NULL;
}

void load_init(struct load *l, int n, int depth, uint32_t wait_us_max, bool stop_on_close)
{
    memset(l, 0, sizeof *l);
    l->n = n;
    l->depth = depth;
    l->wait_us_max = wait_us_max;
    l->stop_on_close = stop_on_close;
}
