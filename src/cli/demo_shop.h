/* demo_shop.h - public API of the deterministic grocery-shop event generator.
 * Owns nothing but declarations: `c360 gen-demo` (cmd_gen_demo.c) drives it to write
 * NDJSON files, and a later live-traffic mode can pull the same event stream
 * incrementally (c360_demo_next_events + c360_demo_peek_ms for pacing).
 * Same options + seed => byte-identical stream. */
#ifndef C360_CLI_DEMO_SHOP_H
#define C360_CLI_DEMO_SHOP_H

#include <stddef.h>
#include <stdint.h>

typedef struct c360_demo c360_demo; /* opaque */

typedef struct {
    uint64_t customers; /* number of customers, userIds "u1".."uN"        (0..1e9)    */
    uint64_t products;  /* catalogue size, product_ids "sku-0001"...      (1..100000) */
    int days;           /* length of the period in days                  (1..36600)  */
    uint64_t seed;      /* PRNG seed; also appears in messageIds "m-<seed>-<n>"        */
    int64_t start_ms;   /* period start, Unix epoch milliseconds (UTC), >= 0           */
} c360_demo_opts;

#define C360_DEMO_MAX_CUSTOMERS 1000000000u
#define C360_DEMO_MAX_PRODUCTS 100000u
#define C360_DEMO_MAX_DAYS 36600

/* Defaults: 1000 customers, 120 products, 30 days, seed 42, start 2026-10-01T00:00:00Z. */
void c360_demo_opts_default(c360_demo_opts *o);

/* NULL if the options are out of range or memory is short. */
c360_demo *c360_demo_new(const c360_demo_opts *o);
void c360_demo_free(c360_demo *d);

/* Buffer convention for the two functions below: *buf is NULL or a malloc'd buffer whose
 * first *len bytes are kept; events are appended as NDJSON lines ('\n'-terminated) and
 * *buf and *len are updated (*buf may move). The caller frees *buf (also when 0 is returned).
 * Events come out in non-decreasing timestamp order across calls. */

/* The rest of the current day (the next day that has events, if the current one is done).
 * Returns the number of events appended; 0 when the stream is finished (or on failure). */
size_t c360_demo_next_day(c360_demo *d, char **buf, size_t *len);

/* At most max_events next events (bounded memory; what the CLI uses).
 * Returns the number appended; 0 when the stream is finished (or on failure). */
size_t c360_demo_next_events(c360_demo *d, size_t max_events, char **buf, size_t *len);

/* Timestamp (epoch ms) of the next event, -1 when finished. May generate internally. */
int64_t c360_demo_peek_ms(c360_demo *d);

/* Events emitted so far; nonzero if an allocation failed (the stream then stops early). */
uint64_t c360_demo_events_emitted(const c360_demo *d);
int c360_demo_failed(const c360_demo *d);

/* The catalogue as a JSON array text (caller frees), NULL on allocation failure:
 * [{"product_id":"sku-0001","name":..,"category":..,"price":1.89,"affinity_group":"pasta-night"|null},..] */
char *c360_demo_catalog_json(const c360_demo *d);

/* "YYYY-MM-DD" (years 1970..9999, real calendar dates) -> UTC midnight in epoch ms.
 * Returns 0 on success, -1 if malformed. */
int c360_demo_parse_date(const char *s, int64_t *ms_out);

#endif
