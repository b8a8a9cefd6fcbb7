/* fuzz_segment_batch.c -- a /v1/batch body (src/sources/segment.c: c360_segment_parse_batch).
 *
 * On success every event must satisfy fuzz_check_event. On C360_EBATCH ("nothing of that batch
 * is stored") no events may be returned and the errors buffer must be a JSON array of
 * {index, error, message} objects with increasing indexes inside the batch. */
#include "fuzz_common.h"

static void check_errors(const strbuf *errors)
{
    c360_json j;
    c360_json_init(&j);
    char err[128];
    CHECK(c360_json_parse(&j, errors->buf, errors->len, err, sizeof err) == 0, "batch errors are not JSON (%s): %s", err,
          errors->buf);
    CHECK(j.tok[0].type == CJ_ARRAY && j.tok[0].size >= 1 && j.tok[0].size <= 100, "batch errors are not a non-empty array: %s",
          errors->buf);
    int k = 1;
    double prev = -1;
    strbuf s = STRBUF_INIT;
    for (int i = 0; i < j.tok[0].size; i++) {
        CHECK(j.tok[k].type == CJ_OBJECT, "batch error %d is not an object: %s", i, errors->buf);
        double idx;
        CHECK(c360_json_num(&j, c360_json_get(&j, k, "index"), &idx) == 0 && idx > prev && idx == (double)(int)idx,
              "batch error %d has a bad index: %s", i, errors->buf);
        prev = idx;
        CHECK(fuzz_get_str(&j, k, "error", &s) == 0 && s.len > 0, "batch error %d has no error code: %s", i, errors->buf);
        CHECK(fuzz_get_str(&j, k, "message", &s) == 0 && s.len > 0, "batch error %d has no message: %s", i, errors->buf);
        k = c360_json_skip(&j, k);
    }
    sb_release(&s);
    c360_json_release(&j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const c360_segment_ctx *cx = fuzz_segment_ctx();
    const char *body = (const char *)data;
    c360_event *evs = (c360_event *)(uintptr_t)1;   /* garbage: must be set */
    int n = -7;
    strbuf errors = STRBUF_INIT;
    char err[512];
    err[0] = 0;
    int rc = c360_segment_parse_batch(cx, body, size, FUZZ_RECEIVED_MS, &evs, &n, &errors, err, sizeof err);
    if (rc == 0) {
        CHECK(n >= 0 && (n == 0 || evs), "success with %d events at %p", n, (void *)evs);
        for (int i = 0; i < n; i++) fuzz_check_event(cx, &evs[i], 1);
        c360_events_free(evs, n);
    } else {
        CHECK(rc < 0 && rc > -C360__NERR, "unknown error code %d", rc);
        CHECK(err[0] != 0, "error %s without a message", c360_err_name(rc));
        CHECK(evs == NULL && n == 0, "failed batch returns %d events", n);
        if (rc == C360_EBATCH) check_errors(&errors);
    }
    sb_release(&errors);

    strbuf wk = STRBUF_INIT;
    c360_segment_write_key(body, size, &wk);
    sb_release(&wk);
    return 0;
}
