// Debezium CDC from Kafka end to end (docs/SOURCES.md, "CDC from Kafka"): change events of a
// customers and an orders table, in the bare envelope and in the {schema, payload} form of Kafka
// Connect's JsonConverter (with a Decimal column), produced with kcat to a librdkafka mock
// cluster and checked through the HTTP API:
//  - customer rows (c, r, u) make profiles with traits, last-writer-wins by source.ts_ms;
//  - order rows make purchases with line items (order count, lifetime spend);
//  - the same change delivered twice, and a restart on the stored offsets, count once;
//  - malformed changes go to the dead-letter topic with the error in headers, the partition
//    goes on;
//  - a customer delete clears the row's traits (cdc_delete: clear) or erases the customer
//    (cdc_delete: erase, a second server reading the same topics).
import assert from 'node:assert/strict';
import { test, after, before } from 'node:test';
import { startServer, assertCleanExit, eventually, sleep } from './lib/server.mjs';
import { getProfile, getAllEvents, uid } from './lib/api.mjs';
import { startCluster, produce, consumeAll, metric, haveKcat } from '../kafka/kafka.mjs';

const skip = haveKcat() ? false : 'kcat is not installed (scripts/install-deps)';
const tag = uid();
const T0 = Date.parse('2026-11-01T10:00:00Z');
let cluster, srv, srvErase;

const topicsArg = 'customers=debezium:customers,orders=debezium:orders';
const args = (group, extra = []) => ['--kafka', cluster.bootstrap, '--kafka-topics', topicsArg, '--kafka-group', group, ...extra];

before(async () => {
  if (skip) return;
  cluster = await startCluster({ topics: { customers: 2, orders: 2, dlq: 1 } });
  srv = await startServer({ args: args(`cdc-${tag}`, ['--kafka-dlq-topic', 'dlq']) });
}, { timeout: 60_000 });
after(async () => {
  for (const s of [srv, srvErase]) if (s) await s.cleanup();
  if (cluster) await cluster.stop();
});

const email = (n) => `cust${n}-${tag}@example.com`;
let lsn = 1000;

// A Debezium change event (PostgreSQL connector) in the bare envelope.
function change(table, op, { before = null, after = null, ts }) {
  lsn += 8;
  return {
    before, after, op, ts_ms: ts + 40,
    source: { version: '2.1.4.Final', connector: 'postgresql', name: 'shop', ts_ms: ts, snapshot: op === 'r' ? 'true' : 'false',
      db: 'shop', schema: 'public', table, txId: lsn, lsn },
  };
}

// Kafka Connect Decimal: base64 of the unscaled big-endian two's-complement integer.
function decimal(unscaled) {
  let hex = BigInt(unscaled).toString(16);
  if (hex.length % 2) hex = '0' + hex;
  if (parseInt(hex[0], 16) >= 8) hex = '00' + hex;
  return Buffer.from(hex, 'hex').toString('base64');
}

// The same event as JsonConverter writes it with schemas.enable=true.
function withSchema(ev, rowFields) {
  const row = (name) => ({ type: 'struct', optional: true, name: `shop.public.${ev.source.table}.Value`, field: name, fields: rowFields });
  return {
    schema: {
      type: 'struct', optional: false, name: `shop.public.${ev.source.table}.Envelope`, version: 1,
      fields: [row('before'), row('after'),
        { type: 'struct', optional: false, name: 'io.debezium.connector.postgresql.Source', field: 'source', fields: [
          { type: 'string', optional: false, field: 'connector' }, { type: 'int64', optional: false, field: 'ts_ms' }] },
        { type: 'string', optional: false, field: 'op' }, { type: 'int64', optional: true, field: 'ts_ms' }],
    },
    payload: ev,
  };
}

const customerFields = [
  { type: 'int32', optional: false, field: 'id' }, { type: 'string', optional: true, field: 'email' },
  { type: 'string', optional: true, field: 'plan' }, { type: 'string', optional: true, field: 'name' },
];
const orderFields = [
  { type: 'int32', optional: false, field: 'id' }, { type: 'int32', optional: false, field: 'customer_id' },
  { type: 'bytes', optional: false, name: 'org.apache.kafka.connect.data.Decimal', version: 1,
    parameters: { scale: '2', 'connect.decimal.precision': '10' }, field: 'total' },
  { type: 'string', optional: true, field: 'status' },
  { type: 'string', optional: true, name: 'io.debezium.data.Json', version: 1, field: 'line_items' },
];

const rows = {
  c101: { id: 101, email: email(101), plan: 'free', name: 'Ada' },
  c102: { id: 102, email: email(102), plan: 'pro', name: 'Bob' },
  c103: { id: 103, email: email(103), plan: 'free', name: 'Cy' },
};
const msgs = {};
msgs.c101 = { key: '101', value: change('customers', 'c', { after: rows.c101, ts: T0 }) };
msgs.c102 = { key: '102', value: change('customers', 'c', { after: rows.c102, ts: T0 + 1000 }) };
msgs.r103 = { key: '103', value: withSchema(change('customers', 'r', { after: rows.c103, ts: T0 + 2000 }), customerFields) };
msgs.u101 = { key: '101', value: change('customers', 'u', { before: rows.c101, after: { ...rows.c101, plan: 'gold' }, ts: T0 + 5000 }) };
// committed earlier in the database, delivered later: loses to the gold update
msgs.u101old = { key: '101', value: change('customers', 'u', { before: rows.c101, after: { ...rows.c101, plan: 'silver' }, ts: T0 + 4000 }) };

const items9001 = [{ product_id: 'sku-mug', name: 'Mug', price: 10.25, quantity: 2 }, { product_id: 'sku-tea', name: 'Tea', price: 10, quantity: 1 }];
const items9002 = [{ product_id: 'sku-pot', name: 'Pot', price: 20, quantity: 1 }];
const o9001 = { id: 9001, customer_id: 101, total: 30.5, status: 'paid', line_items: JSON.stringify(items9001) };
msgs.c9001 = { key: '101', value: change('orders', 'c', { after: o9001, ts: T0 + 6000 }) };
msgs.c9002 = { key: '101', value: withSchema(change('orders', 'c', {
  after: { id: 9002, customer_id: 101, total: decimal(2000), status: 'paid', line_items: JSON.stringify(items9002) }, ts: T0 + 7000 }), orderFields) };
msgs.u9001 = { key: '101', value: change('orders', 'u', { before: o9001, after: { ...o9001, status: 'shipped' }, ts: T0 + 8000 }) };

async function consumed(s, n) {
  await eventually(async () => {
    const m = (await s.get('/metrics')).text;
    assert.ok(metric(m, 'c360_kafka_messages_total') >= n, `consumed ${metric(m, 'c360_kafka_messages_total')} of ${n}`);
    assert.equal(metric(m, 'c360_kafka_consumer_lag'), 0, 'lag 0');
  }, { timeoutMs: 30_000, intervalMs: 200 });
}

let produced = 0;
async function send(topic, list) {
  await produce(cluster.bootstrap, topic, list);
  produced += list.length;
}

test('customer rows (c, r, u; bare and schema+payload) make profiles with traits, last writer wins', { skip, timeout: 60_000 }, async () => {
  await send('customers', [msgs.c101, msgs.c102, msgs.r103, msgs.u101, msgs.u101old]);
  await eventually(async () => {
    const p = await getProfile(srv, 'user_id', '101');
    assert.equal(p.traits.plan, 'gold', 'the update with the later commit time wins');
    assert.equal(p.traits.email, email(101));
    assert.equal(p.traits.name, 'Ada');
    assert.equal(p.counts.total, 3);
  }, { timeoutMs: 30_000, intervalMs: 200 });
  const byEmail = await getProfile(srv, 'email', email(101));
  assert.equal(byEmail.id, (await getProfile(srv, 'user_id', '101')).id, 'the email column links the identity');
  const p103 = await getProfile(srv, 'user_id', '103');
  assert.equal(p103.traits.plan, 'free', 'snapshot rows (op r, schema+payload form) count too');
  assert.equal(p103.traits.email, email(103));
  assert.equal(p103.traits.id, undefined, 'the key column is the userId, not a trait');
  assert.equal((await getProfile(srv, 'user_id', '102')).traits.plan, 'pro');
});

test('order rows become purchases with line items; an order counts once however often it changes', { skip, timeout: 60_000 }, async () => {
  await send('orders', [msgs.c9001, msgs.c9002, msgs.u9001]);
  await eventually(async () => {
    const p = await getProfile(srv, 'user_id', '101');
    assert.equal(p.features.order_count.value, 2);
    assert.equal(p.features.lifetime_spend.value, 50.5, 'totals, the Connect Decimal one included');
  }, { timeoutMs: 30_000, intervalMs: 200 });
  await consumed(srv, produced);
  const { events } = await getAllEvents(srv, 'user_id', '101');
  const orders = events.filter((e) => e.name === 'Order Completed' || e.event === 'Order Completed');
  assert.equal(orders.length, 2, JSON.stringify(events));
  const o1 = orders.find((e) => e.properties.order_id === '9001');
  const o2 = orders.find((e) => e.properties.order_id === '9002');
  assert.ok(o1 && o2, JSON.stringify(orders));
  assert.deepEqual(o1.properties.products, items9001, 'line items parsed from the JSON column');
  assert.deepEqual(o2.properties.products, items9002);
  assert.equal(o2.properties.total, 20, 'Decimal column decoded with its scale');
  assert.equal(o1.properties.status, 'paid', 'the update of an order is not a second purchase');
});

test('the same changes delivered again are not counted twice', { skip, timeout: 60_000 }, async () => {
  const before = await getProfile(srv, 'user_id', '101');
  await send('customers', [msgs.c101, msgs.u101, msgs.r103]);
  await send('orders', [msgs.c9002, msgs.u9001]);
  await consumed(srv, produced);
  await sleep(500);
  const p = await getProfile(srv, 'user_id', '101');
  assert.equal(p.counts.total, before.counts.total, 'no new events');
  assert.equal(p.features.order_count.value, 2);
  assert.equal(p.features.lifetime_spend.value, 50.5);
  assert.equal(p.traits.plan, 'gold');
  assert.equal((await getProfile(srv, 'user_id', '103')).counts.total, 1);
});

test('malformed changes go to the dead-letter topic with the error; the partition goes on', { skip, timeout: 60_000 }, async () => {
  await send('customers', [
    { key: '101', value: 'not json {' },
    { key: '101', value: { before: null, after: { id: 101 }, op: 'x', source: { ts_ms: T0 } } },
    { key: '101', value: change('customers', 'c', { after: { email: 'noid@example.com' }, ts: T0 + 8500 }) },
    { key: '101', value: change('customers', 'u', { before: rows.c101, after: { ...rows.c101, plan: 'platinum' }, ts: T0 + 9000 }) },
  ]);
  await send('orders', [
    { key: '101', value: change('orders', 'c', { after: { id: 9003, total: 5 }, ts: T0 + 8600 }) },
    { key: '101', value: change('orders', 'c', { after: { id: 9004, customer_id: 101, total: 7 }, ts: T0 + 8700 }) },
  ]);
  await eventually(async () => {
    const p = await getProfile(srv, 'user_id', '101');
    assert.equal(p.traits.plan, 'platinum', 'the change after the poison ones is applied');
    assert.equal(p.features.order_count.value, 3);
  }, { timeoutMs: 30_000, intervalMs: 200 });
  const dlq = await eventually(async () => {
    const d = await consumeAll(cluster.bootstrap, 'dlq');
    assert.equal(d.length, 4, JSON.stringify(d));
    return d;
  }, { timeoutMs: 10_000, intervalMs: 300 });
  const errs = dlq.map((m) => m.headers['c360.error']);
  assert.ok(errs.some((e) => /not JSON/.test(e)), errs.join(' | '));
  assert.ok(errs.some((e) => /op must be c, u, d or r/.test(e)), errs.join(' | '));
  assert.ok(errs.some((e) => /customers row has no id/.test(e)), errs.join(' | '));
  assert.ok(errs.some((e) => /orders row has no customer_id/.test(e)), errs.join(' | '));
  assert.equal(dlq.find((m) => /not JSON/.test(m.headers['c360.error'])).value, 'not json {', 'the original value');
  for (const m of dlq) {
    assert.equal(m.key, '101');
    assert.ok(['customers', 'orders'].includes(m.headers['c360.topic']));
    assert.ok(Number(m.headers['c360.offset']) >= 0);
  }
  assert.equal(metric((await srv.get('/metrics')).text, 'c360_kafka_dead_letters_total'), 4);
});

test('a customer delete clears the traits of the row (cdc_delete: clear)', { skip, timeout: 60_000 }, async () => {
  await send('customers', [{ key: '102', value: change('customers', 'd', { before: rows.c102, ts: T0 + 10_000 }) }]);
  await eventually(async () => {
    const p = await getProfile(srv, 'user_id', '102');
    assert.equal(p.traits.plan ?? null, null, JSON.stringify(p.traits));
    assert.equal(p.traits.email ?? null, null);
    assert.equal(p.traits.name ?? null, null);
  }, { timeoutMs: 30_000, intervalMs: 200 });
});

test('restart on the stored offsets under a new group: nothing is read or counted again', { skip, timeout: 90_000 }, async () => {
  await consumed(srv, produced);
  const snap = {};
  for (const id of ['101', '102', '103']) snap[id] = await getProfile(srv, 'user_id', id);
  assertCleanExit(await srv.stop());
  srv.args = args(`cdc2-${tag}`, ['--kafka-dlq-topic', 'dlq']); // the group has no committed offsets
  await srv.restart();
  await eventually(async () => {
    const m = (await srv.get('/metrics')).text;
    assert.match(m, /c360_kafka_consumer_lag\{topic="customers"/, 'partitions assigned');
    assert.equal(metric(m, 'c360_kafka_consumer_lag'), 0);
  }, { timeoutMs: 30_000, intervalMs: 200 });
  await sleep(1000);
  assert.equal(metric((await srv.get('/metrics')).text, 'c360_kafka_messages_total'), 0, 'started at the stored offsets');
  for (const id of ['101', '102', '103']) {
    const p = await getProfile(srv, 'user_id', id);
    assert.equal(p.counts.total, snap[id].counts.total, `events of ${id}`);
    assert.deepEqual(p.traits, snap[id].traits);
  }
  assert.equal((await getProfile(srv, 'user_id', '101')).features.order_count.value, 3);
  assert.equal((await consumeAll(cluster.bootstrap, 'dlq')).length, 4, 'no dead letter twice');
});

test('cdc_delete: erase — a second server reading the same topics erases deleted customers', { skip, timeout: 90_000 }, async () => {
  srvErase = await startServer({ args: args(`cdc-erase-${tag}`, ['--kafka-cdc-delete', 'erase']) });
  await consumed(srvErase, produced);
  await eventually(async () => {
    const p = await getProfile(srvErase, 'user_id', '101');
    assert.equal(p.traits.plan, 'platinum');
    assert.equal(p.features.order_count.value, 3);
    assert.equal(p.features.lifetime_spend.value, 57.5);
  }, { timeoutMs: 30_000, intervalMs: 200 });
  for (const path of ['/v1/profiles/user_id:102', `/v1/profiles/email:${encodeURIComponent(email(102))}`]) {
    assert.equal((await srvErase.get(path)).status, 404, `${path} is erased`);
  }
  assert.equal((await getProfile(srvErase, 'user_id', '103')).traits.plan, 'free');
  // a new delete reaches both: erased on one, cleared on the other
  await send('customers', [{ key: '103', value: change('customers', 'd', { before: rows.c103, ts: T0 + 11_000 }) }]);
  await eventually(async () => {
    assert.equal((await srvErase.get('/v1/profiles/user_id:103')).status, 404);
    assert.equal((await srvErase.get(`/v1/profiles/email:${encodeURIComponent(email(103))}`)).status, 404);
    const p = await getProfile(srv, 'user_id', '103');
    assert.equal(p.traits.plan ?? null, null);
  }, { timeoutMs: 30_000, intervalMs: 200 });
  // the erased customer's create, delivered again, stays suppressed
  await send('customers', [msgs.c102]);
  await consumed(srvErase, 1);
  await sleep(1000);
  assert.equal((await srvErase.get('/v1/profiles/user_id:102')).status, 404, 'a replay does not bring the customer back');
  assertCleanExit(await srvErase.stop());
  assertCleanExit(await srv.stop());
});
