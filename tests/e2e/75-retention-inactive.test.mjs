// Retention of inactive customers (docs/PRIVACY.md "Retention", docs/CONFIG.md inactive_erase):
// with the clock pinned at 2030-06-01 (C360_FAKE_NOW) and --inactive-erase 365d, a customer whose
// events are from 2028 is erased by POST /v1/admin/retention, exactly like an erasure request
// (gone by every identifier, replays suppressed), one from 2030-05 stays; the sweep is audited.
// The sweep also runs at start; {"inactive_for": ...} overrides the period.
import assert from 'node:assert/strict';
import { test, before, after } from 'node:test';
import { startServer, assertCleanExit, annotate, eventually } from './lib/server.mjs';
import { assertAccepted, assertError, messageId, profilePath, ident, getAllEvents, uid } from './lib/api.mjs';
import { call, show, createKey, person } from './lib/privacy.mjs';

const NOW = '2030-06-01T00:00:00Z';
let srv;
before(async () => {
  srv = await startServer({ env: { C360_FAKE_NOW: NOW }, args: ['--inactive-erase', '365d'] });
}, { timeout: 40_000 });
after(async () => { await srv?.cleanup(); }, { timeout: 45_000 });
function t(name, fn) {
  return test(name, { timeout: 55_000 }, async () => {
    if (!srv) throw new Error('server did not start (see the before hook)');
    try { await fn(); } catch (e) { throw annotate(e, srv); }
  });
}

const tag = uid();
const A = person('a');   // inactive since 2028
const B = person('b');   // active in 2030-05
const st = { A: [], B: [] };
let privacyKey;

const send = async (who, p, body) => {
  body.messageId ??= messageId();
  st[who].push([p, body]);
  assertAccepted(await srv.ingest(p, body), `${who} ${p}`);
};
const paths = (X, pid) => [['user_id', X.userId], ['email', X.email], ['phone', X.phoneNorm], ['anonymous_id', X.anonymousId], ['id', pid]];
async function gone(X, pid, what) {
  const problems = [];
  for (const [type, value] of paths(X, pid)) {
    const r = await srv.get(profilePath(type, value));
    if (r.status !== 404) problems.push(`GET ${profilePath(type, value)}: expected 404, got ${show(r)}`);
  }
  assert.deepEqual(problems, [], `${what}:\n${problems.join('\n')}`);
}
async function sweeps() {
  const a = await call(srv, 'GET', '/v1/audit', privacyKey);
  assert.equal(a.status, 200, show(a));
  return a.json.entries;
}

let ready;
function setup() {
  ready ??= (async () => {
    privacyKey = await createKey(srv, `dpo-${tag}`, 'privacy');
    await send('A', '/v1/track', { anonymousId: A.anonymousId, event: 'Product Viewed', timestamp: '2028-02-01T10:00:00Z' });
    await send('A', '/v1/identify', { userId: A.userId, anonymousId: A.anonymousId, timestamp: '2028-03-01T10:00:00Z', traits: { email: A.email, phone: A.phone, name: A.name } });
    await send('A', '/v1/track', { userId: A.userId, event: 'Order Completed', timestamp: '2028-04-01T10:00:00Z' });
    await send('B', '/v1/identify', { userId: B.userId, anonymousId: B.anonymousId, timestamp: '2030-05-10T10:00:00Z', traits: { email: B.email, phone: B.phone, name: B.name } });
    await send('B', '/v1/track', { userId: B.userId, event: 'Order Completed', timestamp: '2030-05-20T10:00:00Z' });
    const a = await srv.get(profilePath('email', A.email));
    assert.equal(a.status, 200, show(a));
    st.apid = a.json.id;
    assert.equal(Date.parse(a.json.last_seen), Date.parse('2028-04-01T10:00:00Z'), `A's last_seen: ${a.text}`);
    const b = await srv.get(profilePath('email', B.email));
    assert.equal(b.status, 200, show(b));
    st.bpid = b.json.id;
  })();
  return ready;
}

t('POST /v1/admin/retention erases the customer inactive since 2028 ({"erased":1}), keeps the 2030 one, and is audited', async () => {
  await setup();
  const before = (await sweeps()).filter((e) => e.action === 'retention_sweep').length;
  const r = await call(srv, 'POST', '/v1/admin/retention', privacyKey);
  assert.equal(r.status, 200, `retention: ${show(r)}`);
  assert.deepEqual(r.json, { erased: 1 }, `retention reply: ${r.text}`);
  await gone(A, st.apid, 'A after the sweep');
  const b = await srv.get(profilePath('email', B.email));
  assert.equal(b.status, 200, `B stays: ${show(b)}`);
  assert.equal(b.json.id, st.bpid);
  assert.equal(b.json.counts.total, 2);
  assert.equal(b.json.traits.name, B.name);
  const { events } = await getAllEvents(srv, 'user_id', B.userId);
  assert.equal(events.length, 2, "B's events stay");
  const entries = (await sweeps()).filter((e) => e.action === 'retention_sweep');
  assert.equal(entries.length, before + 1, `one retention_sweep audit entry: ${JSON.stringify(entries)}`);
  assert.ok(JSON.stringify(entries[entries.length - 1].detail).includes('1'), `the entry says how many: ${JSON.stringify(entries[entries.length - 1])}`);
  assert.equal(entries[entries.length - 1].role, 'privacy');
  const again = await call(srv, 'POST', '/v1/admin/retention', privacyKey);
  assert.deepEqual(again.json, { erased: 0 }, `a second sweep finds nothing: ${again.text}`);
});

t('the swept customer is erased like an erasure request: export 404, replays are dropped', async () => {
  await setup();
  const ex = await call(srv, 'GET', `/v1/privacy/export/${ident('email', A.email)}`, privacyKey);
  assert.equal(ex.status, 404, `export of the swept customer: ${show(ex)}`);
  for (const [p, body] of st.A) assertAccepted(await srv.ingest(p, body), `replay ${p}`);
  for (const [p, body] of st.A) assertAccepted(await srv.ingest(p, { ...body, messageId: messageId() }), `replay ${p} with a new messageId`);
  await gone(A, st.apid, 'A after replays');
});

t('the sweep also runs at start: a customer inactive since 2028 is erased after a restart, and that sweep is audited', async () => {
  await setup();
  const D = person('d');
  assertAccepted(await srv.ingest('/v1/identify', { userId: D.userId, anonymousId: D.anonymousId, timestamp: '2028-01-01T00:00:00Z', traits: { email: D.email, phone: D.phone } }), 'identify D');
  const d = await srv.get(profilePath('email', D.email));
  assert.equal(d.status, 200, show(d));
  const n0 = (await sweeps()).length;
  const s0 = (await sweeps()).filter((e) => ['retention_sweep', 'erase'].includes(e.action)).length;
  assertCleanExit(await srv.stop());
  await srv.restart();
  await eventually(async () => {
    const r = await srv.get(profilePath('email', D.email));
    assert.equal(r.status, 404, `D after a restart: ${show(r)}`);
  }, { timeoutMs: 15_000, intervalMs: 200 });
  await gone(D, d.json.id, 'D after the start sweep');
  assert.equal((await srv.get(profilePath('email', B.email))).status, 200, 'B stays');
  const all = await sweeps();
  const s1 = all.filter((e) => ['retention_sweep', 'erase'].includes(e.action)).length;
  assert.ok(s1 > s0, `docs/PRIVACY.md: the audit log has a line per erasure and retention sweep; the sweep at start erased ${d.json.id} but added none (entries ${n0} -> ${all.length}; last: ${JSON.stringify(all.slice(-3))})`);
});

t('{"inactive_for": "1d"} overrides the period; bad bodies answer 400', async () => {
  await setup();
  for (const body of ['{"inactive_for": ', { inactive_for: 'soon' }, { inactive_for: 5 }]) {
    const r = await call(srv, 'POST', '/v1/admin/retention', privacyKey, body);
    assert.equal(r.status, 400, `retention with ${JSON.stringify(body)}: ${show(r)}`);
    assertError(r, 400, r.json?.error, 'retention bad body');
  }
  assert.equal((await srv.get(profilePath('email', B.email))).status, 200, 'bad requests erased nobody');
  const r = await call(srv, 'POST', '/v1/admin/retention', privacyKey, { inactive_for: '1d' });
  assert.equal(r.status, 200, show(r));
  assert.deepEqual(r.json, { erased: 1 }, `B (last seen 2030-05-20) is inactive for more than a day on ${NOW}: ${r.text}`);
  await gone(B, st.bpid, 'B after inactive_for 1d');
  assertCleanExit(await srv.stop());
});
