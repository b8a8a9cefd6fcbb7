// Erasure reaches data that came in through Kafka too: a customer whose personal data arrived as
// Segment JSON on a Kafka topic (librdkafka mock cluster, produced with kcat) and over HTTP is
// erased; no byte of their email, phone or name remains in any file of the data dir, and a
// replay of the same Kafka messages does not bring them back.
import assert from 'node:assert/strict';
import { test, after, before } from 'node:test';
import { startServer, assertCleanExit, eventually, ADMIN_KEY } from './lib/server.mjs';
import { getProfile, messageId, uid } from './lib/api.mjs';
import { person, scanDataDir, describeScan } from './lib/privacy.mjs';
import { startCluster, produce, haveKcat } from '../kafka/kafka.mjs';

const skip = haveKcat() ? false : 'kcat is not installed (scripts/install-deps)';
const tag = uid();
let cluster, srv;

before(async () => {
  if (skip) return;
  cluster = await startCluster({ topics: { clicks: 2 } });
  srv = await startServer({ args: ['--kafka', cluster.bootstrap, '--kafka-topics', 'clicks', '--kafka-group', `e-${tag}`] });
}, { timeout: 60_000 });
after(async () => {
  if (srv) await srv.cleanup();
  if (cluster) await cluster.stop();
});

test('a customer from Kafka and HTTP is erased from every file; a Kafka replay is suppressed', { skip, timeout: 120_000 }, async () => {
  const p = person('k');
  const msgs = [
    { key: p.userId, value: { type: 'identify', userId: p.userId, messageId: messageId(),
      traits: { email: p.email, phone: p.phone, name: p.name } } },
    { key: p.userId, value: { type: 'track', userId: p.userId, event: 'Product Viewed', messageId: messageId(),
      context: { traits: { email: p.email } }, properties: { product_id: 'sku-1' } } },
  ];
  await produce(cluster.bootstrap, 'clicks', msgs);
  const http = await srv.ingest('/v1/track', { userId: p.userId, event: 'Note', messageId: messageId(),
    properties: { note: `${p.name} called` } });
  assert.equal(http.status, 200);
  await eventually(async () => {
    const prof = await getProfile(srv, 'email', p.email);
    assert.equal(prof.counts.total, 3);
  }, { timeoutMs: 30_000 });

  const er = await srv.ingest('/v1/privacy/erase', { identifier: `email:${p.email}` }, { key: ADMIN_KEY });
  assert.equal(er.status, 200, JSON.stringify(er.json));
  for (const [t, v] of [['email', p.email], ['user_id', p.userId], ['phone', p.phoneNorm]]) {
    const r = await srv.get(`/v1/profiles/${t}:${encodeURIComponent(v)}`);
    assert.equal(r.status, 404, `${t} still answers: ${r.text}`);
  }
  // a replay of the same messages (and new ones carrying the same identifiers) stays suppressed
  await produce(cluster.bootstrap, 'clicks', [...msgs, { key: p.userId, value: { type: 'track', userId: p.userId,
    event: 'Again', messageId: messageId(), context: { traits: { email: p.email } } } }]);
  await new Promise((r) => setTimeout(r, 3000));
  assert.equal((await srv.get(`/v1/profiles/user_id:${p.userId}`)).status, 404, 'the replay rebuilt the customer');
  const dir = srv.dataDir;
  assertCleanExit(await srv.stop());
  const scan = scanDataDir(dir, p.needles);
  assert.equal(scan.errors.length, 0, describeScan(scan));
  assert.equal(scan.hits.length, 0, `personal data left after erasure:\n${describeScan(scan)}`);
  await srv.cleanup();
  srv = null;
});
