// Consent and preferences (docs/PRIVACY.md "Consent"): set by a "Consent Updated" track (single
// and map form), identify traits.consent, context.consent.categoryPreferences and
// PUT /v1/profiles/{id}/consent; the profile's `consents` holds the current state with updated_at
// and source; the latest event time wins (a late, older event does not override) and a refusal
// wins a tie; the export's consent_history lists every change with its previous value.
import assert from 'node:assert/strict';
import { test, before, after } from 'node:test';
import { startServer, assertCleanExit, annotate } from './lib/server.mjs';
import { assertAccepted, assertError, assertSameInstant, messageId, profilePath, ident, uid } from './lib/api.mjs';
import { call, show, createKey } from './lib/privacy.mjs';

let srv;
before(async () => { srv = await startServer(); }, { timeout: 40_000 });
after(async () => { await srv?.cleanup(); }, { timeout: 45_000 });
function t(name, fn) {
  return test(name, { timeout: 55_000 }, async () => {
    if (!srv) throw new Error('server did not start (see the before hook)');
    try { await fn(); } catch (e) { throw annotate(e, srv); }
  });
}

const tag = uid();
const keys = {};
let ready;
function setup() {
  ready ??= (async () => {
    for (const r of ['agent', 'privacy', 'marketing']) keys[r] = await createKey(srv, `${r}-${tag}`, r);
  })();
  return ready;
}
const H = 3600_000;
const iso = (ms) => new Date(ms).toISOString();
const T0 = Date.now();

async function consents(userId, key = srv.adminKey) {
  const r = await call(srv, 'GET', profilePath('user_id', userId), key);
  assert.equal(r.status, 200, show(r));
  assert.ok(r.json.consents && typeof r.json.consents === 'object', `profile has no consents object: ${r.text}`);
  return r.json.consents;
}
async function history(userId) {
  const r = await call(srv, 'GET', `/v1/privacy/export/${ident('user_id', userId)}`, keys.privacy);
  assert.equal(r.status, 200, show(r));
  assert.ok(Array.isArray(r.json.consent_history), `export has no consent_history: ${r.text.slice(0, 800)}`);
  return r.json.consent_history;
}
function assertConsent(c, key, granted, at, source, what) {
  assert.ok(c[key], `${what}: consents.${key} missing: ${JSON.stringify(c)}`);
  assert.equal(c[key].granted, granted, `${what}: consents.${key}.granted: ${JSON.stringify(c[key])}`);
  if (at) assertSameInstant(c[key].updated_at, at, `${what}: consents.${key}.updated_at`);
  if (source) assert.equal(c[key].source, source, `${what}: consents.${key}.source`);
  else assert.ok(typeof c[key].source === 'string' && c[key].source.length > 0, `${what}: consents.${key}.source must be a non-empty string: ${JSON.stringify(c[key])}`);
}

t('every way to set consent: Consent Updated (single and map), identify traits.consent, context.consent.categoryPreferences, PUT', async () => {
  await setup();
  const u = `cons-${tag}`;
  assertAccepted(await srv.ingest('/v1/identify', { userId: u, timestamp: iso(T0 - 10 * H), traits: { plan: 'basic' } }), 'identify');
  const t1 = iso(T0 - 9 * H);
  assertAccepted(await srv.ingest('/v1/track', {
    userId: u, event: 'Consent Updated', timestamp: t1, properties: { channel: 'email', granted: false, source: 'footer' },
  }), 'single form');
  const t2 = iso(T0 - 8 * H);
  assertAccepted(await srv.ingest('/v1/track', {
    userId: u, event: 'Consent Updated', timestamp: t2, properties: { consents: { sms: true, marketing: false }, source: 'prefs-page' },
  }), 'map form');
  const t3 = iso(T0 - 7 * H);
  assertAccepted(await srv.ingest('/v1/identify', { userId: u, timestamp: t3, traits: { consent: { push: true, analytics: true } } }), 'identify traits.consent');
  const t4 = iso(T0 - 6 * H);
  assertAccepted(await srv.ingest('/v1/page', {
    userId: u, name: 'Home', timestamp: t4, context: { consent: { categoryPreferences: { personalisation: true, advertising: false } } },
  }), 'context.consent.categoryPreferences');
  let c = await consents(u);
  assertConsent(c, 'email', false, t1, 'footer', 'single form');
  assertConsent(c, 'sms', true, t2, 'prefs-page', 'map form');
  assertConsent(c, 'marketing', false, t2, 'prefs-page', 'map form');
  assertConsent(c, 'push', true, t3, null, 'identify');
  assertConsent(c, 'analytics', true, t3, null, 'identify');
  assertConsent(c, 'personalisation', true, t4, null, 'categoryPreferences');
  assertConsent(c, 'advertising', false, t4, null, 'categoryPreferences (another lower-case name is kept)');

  // PUT, single form (agent) and map form (privacy)
  const p1 = await call(srv, 'PUT', profilePath('user_id', u, '/consent'), keys.agent, { channel: 'phone', granted: true, source: 'call-centre' });
  assert.equal(p1.status, 200, `PUT single form: ${show(p1)}`);
  const p2 = await call(srv, 'PUT', profilePath('user_id', u, '/consent'), keys.privacy, { consents: { email: true, sms: false } });
  assert.equal(p2.status, 200, `PUT map form: ${show(p2)}`);
  c = await consents(u);
  assertConsent(c, 'phone', true, null, 'call-centre', 'PUT single');
  assertConsent(c, 'email', true, null, null, 'PUT map (newer than the footer refusal)');
  assertConsent(c, 'sms', false, null, null, 'PUT map');
  assert.ok(Date.parse(c.email.updated_at) >= T0 - 60_000, `a PUT is stamped now: ${c.email.updated_at}`);
  // the other roles see the same consents (marketing: no personal fields, but consents)
  for (const r of ['agent', 'marketing']) assert.deepEqual(await consents(u, keys[r]), c, `${r} sees the consents`);

  // history: every change with time, source and previous value
  const h = await history(u);
  const of = (k) => h.filter((x) => x.key === k);
  assert.deepEqual(of('email').map((x) => [x.granted, x.previous]), [[false, null], [true, false]], `email history: ${JSON.stringify(of('email'))}`);
  assert.equal(of('email')[0].source, 'footer', 'history keeps the source');
  assertSameInstant(of('email')[0].at, t1, 'history time of the footer refusal');
  assert.deepEqual(of('sms').map((x) => [x.granted, x.previous]), [[true, null], [false, true]], `sms history: ${JSON.stringify(of('sms'))}`);
  for (const k of ['marketing', 'push', 'analytics', 'personalisation', 'advertising', 'phone']) {
    assert.equal(of(k).length, 1, `history of ${k}: ${JSON.stringify(h)}`);
    assert.equal(of(k)[0].previous, null, `first ${k} change has no previous value`);
  }
});

t('a late event with an older timestamp does not override a newer consent; the history still records it', async () => {
  await setup();
  const u = `late-${tag}`;
  const tNew = iso(T0 - 1 * H), tOld = iso(T0 - 30 * H);
  assertAccepted(await srv.ingest('/v1/track', { userId: u, event: 'Consent Updated', timestamp: tNew, properties: { channel: 'email', granted: true, source: 'new' } }), 'newer');
  assertAccepted(await srv.ingest('/v1/track', { userId: u, event: 'Consent Updated', timestamp: tOld, properties: { channel: 'email', granted: false, source: 'old' } }), 'late, older');
  assertAccepted(await srv.ingest('/v1/identify', { userId: u, timestamp: iso(T0 - 31 * H), traits: { consent: { email: false } } }), 'late identify');
  const c = await consents(u);
  assertConsent(c, 'email', true, tNew, 'new', 'the newer grant stays');
  const h = (await history(u)).filter((x) => x.key === 'email');
  assert.ok(h.some((x) => x.granted === true && x.source === 'new'), `history has the grant: ${JSON.stringify(h)}`);
  assert.ok(h.some((x) => x.granted === false && x.source === 'old'), `history has the late refusal: ${JSON.stringify(h)}`);
  // a PUT (now) is newer than both
  const p = await call(srv, 'PUT', profilePath('user_id', u, '/consent'), keys.agent, { channel: 'email', granted: false });
  assert.equal(p.status, 200, show(p));
  assert.equal(p.json?.consents?.email?.granted, false, `PUT answers the new state: ${p.text}`);
  assertConsent(await consents(u), 'email', false, null, null, 'after the PUT');
});

t('a refusal wins a tie (same event time), whatever the order of arrival', async () => {
  await setup();
  const at = iso(T0 - 2 * H);
  for (const order of [[true, false], [false, true]]) {
    const u = `tie-${order.join('-')}-${tag}`;
    for (const g of order) {
      assertAccepted(await srv.ingest('/v1/track', { userId: u, event: 'Consent Updated', timestamp: at, messageId: messageId(), properties: { channel: 'sms', granted: g } }), 'tie');
    }
    assertConsent(await consents(u), 'sms', false, at, null, `tie, arrival order ${order}`);
  }
});

t('bad PUT bodies answer 400 and change nothing; an unknown customer 404', async () => {
  await setup();
  const u = `bad-${tag}`;
  assertAccepted(await srv.ingest('/v1/track', { userId: u, event: 'Consent Updated', properties: { channel: 'email', granted: true } }), 'seed');
  const before = await consents(u);
  const p = profilePath('user_id', u, '/consent');
  const bodies = [
    ['not JSON', '{"channel": "email", "granted": '],
    ['an array', '[]'],
    ['an empty object', '{}'],
    ['no granted', { channel: 'email' }],
    ['granted not a bool', { channel: 'email', granted: 'yes' }],
    ['channel not a string', { channel: 5, granted: true }],
    ['a bad channel name', { channel: 'e mail!', granted: true }],
    ['consents not an object', { consents: 'email' }],
  ];
  const problems = [];
  for (const [what, body] of bodies) {
    const r = await call(srv, 'PUT', p, keys.agent, body);
    try { assertError(r, 400, r.json?.error, `PUT ${what}`); } catch (e) { problems.push(`PUT consent with ${what} (${typeof body === 'string' ? body : JSON.stringify(body)}): expected 400 with an error body, got ${show(r)}`); }
  }
  assert.deepEqual(problems, [], problems.join('\n'));
  assert.deepEqual(await consents(u), before, 'bad PUTs changed nothing');
  const nf = await call(srv, 'PUT', profilePath('user_id', `nobody-${tag}`, '/consent'), keys.agent, { channel: 'email', granted: true });
  assertError(nf, 404, 'profile_not_found', 'PUT consent of an unknown customer');
  assertCleanExit(await srv.stop());
});
