/* test_mapping_fixture.h -- the ingest mappings shared by tests/unit/test_mapping.c and
 * tests/fuzz/fuzz_mapping.c: the workshop topics (user_activity, user_purchases), a CSV export,
 * CDC-style customers with filters, and a mapping typed by a field. Together they use every
 * feature of a mapping (type/event from tables, identifiers of every kind, every time format,
 * `as`, `split`, `each`, constants, filters). */
#ifndef C360_TEST_MAPPING_FIXTURE_H
#define C360_TEST_MAPPING_FIXTURE_H

static const char mapping_fixture_yaml[] =
    "listen: 127.0.0.1:1\n"
    "mappings:\n"
    "  user_activity:\n"
    "    type: track\n"
    "    event:\n"
    "      field: action\n"
    "      values: {view: Product Viewed, add: Product Added, remove: Product Removed}\n"
    "    identifiers: {user_id: user_id}\n"
    "    time: {field: event_time, format: iso8601}\n"
    "    properties:\n"
    "      product_id: product_id\n"
    "    constants:\n"
    "      context.source: kafka\n"
    "  user_purchases:\n"
    "    event: Order Completed\n"
    "    identifiers: {user_id: user_id}\n"
    "    time: {field: event_time, format: epoch_ms}\n"
    "    message_id: {field: purchase_id, prefix: 'purchase-'}\n"
    "    properties:\n"
    "      revenue: {field: amount, as: number}\n"
    "      products: {field: item_ids, each: product_id}\n"
    "      card_type: card_type\n"
    "    constants:\n"
    "      properties.currency: USD\n"
    "  purchases_csv:\n"
    "    event: Order Completed\n"
    "    identifiers: {user_id: user_id, email: email, loyalty_id: loyalty}\n"
    "    time: {field: ts, format: \"%Y-%m-%d %H:%M:%S\"}\n"
    "    properties:\n"
    "      revenue: {field: amount, as: number}\n"
    "      products: {field: items, split: ';', each: product_id}\n"
    "      paid: {field: paid, as: boolean}\n"
    "      qty: {field: qty, as: integer, default: 1}\n"
    "  customers:\n"
    "    type: identify\n"
    "    identifiers: {email: customer.email, phone: customer.phone}\n"
    "    time: {field: updated, format: epoch_s}\n"
    "    traits:\n"
    "      name: customer.name\n"
    "      address.city: customer.addr.city\n"
    "      first_tag: customer.tags.0\n"
    "    filters:\n"
    "      - {field: op, in: [c, u, r]}\n"
    "      - {not: {field: customer.test, equals: 'true'}}\n"
    "      - {field: customer.email, exists: true}\n"
    "  typed:\n"
    "    type: {field: kind, values: {p: page, t: track}, default: track}\n"
    "    event: {field: name, default: Something Happened}\n"
    "    identifiers: {anonymous_id: anon}\n"
    "    time: {field: at, required: false}\n";

#endif
