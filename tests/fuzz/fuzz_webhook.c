/* fuzz_webhook.c -- webhook bodies (src/sources/webhook_body.c) after their signature checked:
 * JSON or form-encoded, turned into a record and mapped by the built-in Zendesk and Mailchimp
 * mappings, as POST /v1/webhooks/{source} does.
 *
 * Input: byte 0 bit 0 picks form-encoded (1) or JSON (0); the rest is the body. Invariants:
 *  - a refused body gets a C360_E* code and a reason, and no record;
 *  - a record is a JSON object (form: every member a string);
 *  - every built-in mapping returns -1 with a reason, 1, or a JSON object that the Segment parse
 *    accepts or refuses with a reason, its events satisfying fuzz_check_event (fuzz_common.h). */
#include "fuzz_common.h"

#include "sources/mapping.h"
#include "sources/webhook_body.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static c360_mappings *ms;
    if (!ms) ms = fuzz_mappings(c360_webhook_builtin_mappings, strlen(c360_webhook_builtin_mappings));
    if (size < 1) return 0;
    int form = data[0] & 1;
    strbuf rec = STRBUF_INIT, out = STRBUF_INIT;
    char err[512] = "";
    int rc = c360_webhook_record(form, (const char *)data + 1, size - 1, &rec, err, sizeof err);
    if (rc) {
        CHECK(rc < 0 && c360_err_http(rc) >= 400 && c360_err_http(rc) < 500, "refused with code %d", rc);
        CHECK(err[0], "refused without a reason");
        FUZZ_CHECK_UNCHANGED(&rec, 0, "webhook_record");
        sb_release(&rec);
        return 0;
    }
    c360_json j;
    c360_json_init(&j);
    char jerr[128];
    CHECK(c360_json_parse(&j, rec.buf, rec.len, jerr, sizeof jerr) == 0 && j.tok[0].type == CJ_OBJECT,
          "record is not a JSON object (%s): %s", jerr, rec.buf);
    if (form)
        for (int i = 0, k = 1; i < j.tok[0].size; i++, k = c360_json_skip(&j, k + 1))
            CHECK(j.tok[k + 1].type == CJ_STRING, "form member %d is not a string: %s", i, rec.buf);
    c360_json_release(&j);
    for (int i = 0; i < c360_mappings_count(ms); i++) {
        const c360_mapping *m = c360_mappings_at(ms, i);
        sb_reset(&out);
        err[0] = 0;
        int r = c360_mapping_apply(m, rec.buf, rec.len, "webhook/fuzz/0", &out, err, sizeof err);
        CHECK(r >= -1 && r <= 1, "mapping '%s' returned %d", c360_mapping_name(m), r);
        if (r < 0) CHECK(err[0], "mapping '%s' refused without a reason", c360_mapping_name(m));
        if (r == 0) fuzz_check_mapped(c360_mapping_name(m), out.buf, out.len);
        else FUZZ_CHECK_UNCHANGED(&out, 0, c360_mapping_name(m));
    }
    sb_release(&rec);
    sb_release(&out);
    return 0;
}
