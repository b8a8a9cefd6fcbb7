/* fuzz_cdc.c -- Debezium change events (src/sources/cdc_debezium.c) as the Kafka source reads
 * them: bare envelopes and the {schema, payload} wrapper with Connect Decimals.
 *
 * Input: byte 0 picks the table (customers, orders), the delete mode (clear, erase) and whether
 * the row goes through a mapping instead of the built-in convention; the rest is the message.
 * Invariants:
 *  - -1 says why and appends nothing; 1 (skip) appends nothing;
 *  - 2 (erase) appends a non-empty user id without NUL and only for customers;
 *  - 0 appends one JSON object, which the Segment parse accepts or refuses with a reason, its
 *    events satisfying fuzz_check_event (fuzz_common.h);
 *  - the same message converted twice gives the same bytes (the event name hashes the change,
 *    so redeliveries deduplicate). */
#include "fuzz_common.h"

#include "sources/cdc_debezium.h"

static const char mapping_yaml[] =
    "mappings:\n"
    "  crm_row:\n"
    "    type: identify\n"
    "    identifiers: {user_id: {field: id, as: string}, email: email_address}\n"
    "    time: {field: updated_at, format: epoch_ms, required: false}\n"
    "    traits:\n"
    "      name: full_name\n"
    "      tier: tier\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static c360_mappings *ms;
    if (!ms) ms = fuzz_mappings(mapping_yaml, sizeof mapping_yaml - 1);
    if (size < 1) return 0;
    c360_cdc_table table = (data[0] & 1) ? C360_CDC_ORDERS : C360_CDC_CUSTOMERS;
    c360_cdc_delete_mode del = (data[0] & 2) ? C360_CDC_DELETE_ERASE : C360_CDC_DELETE_CLEAR;
    const c360_mapping *m = (data[0] & 4) ? c360_mappings_find(ms, "crm_row") : NULL;
    const char *msg = (const char *)data + 1;
    size_t n = size - 1;

    strbuf out = STRBUF_INIT, again = STRBUF_INIT;
    char err[512] = "", err2[512] = "";
    int rc = c360_cdc_debezium(table, m, del, msg, n, "cdc/0/42", &out, err, sizeof err);
    CHECK(rc >= -1 && rc <= 2, "returned %d", rc);
    if (rc < 0) CHECK(err[0], "refused without a reason");
    if (rc < 0 || rc == C360_CDC_SKIP) FUZZ_CHECK_UNCHANGED(&out, 0, rc < 0 ? "refusal" : "skip");
    if (rc == C360_CDC_ERASE) {
        CHECK(table == C360_CDC_CUSTOMERS && del == C360_CDC_DELETE_ERASE, "erase for table %d, mode %d", (int)table, (int)del);
        CHECK(out.len > 0 && !memchr(out.buf, 0, out.len), "erase with an empty or NUL-holding user id");
    }
    if (rc == C360_CDC_EVENT) fuzz_check_mapped("cdc", out.buf, out.len);
    int rc2 = c360_cdc_debezium(table, m, del, msg, n, "cdc/0/42", &again, err2, sizeof err2);
    CHECK(rc2 == rc && again.len == out.len && !memcmp(again.buf, out.buf, out.len), "a second conversion differs");
    sb_release(&out);
    sb_release(&again);
    return 0;
}
