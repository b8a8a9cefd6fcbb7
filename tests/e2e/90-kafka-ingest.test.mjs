// Kafka source and sink, quick start (`c360 serve --kafka BROKERS --kafka-topics T1,T2`): Segment
// JSON from two topics of a librdkafka mock cluster (3 brokers), produced with kcat; per-profile
// counts equal what was produced; poison messages land on the dead-letter topic with the error in
// headers and never stall the partition; the sink topic, read back with kcat, has profile changes
// keyed by customer id and a tombstone after erasure; consumer lag per partition in /metrics.
import assert from 'node:assert/strict';
import { test, after, before } from 'node:test';
import { startServer, assertCleanExit, eventually } from './lib/server.mjs';
import { getProfile, uid } from './lib/api.mjs';
import { startCluster, produce, consumeAll, metric, haveKcat } from '../kafka/kafka.mjs';

const skip = haveKcat() ? false : 'kcat is not installed (scripts/install-deps)';
const tag = uid();
const USERS = 6;
const users = Array.from({ length: USERS }, (_, i) => `k-${i}-${tag}`);
let cluster, srv;

before(async () => {
  if (skip) return;
  cluster = await startCluster({ topics: { clicks: 3, orders: 2, dlq: 1, sink: 3 } });
  srv = await startServer({
    args: ['--kafka', cluster.bootstrap, '--kafka-topics', 'clicks,orders', '--kafka-dlq-topic', 'dlq',
      '--kafka-sink-topic', 'sink', '--kafka-group', `g-${tag}`],
  });
}, { timeout: 60_000 });
after(async () => {
  if (srv) await srv.cleanup();
  if (cluster) await cluster.stop();
});

const expected = new Map(users.map((u) => [u, 0]));

test('Segment JSON from two topics: every event counted once per profile', { skip, timeout: 90_000 }, async () => {
  const clicks = [], orders = [];
  for (let i = 0; i < 300; i++) {
    const u = users[i % USERS];
    expected.set(u, expected.get(u) + 1);
    if (i % 3 === 0) {
      orders.push({ key: u, value: { type: 'track', userId: u, event: 'Order Completed', properties: { revenue: i } } });
    } else {
      // no messageId: c360 names the message by its place in the log
      clicks.push({ key: u, value: { type: 'page', userId: u, name: 'Home', properties: { i } } });
    }
  }
  clicks.push({ key: users[0], value: { type: 'identify', userId: users[0], traits: { email: `k0-${tag}@example.com`, plan: 'gold' } } });
  expected.set(users[0], expected.get(users[0]) + 1);
  await produce(cluster.bootstrap, 'clicks', clicks);
  await produce(cluster.bootstrap, 'orders', orders);
  await eventually(async () => {
    for (const u of users) {
      const p = await getProfile(srv, 'user_id', u);
      assert.equal(p.counts.total, expected.get(u), `events of ${u}`);
    }
  }, { timeoutMs: 60_000, intervalMs: 250 });
  const p0 = await getProfile(srv, 'user_id', users[0]);
  assert.equal(p0.traits.plan, 'gold');
  const m = (await srv.get('/metrics')).text;
  assert.ok(metric(m, 'c360_kafka_messages_total') >= 301, 'messages counted');
  assert.match(m, /c360_kafka_consumer_lag\{topic="clicks",partition="2"\}/);
  await eventually(async () => {
    const t = (await srv.get('/metrics')).text;
    assert.equal(metric(t, 'c360_kafka_consumer_lag'), 0, 'lag drains to 0');
  }, { timeoutMs: 20_000, intervalMs: 250 });
});

test('poison messages go to the dead-letter topic with the error in headers; the partition goes on', { skip, timeout: 60_000 }, async () => {
  const u = users[1];
  await produce(cluster.bootstrap, 'clicks', [
    { key: 'poison-1', value: 'this is not json' },
    { key: 'poison-2', value: { type: 'track', event: 'No Identifier' } },
    { key: u, value: { type: 'track', userId: u, event: 'After Poison' } },
  ]);
  expected.set(u, expected.get(u) + 1);
  await eventually(async () => {
    const p = await getProfile(srv, 'user_id', u);
    assert.equal(p.counts.total, expected.get(u));
  }, { timeoutMs: 30_000, intervalMs: 250 });
  const dlq = await consumeAll(cluster.bootstrap, 'dlq');
  assert.equal(dlq.length, 2, JSON.stringify(dlq));
  const byKey = Object.fromEntries(dlq.map((m) => [m.key, m]));
  assert.equal(byKey['poison-1'].value, 'this is not json');
  assert.match(byKey['poison-1'].headers['c360.error'], /invalid JSON at byte \d+/);
  assert.equal(byKey['poison-1'].headers['c360.topic'], 'clicks');
  assert.ok(byKey['poison-2'].headers['c360.error'].length > 0);
  assert.ok(byKey['poison-2'].headers['c360.offset'] !== undefined);
  const m = (await srv.get('/metrics')).text;
  assert.equal(metric(m, 'c360_kafka_dead_letters_total'), 2);
});

test('sink: profile changes keyed by customer id; erasure publishes a tombstone', { skip, timeout: 60_000 }, async () => {
  const ids = new Map();
  for (const u of users) ids.set(u, (await getProfile(srv, 'user_id', u)).id);
  await eventually(async () => {
    const msgs = await consumeAll(cluster.bootstrap, 'sink');
    for (const [u, id] of ids) {
      const mine = msgs.filter((m) => m.key === id && m.value !== null);
      assert.ok(mine.length > 0, `a change for ${u} (${id})`);
      const total = mine.reduce((s, m) => s + JSON.parse(m.value).events, 0);
      assert.equal(total, expected.get(u), `sink events of ${u} add up to what was applied`);
      for (const m of mine) assert.equal(JSON.parse(m.value).id, id);
    }
    const traits = msgs.filter((m) => m.key === ids.get(users[0]) && m.value).flatMap((m) => JSON.parse(m.value).traits);
    assert.ok(traits.includes('plan'), 'trait changes are published');
  }, { timeoutMs: 20_000, intervalMs: 500 });

  const victim = users[2];
  const r = await srv.request('POST', '/v1/privacy/erase', { body: { identifier: `user_id:${victim}` }, auth: `Bearer ${srv.adminKey}` });
  assert.equal(r.status, 200, r.text);
  await eventually(async () => {
    const msgs = await consumeAll(cluster.bootstrap, 'sink');
    const last = msgs.filter((m) => m.key === ids.get(victim)).at(-1);
    assert.ok(last, 'messages for the erased customer');
    assert.equal(last.value, null, 'the last message for an erased customer is a tombstone');
  }, { timeoutMs: 20_000, intervalMs: 500 });
});

test('SIGTERM drains cleanly (consumer closed, librdkafka shut down, no leaks)', { skip, timeout: 60_000 }, async () => {
  const res = await srv.stop();
  assertCleanExit(res);
});
