// Features layer over HTTP (docs/FEATURES.md): computed features with their update times in the
// profile, recommendations, fraud alerts, segments (POST, members paging, CSV) and the layer's
// metrics. Event times are in the past relative to the real clock.
import assert from 'node:assert/strict';
import { useServer, ADMIN_KEY } from './lib/server.mjs';
import { assertAccepted, assertError, getProfile, profilePath, isoAt, uid } from './lib/api.mjs';

const fx = useServer();
const tag = uid();
const H = 3_600_000;
const base = Math.floor(Date.now() / 1000) * 1000 - 48 * H;
const at = (h) => isoAt(base + h * H);

const buyerA = `a-${tag}`, buyerB = `b-${tag}`, browser = `c-${tag}`;
const P = (s) => `${s}-${tag}`;

function order(userId, id, h, revenue, prods, extra = {}) {
  return { type: 'track', userId, event: 'Order Completed', timestamp: at(h),
    properties: { order_id: id, revenue, products: prods.map((p) => ({ product_id: P(p), name: `Name ${p}`, price: 5 })), ...extra } };
}

fx.test('ingest a small shop', async (srv) => {
  const batch = [
    order(buyerA, 'a1', 1, 20, ['milk', 'bread']),
    order(buyerB, 'b1', 2, 30, ['milk', 'bread', 'jam']),
    order(buyerB, 'b2', 3, 10, ['milk', 'jam']),
    { type: 'track', userId: browser, event: 'Product Viewed', timestamp: at(40), properties: { product_id: P('milk'), name: 'Name milk' } },
    { type: 'track', userId: browser, event: 'Product Added', timestamp: at(40.1), properties: { product_id: P('milk'), quantity: 2 } },
    { type: 'page', userId: browser, name: 'Home', timestamp: at(40.2) },
    { type: 'track', userId: browser, event: 'Ticket Created', timestamp: at(40.3), properties: { ticket_id: 't1' } },
  ];
  assertAccepted(await srv.ingest('/v1/batch', { batch }));
});

fx.test('profile shows features with updated_at, fraud and segments', async (srv) => {
  const p = await getProfile(srv, 'user_id', browser);
  assert.deepEqual(p.features.cart.value, [{ product_id: P('milk'), quantity: 2 }]);
  assert.equal(p.features.has_open_ticket.value, true);
  assert.deepEqual(p.features.products_of_interest.value, [P('milk')]);
  assert.equal(p.features.order_count.value, 0);
  assert.equal(Date.parse(p.features.cart.updated_at), Date.parse(at(40.1)));
  assert.ok(p.features.time_since_last_event_s.value >= 7 * 3600 - 5);
  assert.ok('fraud' in p && Array.isArray(p.fraud.alerts));
  assert.ok(Array.isArray(p.segments));
  const b = await getProfile(srv, 'user_id', buyerB);
  assert.equal(b.features.order_count.value, 2);
  assert.equal(b.features.lifetime_spend.value, 40);
  assert.equal(b.features.average_order_value.value, 20);
  assert.equal(Date.parse(b.features.last_purchase_at.value), Date.parse(at(3)));
});

fx.test('recommendations: co-purchase, then popular fill-in', async (srv) => {
  const res = await srv.get(profilePath('user_id', browser, '/recommendations?limit=3'));
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.json.products_of_interest, [P('milk')]);
  const recs = res.json.recommendations;
  // milk was bought with bread twice (a1, b1) and with jam twice (b1, b2): tie -> product_id order
  assert.deepEqual(recs.map((r) => [r.product_id, r.score, r.source]),
    [[P('bread'), 2, 'co_purchase'], [P('jam'), 2, 'co_purchase']]);
  assert.equal(recs[0].name, 'Name bread');
  assert.deepEqual(recs[0].because, [P('milk')]);
  assertError(await srv.get(profilePath('user_id', browser, '/recommendations?limit=0')), 400, 'invalid_parameter');
  // a customer with no signal gets popular products (minus their last order)
  const a = await srv.get(profilePath('user_id', buyerA, '/recommendations'));
  assert.equal(a.status, 200, a.text);
  assert.ok(a.json.recommendations.every((r) => r.source === 'popular'));
  assert.ok(!a.json.recommendations.some((r) => r.product_id === P('milk')), 'last order excluded');
  assert.ok(a.json.recommendations.some((r) => r.product_id === P('jam')));
});

fx.test('fraud: a new account with a large order raises an alert', async (srv) => {
  const u = `f-${tag}`;
  assertAccepted(await srv.ingest('/v1/batch', { batch: [
    { type: 'identify', userId: u, timestamp: at(44), traits: { plan: 'free' } },
    order(u, 'big', 44.5, 5000, ['tv'], { payment_method: 'card' }),
  ] }));
  const p = await getProfile(srv, 'user_id', u);
  assert.equal(p.fraud.last_order.order_id, 'big');
  assert.ok(p.fraud.last_order.reasons.includes('new_account_large_order'));
  const m = await srv.get('/v1/features/metrics');
  assert.equal(m.status, 200);
  assert.match(m.text, /c360_fraud_orders_scored_total \d+/);
  // the same series in /metrics, where a Prometheus scrape finds them, each family declared once
  const all = (await srv.get('/metrics')).text;
  const scored = Number(m.text.match(/^c360_fraud_orders_scored_total (\d+)$/m)[1]);
  assert.ok(scored >= 1);
  assert.equal(Number(all.match(/^c360_fraud_orders_scored_total (\d+)$/m)?.[1]), scored);
  assert.match(all, /^c360_segment_transitions_total\{kind="enter"\} \d+$/m);
  assert.match(all, /^c360_events_accepted_total \d+$/m);
  const types = all.match(/^# TYPE \S+/gm);
  assert.equal(new Set(types).size, types.length, 'a metric family is declared twice');
});

fx.test('segments: define, members (paged), CSV', async (srv) => {
  const bad = await srv.request('POST', '/v1/segments', { body: { name: 'x', where: 'a ==' }, auth: `Bearer ${ADMIN_KEY}` });
  assertError(bad, 400, 'invalid_parameter');
  const seg = `buyers_${tag}`;
  const res = await srv.request('POST', '/v1/segments', { body: { name: seg, where: 'features.order_count >= 1' }, auth: `Bearer ${ADMIN_KEY}` });
  assert.equal(res.status, 201, res.text);
  const list = await srv.get('/v1/segments');
  assert.ok(list.json.segments.some((s) => s.name === seg));
  // membership is updated at ingest: new events for the buyers
  assertAccepted(await srv.ingest('/v1/batch', { batch: [
    { type: 'page', userId: buyerA, name: 'x', timestamp: at(45) },
    { type: 'page', userId: buyerB, name: 'x', timestamp: at(45) },
    { type: 'page', userId: browser, name: 'x', timestamp: at(45) },
  ] }));
  const ids = [];
  let cursor = null;
  for (let i = 0; i < 5; i++) {
    const r = await srv.get(`/v1/segments/${seg}/members?limit=1${cursor ? `&cursor=${cursor}` : ''}`);
    assert.equal(r.status, 200, r.text);
    ids.push(...r.json.members.map((m) => m.id));
    cursor = r.json.next;
    if (!cursor) break;
  }
  const a = await getProfile(srv, 'user_id', buyerA), b = await getProfile(srv, 'user_id', buyerB);
  assert.deepEqual(ids.sort(), [a.id, b.id].sort());
  assert.ok(a.segments.some((s) => s.name === seg && s.since));
  const csv = await srv.get(`/v1/segments/${seg}/members.csv`);
  assert.equal(csv.status, 200);
  assert.match(csv.headers.get('content-type'), /text\/csv/);
  assert.equal(csv.text.trim().split('\n').length, 3);
  assertError(await srv.get('/v1/segments/nope/members'), 404, 'not_found');
});
