// Kafka source under faults, with deduplication switched off (--dedup-window 0) so that only the
// offsets stored with the state stand between a replay and a double count:
//  - a broker of the 3-broker mock cluster goes down while c360 consumes and comes back, then
//    each broker in turn (the group coordinator among them);
//  - c360 is killed with SIGKILL in the middle of a stream and restarted on the same data dir.
// After each, every profile holds exactly the events produced for it: no loss, no double count.
import assert from 'node:assert/strict';
import { test, after, before } from 'node:test';
import { startServer, assertCleanExit, assertNoSanitizerReport, eventually, sleep } from './lib/server.mjs';
import { getProfile, uid } from './lib/api.mjs';
import { startCluster, produce, metric, haveKcat } from '../kafka/kafka.mjs';

const skip = haveKcat() ? false : 'kcat is not installed (scripts/install-deps)';
const tag = uid();
const USERS = 10;
const users = Array.from({ length: USERS }, (_, i) => `kc-${i}-${tag}`);
const expected = new Map(users.map((u) => [u, 0]));
let cluster, srv, seq = 0;

before(async () => {
  if (skip) return;
  cluster = await startCluster({ topics: { events: 4 } });
  srv = await startServer({
    args: ['--kafka', cluster.bootstrap, '--kafka-topics', 'events', '--kafka-group', `g-${tag}`, '--dedup-window', '0'],
  });
}, { timeout: 60_000 });
after(async () => {
  if (srv) await srv.cleanup();
  if (cluster) await cluster.stop();
});

function batch(n) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const u = users[seq % USERS];
    seq++;
    expected.set(u, expected.get(u) + 1);
    out.push({ key: u, value: { type: 'track', userId: u, event: 'Crash Test', properties: { seq, pad: 'x'.repeat(200) } } });
  }
  return out;
}

async function assertExact(timeoutMs = 60_000) {
  await eventually(async () => {
    for (const u of users) {
      const r = await srv.get(`/v1/profiles/user_id:${u}`);
      assert.equal(r.status, 200, `profile ${u}: ${r.text}`);
      assert.equal(r.json.counts.total, expected.get(u), `events of ${u}`);
    }
  }, { timeoutMs, intervalMs: 300 });
}

test('a broker goes down during consumption and comes back: nothing lost, nothing counted twice', { skip, timeout: 180_000 }, async () => {
  await produce(cluster.bootstrap, 'events', batch(500));
  await cluster.down(2);
  await sleep(3000);
  await cluster.up(2);
  await produce(cluster.bootstrap, 'events', batch(500));
  await assertExact(90_000);
  // every broker in turn, so one of them is the group coordinator and each leads partitions
  for (const id of [1, 2, 3]) {
    await produce(cluster.bootstrap, 'events', batch(200));
    await cluster.down(id);
    await sleep(2000);
    await cluster.up(id);
  }
  await produce(cluster.bootstrap, 'events', batch(200));
  await assertExact(90_000);
});

test('kill -9 in the middle of a stream, restart: nothing lost, nothing counted twice', { skip, timeout: 180_000 }, async () => {
  const before = metric((await srv.get('/metrics')).text, 'c360_kafka_messages_total');
  await produce(cluster.bootstrap, 'events', batch(4000));
  // kill as soon as the consumer is visibly part-way through the new messages
  await eventually(async () => {
    const m = metric((await srv.get('/metrics')).text, 'c360_kafka_messages_total');
    assert.ok(m > before, 'consuming');
  }, { timeoutMs: 30_000, intervalMs: 20 });
  const res = await srv.kill9();
  assertNoSanitizerReport(res.stderr);
  await produce(cluster.bootstrap, 'events', batch(300));
  await srv.restart();
  await assertExact(120_000);
  // and once more with a clean stop and restart: still exact
  assertCleanExit(await srv.stop());
  await srv.restart();
  await produce(cluster.bootstrap, 'events', batch(100));
  await assertExact(60_000);
  assertCleanExit(await srv.stop());
});
