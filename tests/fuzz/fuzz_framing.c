/* fuzz_framing.c: libFuzzer target for request framing + workload parsing + answers.
 *
 * The first input byte picks how the rest is split into reads (0: whole, else
 * chunks of that many bytes), as a server's reads would split it. Checks the
 * framer's contract, not just the absence of crashes: MORE consumes the whole
 * chunk, a request always consumes bytes, workloads stay in bounds (a known io
 * kind, a file_kib by its rule, a known state kind, a key by its rule), errors carry a known status
 * and a reason, and every answer fits its buffer.
 *
 * fuzz-sources: common/framing.c common/workload.c common/response.c */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "framing.h"
#include "response.h"

static const struct workload DEFAULTS = WORKLOAD_DEFAULTS;

static void check(int cond)
{
    if (!cond)
        abort();
}

static int known_status(int s)
{
    return s == 400 || s == 404 || s == 405 || s == 413 || s == 414 || s == 431 || s == 505;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct framer f;
    static struct date_cache dc;
    char head[RESPONSE_HEAD_MAX];
    size_t step, off = 0;

    if (size < 1)
        return 0;
    step = data[0] % 17;
    data++;
    size--;
    date_cache_update(&dc, 0);
    framer_init(&f, &DEFAULTS);
    while (off < size) {
        size_t chunk = step && size - off > step ? step : size - off;
        size_t pos = 0;
        while (pos < chunk) {
            struct request r;
            size_t used = 0;
            enum framing_result res =
                framer_feed(&f, (const char *)data + off + pos, chunk - pos, &used, &r);
            check(used <= chunk - pos);
            pos += used;
            if (res == FRAMING_ERROR) {
                check(known_status(f.status));
                check(f.error[0] != '\0');
                check(response_error(head, f.status, f.error, &dc) < RESPONSE_HEAD_MAX);
                return 0;
            }
            if (res == FRAMING_MORE) {
                check(pos == chunk);
                continue;
            }
            check(used > 0);
            check(r.work.wait_us <= WAIT_US_MAX && r.work.work_us <= WORK_US_MAX &&
                  r.work.bytes <= BYTES_MAX);
            check(r.work.io < IO__COUNT && workload_file_kib_ok(r.work.file_kib));
            check(r.work.state < STATE__COUNT && r.work.share_us <= SHARE_US_MAX);
            check(workload_key_ok(r.work.key, strnlen(r.work.key, sizeof r.work.key)) &&
                  r.work.key[KEY_MAX] == '\0');
            check(response_head_ok_shared(head, r.work.bytes, r.keep_alive, r.http_minor,
                                          UINT64_MAX, &dc) < RESPONSE_HEAD_MAX);
        }
        off += chunk;
    }
    return 0;
}
