/* stop.c: the graceful stop's counting and clock, the same in every server. */
#include "stop.h"

#include "clock.h"

int stop_signal(int *stopping, uint64_t *t_sig_ns)
{
    if (*stopping)
        return 0;
    *stopping = 1;
    *t_sig_ns = clock_now_ns();
    return 1;
}

enum stop_fate stop_found(struct counters *ctr, int in_flight, int mid_request)
{
    if (in_flight) {
        counters_add(ctr, CTR_STOP_INFLIGHT, 1);
        return STOP_FINISH;
    }
    counters_add(ctr, mid_request ? CTR_STOP_PARTIAL : CTR_STOP_IDLE, 1);
    return STOP_CLOSE;
}

void stop_ended(struct counters *ctr, int answered)
{
    counters_add(ctr, answered ? CTR_STOP_ANSWERED : CTR_STOP_CUT, 1);
}

uint32_t stop_grace_left_ms(uint64_t t_sig_ns, uint32_t grace_ms, uint64_t now_ns)
{
    uint64_t since_ms = (now_ns - t_sig_ns) / 1000000;
    return since_ms < grace_ms ? grace_ms - (uint32_t)since_ms : 0;
}

void stop_over(struct counters *ctr, uint64_t t_sig_ns)
{
    counters_add(ctr, CTR_STOP_MS, (clock_now_ns() - t_sig_ns) / 1000000);
}
