/* cdc_debezium.h -- change data capture in the Debezium envelope (Kafka Connect: SQL Server,
 * MySQL, PostgreSQL, MongoDB...): {before, after, op c/u/d/r, source.ts_ms}, bare or inside the
 * {schema, payload} wrapper of the JSON converter with schemas enabled. A change of a known table
 * becomes one Segment event (JSON text) that then goes through the same validation as HTTP
 * ingest. Semantics (docs/SOURCES.md, "CDC from Kafka"):
 *
 *  customers  c/r/u: identify; userId = the row's `id` (or `customer_id`, `user_id`), every
 *             other column a trait (so `email` and `phone` also become identifiers), timestamp
 *             source.ts_ms (traits are last-writer-wins by it).
 *             d: what the row contributed is removed: mode "clear" sends an identify that sets
 *             every trait named in `before` to null (with REPLICA IDENTITY DEFAULT `before` holds
 *             only the key, so nothing is cleared: use FULL); mode "erase" erases the customer.
 *  orders     c/r/u: track "Order Completed"; userId = `customer_id` (or `user_id`); properties =
 *             every column, plus order_id = `id` and products = the `line_items` (or `items`,
 *             `products`) column, parsed when it is a JSON string; messageId "order-<id>" so an
 *             order counts once however often its row changes. d: ignored (history stays).
 *
 * In the {schema, payload} wrapper, Connect Decimal columns (base64 unscaled value + scale)
 * become JSON numbers. A change with a `source` block is named "cdc-<table>-<hash of op, source,
 * before, after>", so the same change delivered twice (Debezium is at-least-once) deduplicates.
 *
 * With a mapping (the `mappings:` section), the row (`after`, or `before` for a delete) is
 * mapped by it instead of the built-in convention above; delete semantics are unchanged. Pure
 * functions; thread-safe. */
#ifndef C360_CDC_DEBEZIUM_H
#define C360_CDC_DEBEZIUM_H

#include <stddef.h>
#include "sources/mapping.h"
#include "util/strbuf.h"

typedef enum { C360_CDC_CUSTOMERS, C360_CDC_ORDERS } c360_cdc_table;
typedef enum { C360_CDC_DELETE_CLEAR, C360_CDC_DELETE_ERASE } c360_cdc_delete_mode;

typedef enum {
    C360_CDC_EVENT = 0,   /* out holds a Segment event */
    C360_CDC_SKIP = 1,    /* nothing to do (tombstone, order delete, filtered) */
    C360_CDC_ERASE = 2,   /* erase the customer whose user_id is in out (plain text) */
} c360_cdc_result;

/* Returns a c360_cdc_result, or -1 with the reason in err. `fallback_message_id` names the
 * record (e.g. "topic/partition/offset") for a change without a `source` block. */
int c360_cdc_debezium(c360_cdc_table table, const c360_mapping *m, c360_cdc_delete_mode del, const char *msg,
                      size_t len, const char *fallback_message_id, strbuf *out, char *err, size_t errlen);

/* "customers"/"orders" -> table; -1 if unknown. */
int c360_cdc_table_parse(const char *s);

#endif
