/* test_mapping_csv.c - unit tests for CSV rows as mapping records (src/sources/csv.c).
 * Covers: header row (with a UTF-8 BOM), quoted fields with the delimiter, doubled quotes and
 * newlines, CRLF line ends, blank lines, empty unquoted fields left out vs quoted empty strings,
 * a row with the wrong number of fields (reported with its line, reading continues), another
 * delimiter, an unclosed quote at the end, an empty input, and a row mapped end to end. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sources/csv.h"
#include "sources/mapping.h"

static FILE *mem(const char *s)
{
    FILE *f = fmemopen((void *)s, strlen(s), "rb");
    assert_non_null(f);
    return f;
}

static void test_rows(void **state)
{
    (void)state;
    const char *text = "\xEF\xBB\xBFid,name,note\r\n"
                       "1,Ann,plain\r\n"
                       "\r\n"
                       "2,\"Bo, Jr\",\"say \"\"hi\"\"\"\n"
                       "3,,\"line one\nline two\"\n"
                       "4,\"\",x\n"
                       "5,too,many,fields\n"
                       "6,last,row";
    FILE *f = mem(text);
    c360_csv c;
    char err[256];
    assert_int_equal(c360_csv_open(&c, f, ',', err, sizeof err), 0);
    assert_int_equal(c.nhdr, 3);
    assert_string_equal(c.hdr[0], "id");
    strbuf out = STRBUF_INIT;
    uint64_t line;
    assert_int_equal(c360_csv_next(&c, &out, &line, err, sizeof err), 1);
    assert_string_equal(out.buf, "{\"id\":\"1\",\"name\":\"Ann\",\"note\":\"plain\"}");
    assert_int_equal(line, 2);
    sb_reset(&out);
    assert_int_equal(c360_csv_next(&c, &out, &line, err, sizeof err), 1);
    assert_string_equal(out.buf, "{\"id\":\"2\",\"name\":\"Bo, Jr\",\"note\":\"say \\\"hi\\\"\"}");
    assert_int_equal(line, 4);
    sb_reset(&out);
    assert_int_equal(c360_csv_next(&c, &out, &line, err, sizeof err), 1);
    assert_string_equal(out.buf, "{\"id\":\"3\",\"note\":\"line one\\nline two\"}");
    sb_reset(&out);
    assert_int_equal(c360_csv_next(&c, &out, &line, err, sizeof err), 1);
    assert_string_equal(out.buf, "{\"id\":\"4\",\"name\":\"\",\"note\":\"x\"}");
    assert_int_equal(line, 7);
    sb_reset(&out);
    assert_int_equal(c360_csv_next(&c, &out, &line, err, sizeof err), -1);
    assert_non_null(strstr(err, "line 8"));
    sb_reset(&out);
    assert_int_equal(c360_csv_next(&c, &out, &line, err, sizeof err), 1);
    assert_string_equal(out.buf, "{\"id\":\"6\",\"name\":\"last\",\"note\":\"row\"}");
    sb_reset(&out);
    assert_int_equal(c360_csv_next(&c, &out, &line, err, sizeof err), 0);
    sb_release(&out);
    c360_csv_close(&c);
    fclose(f);
}

static void test_errors_and_delimiter(void **state)
{
    (void)state;
    char err[256];
    c360_csv c;
    FILE *f = mem("");
    assert_int_equal(c360_csv_open(&c, f, ',', err, sizeof err), -1);
    fclose(f);
    f = mem("a,,b\n1,2,3\n");
    assert_int_equal(c360_csv_open(&c, f, ',', err, sizeof err), -1);
    assert_non_null(strstr(err, "column 2"));
    fclose(f);
    f = mem("a\tb\n1\t\"x\n");
    assert_int_equal(c360_csv_open(&c, f, '\t', err, sizeof err), 0);
    strbuf out = STRBUF_INIT;
    uint64_t line;
    assert_int_equal(c360_csv_next(&c, &out, &line, err, sizeof err), -1);
    assert_non_null(strstr(err, "not closed"));
    sb_release(&out);
    c360_csv_close(&c);
    fclose(f);
}

static void test_row_through_mapping(void **state)
{
    (void)state;
    static const char y[] = "mappings:\n  orders:\n    event: Order Completed\n    identifiers: {user_id: uid}\n"
                            "    time: {field: day, format: '%d/%m/%Y'}\n    properties:\n      revenue: {field: total, as: number}\n"
                            "    filters:\n      - {field: total, exists: true}\n";
    c360_mappings *ms;
    char err[256];
    assert_int_equal(c360_mappings_load_string(y, sizeof y - 1, &ms, err, sizeof err), 0);
    FILE *f = mem("uid,day,total\nu1,02/10/2026,9.5\nu2,03/10/2026,\n");
    c360_csv c;
    assert_int_equal(c360_csv_open(&c, f, ',', err, sizeof err), 0);
    strbuf row = STRBUF_INIT, out = STRBUF_INIT;
    uint64_t line;
    assert_int_equal(c360_csv_next(&c, &row, &line, err, sizeof err), 1);
    assert_int_equal(c360_mapping_apply(c360_mappings_find(ms, "orders"), row.buf, row.len, "f#2", &out, err, sizeof err), 0);
    assert_non_null(strstr(out.buf, "\"timestamp\":\"2026-10-02T00:00:00.000Z\""));
    assert_non_null(strstr(out.buf, "\"revenue\":9.5"));
    sb_reset(&row);
    sb_reset(&out);
    assert_int_equal(c360_csv_next(&c, &row, &line, err, sizeof err), 1);
    assert_int_equal(c360_mapping_apply(c360_mappings_find(ms, "orders"), row.buf, row.len, "f#3", &out, err, sizeof err), 1);
    sb_release(&row);
    sb_release(&out);
    c360_csv_close(&c);
    fclose(f);
    c360_mappings_free(ms);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rows),
        cmocka_unit_test(test_errors_and_delimiter),
        cmocka_unit_test(test_row_through_mapping),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
