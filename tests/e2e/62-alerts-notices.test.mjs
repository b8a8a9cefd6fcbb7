// Fraud alerts and segment moves leave the server (docs/FEATURES.md, "Alerts and segment events"):
// an order at or above fraud.threshold is POSTed to fraud.webhook_url (HMAC-signed, retried when
// the receiver fails, only after the order is durable), published on the Kafka sink next to
// segment entries and exits (read back with kcat), and listed on the console's overview with
// the day's merge count, which survives a restart.
import assert from 'node:assert/strict';
import { test, after, before } from 'node:test';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { startServer, assertCleanExit, eventually } from './lib/server.mjs';
import { assertAccepted, getProfile, isoAt, uid } from './lib/api.mjs';
import { startCluster, consumeAll, haveKcat, metric } from '../kafka/kafka.mjs';

const skip = haveKcat() ? false : 'kcat is not installed (scripts/install-deps)';
const tag = uid();
const SECRET = `whs-${tag}`;
const H = 3_600_000;
const base = Math.floor(Date.now() / 1000) * 1000 - 2 * H;
const at = (h) => isoAt(base + h * H);

// the receiver: answers 500 to the first request, 2xx afterwards; records everything
const received = [];
let refuseNext = 1;
const receiver = http.createServer((req, res) => {
  let body = '';
  req.on('data', (c) => { body += c; });
  req.on('end', () => {
    received.push({ body, headers: req.headers, refused: refuseNext > 0 });
    if (refuseNext > 0) { refuseNext--; res.writeHead(500).end('try later'); return; }
    res.writeHead(204).end();
  });
});

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'c360-alerts-'));
const cfg = path.join(tmp, 'c360.yaml');
let cluster, srv;

before(async () => {
  if (skip) return;
  await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
  fs.writeFileSync(cfg, `
fraud:
  threshold: 30
  webhook_url: http://127.0.0.1:${receiver.address().port}/alerts
  webhook_secret: ${SECRET}
segments:
  gold_${tag}: traits.plan == "gold"
`);
  cluster = await startCluster({ topics: { sink: 2 } });
  srv = await startServer({ args: ['--config', cfg, '--kafka', cluster.bootstrap, '--kafka-sink-topic', 'sink'] });
}, { timeout: 60_000 });
after(async () => {
  if (srv) await srv.cleanup();
  if (cluster) await cluster.stop();
  receiver.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const buyer = `buyer-${tag}`;
let buyerId;

test('a risky order: signed webhook (retried), Kafka sink, overview', { skip, timeout: 90_000 }, async () => {
  assertAccepted(await srv.ingest('/v1/batch', { batch: [
    { type: 'identify', userId: buyer, timestamp: at(0), traits: { email: `${buyer}@example.com`, plan: 'free' } },
    { type: 'track', userId: buyer, event: 'Order Completed', timestamp: at(0.5),
      properties: { order_id: `big-${tag}`, revenue: 4000, products: [{ product_id: 'tv', price: 4000, quantity: 1 }] } },
    { type: 'track', userId: buyer, event: 'Order Completed', timestamp: at(0.6),
      properties: { order_id: `small-${tag}`, revenue: 5, products: [{ product_id: 'pen', price: 5, quantity: 1 }] } },
  ] }));
  const p = await getProfile(srv, 'user_id', buyer);
  buyerId = p.id;
  assert.ok(p.fraud.alerts.some((a) => a.order_id === `big-${tag}`), JSON.stringify(p.fraud));

  // the webhook: refused once, then delivered; exactly one alert (the small order is below threshold)
  await eventually(() => assert.ok(received.some((r) => !r.refused), 'no delivery yet'), { timeoutMs: 20_000 });
  assert.equal(received.length, 2, `one refusal and one delivery expected: ${JSON.stringify(received.map((r) => r.body))}`);
  assert.equal(received[0].body, received[1].body, 'the retry sends the same alert');
  const got = received[1];
  const alert = JSON.parse(got.body);
  assert.equal(alert.type, 'fraud_alert');
  assert.equal(alert.customer_id, buyerId);
  assert.equal(alert.order_id, `big-${tag}`);
  assert.equal(alert.alert_id, `${buyerId}/big-${tag}`);
  assert.ok(alert.score >= 30 && alert.reasons.includes('new_account_large_order'), got.body);
  const mac = crypto.createHmac('sha256', SECRET).update(got.body).digest('hex');
  assert.equal(got.headers['x-c360-signature'], `sha256=${mac}`);
  assert.equal(got.headers['content-type'], 'application/json');
  // the counter moves once the sender has read the answer, a moment after the receiver saw it
  await eventually(async () => {
    const m = await srv.get('/v1/features/metrics');
    assert.equal(metric(m.text, 'c360_alert_webhook_total{outcome="delivered"}'), 1, m.text);
    assert.equal(metric(m.text, 'c360_alert_webhook_total{outcome="failed"}'), 0);
    assert.equal(metric(m.text, 'c360_fraud_alerts_total'), 1);
  }, { timeoutMs: 10_000 });

  // the overview lists it (newest first) with today's count
  const o = await srv.get('/v1/overview');
  assert.equal(o.status, 200, o.text);
  assert.equal(o.json.fraud_alerts_today, 1);
  assert.equal(o.json.recent_fraud_alerts.length, 1);
  const ra = o.json.recent_fraud_alerts[0];
  assert.equal(ra.customer_id, buyerId);
  assert.deepEqual(ra.reasons, alert.reasons);
  assert.ok(Date.now() - Date.parse(ra.raised_at) < 60_000, ra.raised_at);
});

test('segment entry and exit, and the alert, on the Kafka sink', { skip, timeout: 60_000 }, async () => {
  assertAccepted(await srv.ingest('/v1/identify', { userId: buyer, timestamp: at(1), traits: { plan: 'gold' } }));
  assertAccepted(await srv.ingest('/v1/identify', { userId: buyer, timestamp: at(1.5), traits: { plan: 'free' } }));
  await eventually(async () => {
    const msgs = (await consumeAll(cluster.bootstrap, 'sink')).filter((m) => m.key === buyerId && m.value);
    const changes = msgs.flatMap((m) => JSON.parse(m.value).changes);
    const seg = changes.filter((c) => c.segment === `gold_${tag}`);
    assert.deepEqual(seg.map((c) => (c.entered ? 'in' : c.exited ? 'out' : '?')), ['in', 'out'], JSON.stringify(changes));
    assert.equal(seg[0].at, at(1));
    const fa = changes.filter((c) => c.fraud_alert);
    assert.equal(fa.length, 1, JSON.stringify(changes));
    assert.equal(fa[0].fraud_alert.order_id, `big-${tag}`);
    // feature values travel with every change: after the orders, order_count 2 and the spend
    const withOrders = msgs.map((m) => JSON.parse(m.value)).find((v) => v.changes.some((c) => c.fraud_alert));
    assert.equal(withOrders.features.order_count.value, 2, JSON.stringify(withOrders.features));
    assert.equal(withOrders.features.lifetime_spend.value, 4005);
    assert.equal(withOrders.features.order_count.updated_at, at(0.6));
  }, { timeoutMs: 20_000, intervalMs: 500 });
});

test('merges today on the overview, kept across a restart', { skip, timeout: 90_000 }, async () => {
  const before0 = (await srv.get('/v1/overview')).json.merges_today;
  const anon = `anon-${tag}`, user = `merge-${tag}`;
  assertAccepted(await srv.ingest('/v1/track', { anonymousId: anon, event: 'Product Viewed', properties: { product_id: 'x' } }));
  assertAccepted(await srv.ingest('/v1/identify', { userId: user, traits: { email: `${user}@example.com` } }));
  assertAccepted(await srv.ingest('/v1/identify', { userId: user, anonymousId: anon }));
  const p = await getProfile(srv, 'anonymous_id', anon);
  assert.equal(p.counts.total, 3);
  assert.equal((await srv.get('/v1/overview')).json.merges_today, before0 + 1);
  assertCleanExit(await srv.stop());
  await srv.restart();
  const o = await srv.get('/v1/overview');
  assert.equal(o.json.merges_today, before0 + 1);
  assert.equal(o.json.recent_fraud_alerts[0].customer_id, buyerId, 'alerts are kept in the store');
  assertCleanExit(await srv.stop());
});
