// Consumer-group rebalance. The designed model (docs/SOURCES.md, "Partition ownership"): c360
// instances in one consumer group shard the partitions, each into its own store (its own data
// dir); a partition's offsets live in the store that applied it. When a second instance joins,
// the first finishes its writes in flight and commits their offsets before the partitions move,
// and the newcomer starts where it stopped. So across the two stores every message is applied
// exactly once: per customer, the events in A plus the events in B equal what was produced.
// The group uses cooperative rebalancing (c360's default): a partition changes hands only after
// the group has settled, so the offsets its owner commits while letting it go are the ones the
// next owner starts from.
import assert from 'node:assert/strict';
import { test, after, before } from 'node:test';
import { startServer, assertCleanExit, eventually, sleep } from './lib/server.mjs';
import { uid } from './lib/api.mjs';
import { startCluster, produce, haveKcat } from '../kafka/kafka.mjs';

const skip = haveKcat() ? false : 'kcat is not installed (scripts/install-deps)';
const tag = uid();
const USERS = 16;
const users = Array.from({ length: USERS }, (_, i) => `kr-${i}-${tag}`);
const expected = new Map(users.map((u) => [u, 0]));
let cluster, a, b, seq = 0;
// C360_KAFKA_DEBUG=1: librdkafka's consumer-group log in the servers' logs (C360_E2E_LOG_DIR)
const debug = !!process.env.C360_KAFKA_DEBUG;

before(async () => {
  if (skip) return;
  cluster = await startCluster({ topics: { stream: 6 } });
}, { timeout: 30_000 });
after(async () => {
  for (const s of [a, b]) if (s) await s.cleanup();
  if (cluster) await cluster.stop();
});

const args = () => ['--kafka', cluster.bootstrap, '--kafka-topics', 'stream', '--kafka-group', `g-${tag}`, '--dedup-window', '0',
  // security and tuning settings pass through to librdkafka
  '--kafka-properties', `session.timeout.ms=6000,heartbeat.interval.ms=500${debug ? ',debug=cgrp' : ''}`,
  ...(debug ? ['--log-level', 'debug'] : [])];

function batch(n) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const u = users[seq % USERS];
    seq++;
    expected.set(u, expected.get(u) + 1);
    out.push({ key: u, value: { type: 'track', userId: u, event: 'Rebalance Test', properties: { seq } } });
  }
  return out;
}

async function count(srv, u) {
  const r = await srv.get(`/v1/profiles/user_id:${u}`);
  if (r.status === 404) return 0;
  assert.equal(r.status, 200, r.text);
  return r.json.counts.total;
}

async function assertSplitExact(servers) {
  await eventually(async () => {
    for (const u of users) {
      let total = 0;
      for (const s of servers) total += await count(s, u);
      assert.equal(total, expected.get(u), `events of ${u} across the group`);
    }
  }, { timeoutMs: 90_000, intervalMs: 500 });
}

test('a second instance joins the group and leaves: partitions move without loss or double counting', { skip, timeout: 240_000 }, async () => {
  a = await startServer({ args: args() });
  await produce(cluster.bootstrap, 'stream', batch(600));
  await assertSplitExact([a]);
  // keep producing while the group rebalances
  const p1 = produce(cluster.bootstrap, 'stream', batch(600));
  b = await startServer({ args: args() });
  await p1;
  await eventually(async () => {
    const m = (await b.get('/metrics')).text;
    assert.match(m, /c360_kafka_consumer_lag\{topic="stream"/, 'the newcomer owns partitions');
  }, { timeoutMs: 60_000, intervalMs: 250 });
  await produce(cluster.bootstrap, 'stream', batch(600));
  await assertSplitExact([a, b]);
  // both members applied a share (the group really is split)
  for (const s of [a, b]) {
    let mine = 0;
    for (const u of users) mine += await count(s, u);
    assert.ok(mine > 0 && mine < seq, `each member holds a share: ${mine} of ${seq}`);
  }
  // B leaves: its partitions go back to A, which resumes where B stopped (the group's committed
  // offsets are ahead of A's stored ones for them: those messages are in B's store)
  // (and messages keep coming while it leaves). B's store is then read by B restarted without
  // Kafka: it no longer changes.
  const p2 = produce(cluster.bootstrap, 'stream', batch(600));
  assertCleanExit(await b.stop());
  await p2;
  b.args = [];
  await b.restart();
  await produce(cluster.bootstrap, 'stream', batch(600));
  await assertSplitExact([a, b]);
  // and it stays exact (a late duplicate would only add)
  await sleep(2000);
  await assertSplitExact([a, b]);
  assertCleanExit(await a.stop());
  assertCleanExit(await b.stop());
});
