/* fuzz_mapping.c -- ingest mappings (src/sources/mapping.c): their YAML definitions and their
 * application to arbitrary records.
 *
 * Input: byte 0 picks the mode. Even: the rest is a record, applied to every mapping of a fixed
 * set that uses each feature (type and event from tables, identifiers of every kind, all time
 * formats, `as`, `split`, `each`, constants, filters). Odd: the rest up to the first NUL is a
 * `mappings:` YAML document, loaded; the bytes after the NUL are a record applied to every
 * mapping it defines. Invariants:
 *  - a YAML document that does not load says why and hands back no mappings;
 *  - apply returns -1 (a reason, nothing appended), 1 (filtered, nothing appended) or 0 with one
 *    JSON object appended, which the Segment parse accepts or refuses with a reason, every
 *    accepted event satisfying fuzz_check_event (fuzz_common.h). */
#include "fuzz_common.h"

#include "sources/mapping.h"

/* the mappings of tests/unit/test_mapping.c */
#include "../unit/test_mapping_fixture.h"

static void apply_all(const c360_mappings *ms, const uint8_t *rec, size_t n)
{
    strbuf out = STRBUF_INIT;
    for (int i = 0; i < c360_mappings_count(ms); i++) {
        const c360_mapping *m = c360_mappings_at(ms, i);
        char err[512] = "";
        sb_reset(&out);
        sb_adds(&out, "pre");
        int rc = c360_mapping_apply(m, (const char *)rec, n, "fuzz/record#1", &out, err, sizeof err);
        CHECK(rc >= -1 && rc <= 1, "mapping '%s': apply returned %d", c360_mapping_name(m), rc);
        CHECK(out.len >= 3 && !memcmp(out.buf, "pre", 3), "mapping '%s' changed what was in the buffer", c360_mapping_name(m));
        if (rc != 0) {
            FUZZ_CHECK_UNCHANGED(&out, 3, c360_mapping_name(m));
            if (rc < 0) CHECK(err[0], "mapping '%s' refused a record without a reason", c360_mapping_name(m));
            continue;
        }
        fuzz_check_mapped(c360_mapping_name(m), out.buf + 3, out.len - 3);
    }
    sb_release(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static c360_mappings *fixture;
    if (!fixture) fixture = fuzz_mappings(mapping_fixture_yaml, sizeof mapping_fixture_yaml - 1);
    if (size < 1) return 0;
    const uint8_t *rest = data + 1;
    size_t n = size - 1;
    if (!(data[0] & 1)) {
        apply_all(fixture, rest, n);
        return 0;
    }
    const uint8_t *nul = memchr(rest, 0, n);
    size_t yl = nul ? (size_t)(nul - rest) : n;
    c360_mappings *ms = (c360_mappings *)1;
    char err[512] = "";
    int rc = c360_mappings_load_string((const char *)rest, yl, &ms, err, sizeof err);
    if (rc) {
        CHECK(err[0], "a mappings document was refused without a reason");
        CHECK(ms == NULL || ms == (c360_mappings *)1, "a refused document handed back mappings");
        return 0;
    }
    if (nul) apply_all(ms, nul + 1, n - yl - 1);
    else apply_all(ms, (const uint8_t *)"{}", 2);
    c360_mappings_free(ms);
    return 0;
}
