#!/usr/bin/env python3
"""Writes the hand-made seed corpora of tests/fuzz/corpus/ (all but the profile records, which
tools/gen_profile_corpus.c produces). Run from anywhere: python3 tests/fuzz/tools/seeds.py
Existing seed files of the same name are overwritten; other files are left alone."""
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "..", "corpus")


def put(harness, name, data):
    d = os.path.join(CORPUS, harness)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ---- Segment events (the shapes analytics.js / analytics-node and the Segment docs send) ----
CTX = {
    "library": {"name": "analytics.js", "version": "4.1.0"},
    "page": {"path": "/shop", "referrer": "https://www.google.com/", "url": "https://shop.example.com/shop?q=1"},
    "userAgent": "Mozilla/5.0 (X11; Linux x86_64)",
    "ip": "203.0.113.7",
    "locale": "en-US",
    "timezone": "Europe/Berlin",
}
EVENTS = {
    "identify": {
        "type": "identify", "userId": "u-42", "anonymousId": "507f191e810c19729de860ea",
        "traits": {"email": "  Ann@Example.COM ", "phone": "+1 (555) 010-1234", "name": "Ann Smith",
                   "plan": "pro", "logins": 5, "address": {"city": "Berlin", "country": "DE"}},
        "context": dict(CTX, externalIds=[{"id": "123.456", "type": "ga_client_id", "collection": "users", "encoding": "none"}]),
        "messageId": "ajs-next-1698765432-5f1c", "timestamp": "2026-10-01T08:15:03.120Z",
        "sentAt": "2026-10-01T08:15:03.500Z", "writeKey": "wk_live_123",
    },
    "track": {
        "type": "track", "event": "Order Completed", "userId": "u-42",
        "properties": {"order_id": "50314b8e9bcf000000000000", "total": 27.5, "currency": "USD",
                       "products": [{"product_id": "507f1f77bcf86cd799439011", "sku": "45790-32", "price": 19, "quantity": 1}]},
        "context": CTX, "integrations": {"All": True, "Mixpanel": False},
        "originalTimestamp": "2026-10-01T08:15:00.000+02:00", "sentAt": "2026-10-01T06:15:01Z",
    },
    "page": {"type": "page", "name": "Home", "anonymousId": "anon-7", "properties": {"title": "Shop", "path": "/"},
             "timestamp": "2026-10-01 08:15:03"},
    "screen": {"type": "screen", "name": "Checkout", "userId": 1234567, "context": {"app": {"name": "Shop", "version": "2.3"},
               "device": {"type": "ios"}, "traits": {"email": "b@x.io", "phone": 5550101234}}},
    "group": {"type": "group", "groupId": "g-acme", "userId": "u-42", "traits": {"name": "Acme Inc", "employees": 120}},
    "alias": {"type": "alias", "previousId": " anon-9 ", "userId": "u9", "timestamp": "2026-10-01"},
    "ext_ids": {"type": "page", "name": "Home", "anonymousId": "a1", "context": {"externalIds": [
        {"id": "C-1", "type": "Shopify Customer"}, {"id": "Z@Y.com", "type": "email"}, {"id": 7, "type": "crm-id"},
        {"id": "+44 20 7946 0958", "type": "phone"}]}},
    "blocked": {"type": "track", "event": "E", "userId": "null", "anonymousId": "a-7", "traits": {"email": "test@test.com"}},
    "nulls": {"type": "track", "event": "E", "userId": "u", "properties": None, "context": None, "anonymousId": None,
              "messageId": None, "timestamp": None},
    "skew": {"type": "track", "event": "Clicked", "anonymousId": "x", "originalTimestamp": "2020-02-29T23:59:60.999999Z",
             "sentAt": "2020-03-01T00:00:00,5-05:30", "messageId": 17},
}
TYPES = ["identify", "track", "page", "screen", "group", "alias"]
for name, ev in EVENTS.items():
    body = json.dumps(ev, separators=(",", ":"), ensure_ascii=False).encode()
    put("fuzz_segment_event", "ev-" + name + ".json", b"\x00" + body)
    put("fuzz_json", "ev-" + name + ".json", body)
    if ev["type"] in TYPES:   # the same body forced by the route (/v1/<type>), without its type field
        forced = {k: v for k, v in ev.items() if k != "type"}
        put("fuzz_segment_event", "route-" + name + ".json",
            bytes([TYPES.index(ev["type"]) + 1]) + json.dumps(forced, separators=(",", ":")).encode())
# raw bodies the JSON layer must handle
put("fuzz_segment_event", "escapes.json", b"\x00" + rb'{"type":"track","event":"Order \u00e9 \ud83d\uded2 \"q\" \\ \/","userId":"u\tv","properties":{"a":[1,-0.5e+3,true,false,null,{}]}}')
put("fuzz_segment_event", "nul.json", b"\x02" + rb'{"event":"E","userId":"ann\u0000x"}')
put("fuzz_segment_event", "pretty.json", b"\x00" + json.dumps(EVENTS["identify"], indent=2).encode())

# ---- batches ----
def batch(evs, **top):
    return json.dumps(dict(top, batch=evs), separators=(",", ":")).encode()

put("fuzz_segment_batch", "batch-ok.json", batch([EVENTS["identify"], EVENTS["track"], EVENTS["page"]],
    context={"library": {"name": "analytics-node", "version": "2.1.0"}}, integrations={"All": True}, writeKey="wk_1"))
put("fuzz_segment_batch", "batch-all.json", batch([EVENTS[n] for n in EVENTS]))
put("fuzz_segment_batch", "batch-ctx.json", batch([{"type": "track", "event": "E", "anonymousId": "a"},
    {"type": "identify", "userId": "u"}],
    context={"traits": {"email": "Ctx@X.io", "phone": "020 7946 0958"}, "externalIds": [{"id": "9", "type": "crm"}]}))
put("fuzz_segment_batch", "batch-bad.json", batch([{"type": "track", "userId": "u"}, {"type": "bogus"}, 5,
    {"type": "track", "event": "E", "anonymousId": "anonymous"}, EVENTS["group"]]))
put("fuzz_segment_batch", "batch-empty.json", b'{"batch":[]}')
put("fuzz_segment_batch", "batch-notarray.json", b'{"batch":{"type":"track"},"context":[1]}')
put("fuzz_segment_batch", "import.json", b'{"writeKey":"k","batch":[{"type":"screen","name":"S","userId":"u","context":{"traits":{"phone":"0049 30 123456"}}}]}')

# ---- plain JSON ----
for i, doc in enumerate([
    b'{}', b'[]', b'0', b'-0.0e-0', b'"str"', b' true ', b'null', b'[1,2,[3,{"a":{"b":[]}}]]',
    rb'"\u0000\u001f\ud800\udc00\ud83d\ude00\uDBFF\uDFFF\ud800x\\\/\b\f\n\r\t"',
    b'{"a":1,"a":2,"b":{"a":3}}', b'[1e308,1e309,-1e-400,123456789012345678901234567890,0.1,9007199254740993]',
    '{"Zoë":"✓","emoji":"🛒"}'.encode(), b'[' * 64 + b']' * 64, b'{"x":' * 20 + b'1' + b'}' * 20,
    b'[1,,2]', b'{"a" 1}', b'[1 2]', b'\xc3\x28', b'\xed\xa0\x80', b'\xf4\x90\x80\x80', b'\xe0\x80\xaf',
]):
    put("fuzz_json", "doc-%02d.json" % i, doc)

# ---- identifiers ----
for i, v in enumerate([
    "Ann@Example.COM", "  bob.smith+tag@sub.example.co.uk ", "test@test.com", "no-at-sign", "a@b@c", "@x", "x@",
    "Zoë@Exämple.de", "TEST1@example.com",
    "+1 (555) 010-1234", "555-010-1234", "0049 30 123456", "+49 30 123456", "020 7946 0958", "+44 20 7946 0958 x12",
    "15550101234", "+4930123456", "(0)30/123.456", "+", "00", "1234567890123456",
    "u-42", "   ", "null", "NULL", "0000", "anonymous", "Shopify Customer", "userId", "AnonymousID", "crm.id", "b$d",
]):
    put("fuzz_normalize", "id-%02d.txt" % i, v)

# ---- URLs: first byte = length of the parameter name ----
for i, (name, q) in enumerate([
    ("limit", "limit=50&before=2026-10-01T08%3A15%3A03.120Z"), ("before", "limit=1000&before=c2026abc%2B%2F%3D"),
    ("limit", "limit"), ("limit", "x=1&limit=%zz"), ("q", "q=a+b%20c&q=second"), ("before", "before=%00"),
    ("", "=empty&&"), ("email", "email=Ann%40Example.com&phone=%2B1%20555%200100"), ("x", "%E2%9C%93=%F0%9F%9B%92"),
]):
    put("fuzz_url", "q-%02d.bin" % i, bytes([len(name)]) + name.encode() + q.encode())
put("fuzz_url", "path.bin", b"\x00email:ann%40example.com/events")

# ---- compressed bodies: byte 0 = coding (0 identity, 1 gzip, 2 deflate), byte 1 = limit ----
import gzip
import zlib
BODY = json.dumps({"batch": [EVENTS["identify"], EVENTS["track"]]}).encode()
put("fuzz_body", "gzip.bin", b"\x01\xff" + gzip.compress(BODY, mtime=0))
put("fuzz_body", "gzip-small-limit.bin", b"\x01\x05" + gzip.compress(BODY, mtime=0))
put("fuzz_body", "gzip-members.bin", b"\x01\xff" + gzip.compress(BODY[:40], mtime=0) + gzip.compress(BODY[40:], mtime=0))
put("fuzz_body", "zlib.bin", b"\x02\xff" + zlib.compress(BODY))
_raw = zlib.compressobj(wbits=-15)
put("fuzz_body", "raw-deflate.bin", b"\x02\xfe" + _raw.compress(BODY) + _raw.flush())
put("fuzz_body", "zeros-bomb.bin", b"\x01\x10" + gzip.compress(bytes(1 << 20), mtime=0))
put("fuzz_body", "identity.bin", b"\x00\x03" + BODY[:100])
put("fuzz_body", "header.bin", b"identity, x-gzip")

# ---- CSV files: byte 0 = delimiter (0 ',', 1 ';', 2 tab, 3 '|') ----
put("fuzz_csv", "orders.csv", b"\x00" + b"id,user_id,email,event,ts,amount,qty,paid,items,note,name\r\n"
    b"1,u1,Ann@Example.com,Order Completed,2026-10-01T08:00:00Z,12.50,2,true,sku1;sku2,plain,Ann\r\n"
    b"2,,bo@example.com,,2026-10-01 09:00:00,7,,false,sku3,\"Bo, \"\"Jr\"\"\nline two\",\"\"\r\n"
    b"3,u3,,Refund,1790842503,-3.5,1,no,,,\r\n")
put("fuzz_csv", "semicolon-bom.csv", b"\x01" + b"\xef\xbb\xbfuser_id;amount;items\nu9;1,5;a;b\nu9;\"2;5\";\"x;y\"\n")
put("fuzz_csv", "tabs.tsv", b"\x02" + b"anon\tphone\tevent\na-1\t+1 (555) 010-1234\tViewed\n\t\t\n")
put("fuzz_csv", "ragged.csv", b"\x00" + b"a,b\n1\n1,2,3\n\"unterminated,4\n")
put("fuzz_csv", "pipe.csv", b"\x03" + b"user_id|ts|amount\nu1|1790842503120|1e3\n")

# ---- mappings: byte 0 even = a record for the fixed mappings; odd = YAML, NUL, record ----
put("fuzz_mapping", "activity.json", b"\x00" + json.dumps({"user_id": "u1", "action": "view", "product_id": "p1",
    "event_time": "2026-10-01T08:00:00Z"}).encode())
put("fuzz_mapping", "purchase.json", b"\x00" + json.dumps({"user_id": 42, "purchase_id": 7, "amount": "12.5",
    "item_ids": ["a", "b"], "card_type": "visa", "event_time": 1790842503120}).encode())
put("fuzz_mapping", "customer.json", b"\x00" + json.dumps({"op": "c", "updated": 1790842503, "customer": {"email": "a@b.co",
    "phone": "+44 20 7946 0958", "name": "Ann", "addr": {"city": "Leeds"}, "tags": ["vip"], "test": "false"}}).encode())
put("fuzz_mapping", "csvrow.json", b"\x00" + json.dumps({"user_id": "u2", "email": "x@y.z", "loyalty": "L1",
    "ts": "2026-10-01 08:00:00", "amount": "3", "items": "a;b;c", "paid": "yes", "qty": ""}).encode())
put("fuzz_mapping", "typed.json", b"\x00" + json.dumps({"kind": "p", "name": "Home", "anon": "an-1", "at": "2026-10-01"}).encode())
put("fuzz_mapping", "yaml-and-record.bin", b"\x01" + b"""mappings:
  m:
    type: {field: t, values: {a: track}, default: identify}
    event: {field: e, default: X}
    identifiers: {user_id: {field: u, as: string}, email: contact.email}
    time: {field: ts, format: '%d/%m/%Y %H:%M'}
    message_id: {field: id, prefix: 'p-'}
    properties:
      total: {field: n, as: number}
      list: {field: s, split: ',', each: sku}
    constants: {context.source: fuzz, properties.flag: true}
    filters:
      - {field: t, exists: true}
      - {not: {field: t, in: [z]}}
""" + b"\x00" + json.dumps({"t": "a", "e": "Bought", "u": 5, "contact": {"email": "q@r.st"}, "ts": "01/10/2026 08:00",
    "id": 9, "n": "1.5", "s": "a,b"}).encode())
put("fuzz_mapping", "yaml-bad.bin", b"\x01mappings:\n  m:\n    time: {format: nonsense}\n    identifiers: []\n")

# ---- Debezium: byte 0 = bit 0 orders, bit 1 erase on delete, bit 2 a mapping ----
def change(table, op, before=None, after=None, ts=1790842503000):
    return {"before": before, "after": after, "op": op, "ts_ms": ts + 40,
            "source": {"version": "2.1.4.Final", "connector": "postgresql", "name": "shop", "ts_ms": ts,
                       "db": "shop", "schema": "public", "table": table, "lsn": 12345}}
CUST = {"id": 101, "email": "ada@example.com", "plan": "free", "name": "Ada", "phone": "+1 555 010 1234"}
ORDER = {"id": 9001, "customer_id": 101, "total": 30.5, "status": "paid",
         "line_items": json.dumps([{"product_id": "sku-mug", "price": 10.25, "quantity": 2}])}
put("fuzz_cdc", "customer-c.json", b"\x00" + json.dumps(change("customers", "c", after=CUST)).encode())
put("fuzz_cdc", "customer-u.json", b"\x00" + json.dumps(change("customers", "u", before=CUST, after=dict(CUST, plan="gold"))).encode())
put("fuzz_cdc", "customer-d-erase.json", b"\x02" + json.dumps(change("customers", "d", before=CUST)).encode())
put("fuzz_cdc", "customer-d-clear.json", b"\x00" + json.dumps(change("customers", "d", before=CUST)).encode())
put("fuzz_cdc", "order-c.json", b"\x01" + json.dumps(change("orders", "c", after=ORDER)).encode())
put("fuzz_cdc", "order-schema-decimal.json", b"\x01" + json.dumps({"schema": {"type": "struct", "fields": [
    {"type": "struct", "field": "after", "fields": [{"type": "int32", "field": "id"},
     {"type": "bytes", "name": "org.apache.kafka.connect.data.Decimal", "parameters": {"scale": "2"}, "field": "total"}]}]},
    "payload": change("orders", "r", after={"id": 9002, "customer_id": 101, "total": "B9A=", "status": "paid"})}).encode())
put("fuzz_cdc", "mapped-row.json", b"\x04" + json.dumps(change("customers", "c", after={"id": 7, "email_address": "m@n.op",
    "full_name": "Mo", "tier": "gold", "updated_at": 1790842503000})).encode())
put("fuzz_cdc", "tombstone.json", b"\x00")

# ---- webhooks: byte 0 bit 0 = form-encoded ----
put("fuzz_webhook", "zendesk.json", b"\x00" + json.dumps({"id": "evt-1", "type": "ticket.created", "time": "2026-10-01T08:00:00Z",
    "ticket": {"id": 4711, "subject": "Parcel never arrived", "status": "open", "priority": "high",
               "requester": {"email": "ann@example.com", "id": 99}}}).encode())
put("fuzz_webhook", "mailchimp-unsub.form", b"\x01" + b"type=unsubscribe&fired_at=2026-10-01+08%3A00%3A00&data%5Baction%5D=unsub"
    b"&data%5Breason%5D=manual&data%5Bemail%5D=ann%40example.com&data%5Blist_id%5D=a6b5da1054&data%5Bmerges%5D%5BFNAME%5D=Ann")
put("fuzz_webhook", "mailchimp-sub.form", b"\x01" + b"type=subscribe&data%5Bemail%5D=bo%40example.com&data%5Bmerges%5D%5BLNAME%5D=Bo+Jr")
put("fuzz_webhook", "bad-form.form", b"\x01" + b"type=unsubscribe&data%5Bemail%5D=%zz")

# ---- ISO-8601 times ----
for i, t in enumerate([
    "2026-10-01T08:15:03.120Z", "2026-10-01T08:15:03+02:00", "2026-10-01 08:15:03", "2026-10-01", "2026-10-01T08:15",
    "2026-10-01T08:15:03.123456789Z", "2026-10-01t08:15:03,5z", "2024-02-29T23:59:60Z", "0000-01-01T00:00:00Z",
    "9999-12-31T23:59:59.999Z", "2026-10-01T08:15:03-0530", "2026-10-01T08:15:03+14", "1970-01-01T00:00:00.000Z",
    "2023-02-29", "2026-13-01", "2026-10-01T24:00:00Z", "2026-10-01T08:15:03.Z",
]):
    put("fuzz_time", "t-%02d.txt" % i, t)

# ---- YAML configs (docs/CONFIG.md) ----
put("fuzz_config_yaml", "full.yaml", """\
# c360 config
listen: 0.0.0.0:8360
data_dir: /var/lib/c360
write_key: wk_live_123
admin_key: ak_live_456
log_level: warn
threads: 4
partitions: 64
dedup_window: 24h
max_event_bytes: 32KB
max_batch_bytes: 500KB
retention: 90d
queue_max_events: 200000
block_cache: 1GiB
sync: true
phone_country_code: "44"
identity:
  priority: [user_id, email, phone, "*", anonymous_id]
  limits:
    user_id: 1
    email: 3
    "*": 5
  blocked_values: ["", "null", undefined, anonymous, "0", "-1", n/a, test@test.com]
  blocked_patterns:
    - '^test[0-9]*@example\\.com$'
    - '^0+$'
    - '^(a|b)*c{2,5}[[:digit:]]?$'
  max_identities: 100
  max_merges: 50
""")
put("fuzz_config_yaml", "dotted.yaml", """\
identity.priority: user_id,email,*,anonymous_id
identity.limits: user_id=1,*=5
identity.blocked_values: ",null,undefined"
retention: 0
dedup_window: 500ms
sync: off
""")
put("fuzz_config_yaml", "flow.yaml", "{threads: 2, identity: {max_merges: 20, priority: [email, user_id]}, block_cache: 256MB}\n")
put("fuzz_config_yaml", "minimal.yaml", "listen: 127.0.0.1:8360\n")
put("fuzz_config_yaml", "anchors.yaml", "a: &x 1\nthreads: *x\n---\nsync: yes\n...\n")
put("fuzz_config_yaml", "bad-regex.yaml", "identity:\n  blocked_patterns: ['(unclosed', 'ok']\n")
put("fuzz_config_yaml", "bad-value.yaml", "threads: many\nunknown_setting: 1\n")
put("fuzz_config_yaml", "nested-seq.yaml", "identity:\n  priority:\n    - [user_id]\n")
put("fuzz_config_yaml", "top-seq.yaml", "- listen\n- threads\n")
put("fuzz_config_yaml", "durations.yaml", "dedup_window: 1.5w\nretention: 30d\nmax_event_bytes: 1e3kb\nblock_cache: ' 4096 '\n")
