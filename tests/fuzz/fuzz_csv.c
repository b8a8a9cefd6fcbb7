/* fuzz_csv.c -- CSV rows (src/sources/csv.c) as `c360 load` reads them, and then through a
 * mapping as `c360 load --mapping` does.
 *
 * Input: byte 0 picks the delimiter (',', ';', tab, '|'), the rest is the file. Invariants:
 *  - open refuses with a reason or reads a header of named columns;
 *  - every row is -1 (a reason, nothing appended), or one JSON object whose members are strings
 *    named by header columns, at most one per column; rows start at increasing lines after the
 *    header; the input ends (0) after at most one call per byte;
 *  - each row mapped by a mapping of columns (user_id, email, an event name, a time, an amount,
 *    ';'-split items) maps to a JSON object the Segment parse accepts or refuses with a reason,
 *    its events satisfying fuzz_check_event. */
#include "fuzz_common.h"

#include "sources/csv.h"
#include "sources/mapping.h"

static const char mapping_yaml[] =
    "mappings:\n"
    "  rows:\n"
    "    event: {field: event, default: Row Loaded}\n"
    "    identifiers: {user_id: user_id, email: email, phone: phone, anonymous_id: anon}\n"
    "    time: {field: ts, format: auto, required: false}\n"
    "    message_id: {field: id, prefix: 'csv-'}\n"
    "    properties:\n"
    "      revenue: {field: amount, as: number}\n"
    "      qty: {field: qty, as: integer, default: 1}\n"
    "      paid: {field: paid, as: boolean}\n"
    "      products: {field: items, split: ';', each: product_id}\n"
    "      note: note\n"
    "    traits:\n"
    "      name: name\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static c360_mappings *ms;
    if (!ms) ms = fuzz_mappings(mapping_yaml, sizeof mapping_yaml - 1);
    if (size < 2) return 0;
    static const char delims[] = {',', ';', '\t', '|'};
    char delim = delims[data[0] % 4];
    FILE *in = fmemopen((void *)(uintptr_t)(data + 1), size - 1, "r");
    CHECK(in != NULL, "fmemopen");
    c360_csv c;
    char err[512] = "";
    if (c360_csv_open(&c, in, delim, err, sizeof err)) {
        CHECK(err[0], "open refused without a reason");
        fclose(in);
        return 0;
    }
    CHECK(c.nhdr >= 1, "a header of %d columns", c.nhdr);
    for (int i = 0; i < c.nhdr; i++) CHECK(c.hdr[i] && c.hdr[i][0], "header column %d has no name", i + 1);
    const c360_mapping *m = c360_mappings_find(ms, "rows");
    strbuf row = STRBUF_INIT, mapped = STRBUF_INIT, v = STRBUF_INIT;
    uint64_t prev = 1;
    size_t calls = 0;
    for (;;) {
        CHECK(++calls <= size + 2, "no end of input after %zu rows of a %zu-byte file", calls, size);
        sb_reset(&row);
        uint64_t line = 0;
        err[0] = 0;
        int rc = c360_csv_next(&c, &row, &line, err, sizeof err);
        CHECK(rc >= -1 && rc <= 1, "next returned %d", rc);
        if (rc == 0) break;
        CHECK(line > prev, "a row starts at line %llu, after one at %llu", (unsigned long long)line, (unsigned long long)prev);
        prev = line;
        if (rc < 0) {
            CHECK(err[0], "a bad row without a reason");
            FUZZ_CHECK_UNCHANGED(&row, 0, "csv_next");
            continue;
        }
        c360_json j;
        c360_json_init(&j);
        char jerr[128];
        CHECK(c360_json_parse(&j, row.buf, row.len, jerr, sizeof jerr) == 0 && j.tok[0].type == CJ_OBJECT,
              "row is not a JSON object (%s): %s", jerr, row.buf);
        CHECK(j.tok[0].size <= c.nhdr, "row has %d members, the header %d columns", j.tok[0].size, c.nhdr);
        int k = 1;
        for (int i = 0; i < j.tok[0].size; i++) {
            sb_reset(&v);
            CHECK(j.tok[k].type == CJ_STRING && c360_json_str(&j, k, &v) == 0, "member %d has no string key", i);
            int known = 0;
            for (int h = 0; h < c.nhdr && !known; h++) known = strlen(c.hdr[h]) == v.len && !memcmp(c.hdr[h], v.buf, v.len);
            CHECK(known, "member '%s' is not a header column", v.buf);
            CHECK(j.tok[k + 1].type == CJ_STRING, "member '%s' is not a string", v.buf);
            k = c360_json_skip(&j, k + 1);
        }
        c360_json_release(&j);
        sb_reset(&mapped);
        char merr[512] = "";
        int mr = c360_mapping_apply(m, row.buf, row.len, "fuzz.csv#1", &mapped, merr, sizeof merr);
        if (mr == 0) fuzz_check_mapped("csv row", mapped.buf, mapped.len);
        else if (mr < 0) CHECK(merr[0], "mapping refused a row without a reason");
    }
    sb_release(&row);
    sb_release(&mapped);
    sb_release(&v);
    c360_csv_close(&c);
    fclose(in);
    return 0;
}
