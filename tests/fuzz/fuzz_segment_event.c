/* fuzz_segment_event.c -- one Segment event body (src/sources/segment.c), as posted to
 * /v1/identify ... /v1/alias or read by `c360 load`.
 *
 * The first input byte chooses the event type the way the route does: -1 (take it from the body)
 * or one of the six forced types; the rest is the body. Identity rules are the config defaults
 * (plus one blocked pattern), the secret is fixed. On success the event must satisfy
 * fuzz_check_event (stored JSON parses and carries type, messageId, timestamp, receivedAt;
 * identifiers usable, not blocked, hashed and sorted by priority; ...), then it is released.
 * The same body as a record of a replayable source (c360_segment_parse_record, how `c360 load`
 * reads an NDJSON line and the Kafka source a message) gives the same answer, and the event keeps
 * its own messageId or, where the plain parse made up a random one, gets the fallback. */
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
    c360_event rec;
    memset(&rec, 0x5a, sizeof rec);
    char err2[256];
    static const char fb[] = "s3://bucket/day-1.ndjson#42";
    int rc2 = c360_segment_parse_record(cx, type, body, len, FUZZ_RECEIVED_MS, fb, &rec, err2, sizeof err2);
    CHECK(rc2 == rc, "parse_one returns %d, parse_record %d", rc, rc2);
    if (rc == 0) {
        if (type >= 0) CHECK((int)ev.type == type, "forced type %d, event has %d", type, (int)ev.type);
        fuzz_check_event(cx, &ev, 0);
        fuzz_check_event(cx, &rec, 0);
        int made_up = !strncmp(ev.message_id, "c360-", 5) && strlen(ev.message_id) == 37;
        CHECK(!strcmp(rec.message_id, ev.message_id) || (made_up && !strcmp(rec.message_id, fb)),
              "record messageId '%s', the plain parse's '%s'", rec.message_id, ev.message_id);
        c360_event_release(&ev);
        c360_event_release(&rec);
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
