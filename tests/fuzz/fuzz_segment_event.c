/* fuzz_segment_event.c -- one Segment event body (src/sources/segment.c), as posted to
 * /v1/identify ... /v1/alias or read by `c360 load`.
 *
 * The first input byte chooses the event type the way the route does: -1 (take it from the body)
 * or one of the six forced types; the rest is the body. Identity rules are the config defaults
 * (plus one blocked pattern), the secret is fixed. On success the event must satisfy
 * fuzz_check_event (stored JSON parses and carries type, messageId, timestamp, receivedAt;
 * identifiers usable, not blocked, hashed and sorted by priority; ...), then it is released. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    const c360_segment_ctx *cx = fuzz_segment_ctx();
    int type = (int)(data[0] % (C360_EV__N + 1)) - 1;   /* -1 .. C360_EV__N-1 */
    const char *body = (const char *)data + 1;
    size_t len = size - 1;

    c360_event ev;
    memset(&ev, 0x5a, sizeof ev);   /* garbage: the parser must initialise everything */
    char err[256];
    err[0] = 0;
    int rc = c360_segment_parse_one(cx, type, body, len, FUZZ_RECEIVED_MS, &ev, err, sizeof err);
    if (rc == 0) {
        if (type >= 0) CHECK((int)ev.type == type, "forced type %d, event has %d", type, (int)ev.type);
        fuzz_check_event(cx, &ev, 0);
        c360_event_release(&ev);
    } else {
        CHECK(rc < 0 && rc > -C360__NERR, "unknown error code %d", rc);
        CHECK(err[0] != 0, "error %s without a message", c360_err_name(rc));
    }

    /* the writeKey extractor runs on the same bodies */
    strbuf wk = STRBUF_INIT;
    c360_segment_write_key(body, len, &wk);
    sb_release(&wk);
    return 0;
}
