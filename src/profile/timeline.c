/* timeline.c -- storing events under the customer's range and paging them newest first. */
#include "profile/timeline.h"
#include "core/errors.h"
#include "store/keys.h"
#include "util/clock.h"

#include <string.h>

void c360_timeline_put(c360_txn *txn, uint64_t pid, const c360_event *ev)
{
    c360_key k;
    c360_key_event(&k, pid, ev->ts, ev->msg_hash);
    c360_txn_put(txn, k.b, k.n, ev->json.buf, ev->json.len);
}

static int hexval(char c)
{
    return (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}

int c360_timeline_page(c360_store *s, uint64_t pid, int limit, const char *before, strbuf *out)
{
    c360_key lo, hi, start;
    c360_key_range(&lo, &hi, pid, C360_SUB_EVENT);
    start = hi;
    if (before && *before) {
        size_t bl = strlen(before);
        int64_t ms;
        if (bl == 32) {   /* cursor: 16 bytes of key suffix (time + hash) in hex */
            memcpy(start.b, lo.b, 10);
            for (int i = 0; i < 16; i++) {
                int a = hexval(before[2 * i]), b = hexval(before[2 * i + 1]);
                if (a < 0 || b < 0) return C360_EPARAM;
                start.b[10 + i] = (unsigned char)(a << 4 | b);
            }
            start.n = 26;
        } else if (c360_time_parse(before, bl, &ms) == 0) {
            memcpy(start.b, lo.b, 10);
            c360_put_u64be(start.b + 10, (uint64_t)ms + C360_TS_BIAS);
            start.n = 18;
        } else {
            return C360_EPARAM;
        }
    }
    c360_iter *it = c360_iter_new(s, lo.b, lo.n, hi.b, hi.n);
    c360_iter_seek_before(it, start.b, start.n);
    sb_adds(out, "{\"events\":[");
    int n = 0;
    char last[33] = {0};
    int64_t cutoff = c360_store_event_cutoff(s);
    for (; c360_iter_valid(it) && n < limit; c360_iter_prev(it), n++) {
        size_t kl, vl;
        const char *k = c360_iter_key(it, &kl);
        if (kl == 26 && (int64_t)(c360_get_u64be((const unsigned char *)k + 10) - C360_TS_BIAS) < cutoff) break;
        const char *v = c360_iter_value(it, &vl);
        if (n) sb_addc(out, ',');
        sb_add(out, v, vl);
        if (kl == 26)
            for (int i = 0; i < 16; i++) {
                static const char hx[] = "0123456789abcdef";
                last[2 * i] = hx[(unsigned char)k[10 + i] >> 4];
                last[2 * i + 1] = hx[(unsigned char)k[10 + i] & 15];
            }
    }
    int more = n == limit && c360_iter_valid(it);
    if (more) {
        size_t kl;
        const char *k = c360_iter_key(it, &kl);
        more = !(kl == 26 && (int64_t)(c360_get_u64be((const unsigned char *)k + 10) - C360_TS_BIAS) < cutoff);
    }
    c360_iter_free(it);
    if (more) sb_addf(out, "],\"next\":\"%s\"}", last);
    else sb_adds(out, "],\"next\":null}");
    return 0;
}
