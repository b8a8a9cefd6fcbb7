// Roles and field masking (docs/PRIVACY.md "Keys and roles", "Field-level policy").
// Keys for every role are made through POST /v1/keys and one through the real
// `c360 keys create --url`; every endpoint is called with every key (plus no key, a revoked key
// and a made-up key) and must answer the status the role table gives; then the bodies of
// /v1/profiles/{id}, /events and /identities are checked for each role's view of a customer with
// distinctive personal values.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { test, before, after } from 'node:test';
import { startServer, assertCleanExit, annotate, eventually, ADMIN_KEY, WRITE_KEY, basicAuth } from './lib/server.mjs';
import { assertAccepted, messageId, profilePath, ident, uid } from './lib/api.mjs';
import {
  ROLES, call, show, createKey, runCli, assertCliOk, person, scanDataDir, describeScan,
} from './lib/privacy.mjs';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'c360-roles-'));
let srv;
before(async () => { srv = await startServer(); }, { timeout: 40_000 });
after(async () => {
  await srv?.cleanup();
  fs.rmSync(tmp, { recursive: true, force: true });
}, { timeout: 45_000 });

function t(name, fn) {
  return test(name, { timeout: 55_000 }, async () => {
    if (!srv) throw new Error('server did not start (see the before hook)');
    try { await fn(); } catch (e) { throw annotate(e, srv); }
  });
}

const READERS = ['agent', 'fraud', 'marketing', 'privacy', 'admin'];
const SUBJECT = ['privacy', 'admin'];
const tag = uid();
const M = { userId: `matrix-${tag}` };           // the customer the matrix reads
const Z = person('m');                           // the customer whose masking is checked
const keys = {};                                 // role -> secret (made through POST /v1/keys)
const keyNames = {};                             // role -> name
let cliKey, cliKeyName;

let setupDone;
function setup() {
  setupDone ??= (async () => {
    for (const role of ROLES) {
      keyNames[role] = `${role}-${tag}`;
      keys[role] = await createKey(srv, keyNames[role], role);
    }
    assertAccepted(await srv.ingest('/v1/identify', { userId: M.userId, traits: { plan: 'basic' } }), 'identify M');
  })();
  return setupDone;
}

t('keys for every role through POST /v1/keys and `c360 keys create --url`; GET /v1/keys and `keys list` show names and roles, never a secret', async () => {
  await setup();
  const secrets = Object.values(keys);
  assert.equal(new Set(secrets).size, ROLES.length, 'every key is different');

  cliKeyName = `cli-agent-${tag}`;
  const r = await runCli(['keys', 'create', '--url', srv.url, '--admin-key', ADMIN_KEY, '--role', 'agent', '--name', cliKeyName]);
  assertCliOk(r, 'c360 keys create --url');
  let out;
  try { out = JSON.parse(r.stdout.trim()); } catch { assert.fail(`c360 keys create printed no JSON: ${r.stdout}`); }
  assert.equal(out.name, cliKeyName);
  assert.equal(out.role, 'agent');
  assert.equal(typeof out.key, 'string');
  cliKey = out.key;
  // the CLI key works at once
  const probe = await call(srv, 'GET', profilePath('user_id', M.userId), cliKey);
  assert.equal(probe.status, 200, `CLI-made agent key on GET profile: ${show(probe)}`);

  const l2 = await runCli(['keys', 'list', '--url', srv.url, '--admin-key', ADMIN_KEY]);
  assertCliOk(l2, 'c360 keys list --url');
  assert.ok(l2.stdout.includes(cliKeyName) && l2.stdout.includes(keyNames.fraud), `keys list: ${l2.stdout}`);
  for (const s of [...secrets, cliKey]) assert.ok(!l2.stdout.includes(s), 'c360 keys list must not print a key secret');

  // an unknown role is refused
  const bad = await call(srv, 'POST', '/v1/keys', ADMIN_KEY, { name: `x-${tag}`, role: 'superuser' });
  assert.equal(bad.status, 400, `POST /v1/keys with role "superuser": ${show(bad)}`);

  // GET /v1/keys: a valid JSON document listing names and roles, no secrets
  const list = await call(srv, 'GET', '/v1/keys', ADMIN_KEY);
  assert.equal(list.status, 200, show(list));
  for (const s of [...secrets, cliKey]) assert.ok(!list.text.includes(s), 'GET /v1/keys must not show a key secret');
  assert.ok(list.json !== undefined, `GET /v1/keys: the body is not valid JSON: ${list.text}`);
  assert.ok(Array.isArray(list.json?.keys), `GET /v1/keys has no "keys" array: ${show(list)}`);
  for (const role of ROLES) {
    const k = list.json.keys.find((x) => x.name === keyNames[role]);
    assert.ok(k, `key ${keyNames[role]} missing from GET /v1/keys: ${show(list)}`);
    assert.equal(k.role, role, `role of ${keyNames[role]}`);
  }
  assert.ok(list.json.keys.some((x) => x.name === cliKeyName && x.role === 'agent'), `CLI key missing from GET /v1/keys: ${show(list)}`);
});

t('role matrix: every endpoint × every role, no key, a revoked key and a made-up key', async () => {
  await setup();
  if (!cliKey) {
    const r = await runCli(['keys', 'create', '--url', srv.url, '--admin-key', ADMIN_KEY, '--role', 'agent', '--name', `cli2-${tag}`]);
    assertCliOk(r, 'c360 keys create --url');
    cliKey = JSON.parse(r.stdout.trim()).key;
  }
  // a key that worked, then was revoked through the CLI
  const revokedName = `revoked-${tag}`;
  const revoked = await createKey(srv, revokedName, 'admin');
  const before = await call(srv, 'GET', '/v1/keys', revoked);
  assert.equal(before.status, 200, `the admin key works before it is revoked: ${show(before)}`);
  const rv = await runCli(['keys', 'revoke', '--url', srv.url, '--admin-key', ADMIN_KEY, revokedName]);
  assertCliOk(rv, 'c360 keys revoke --url');
  const madeUp = `c360_admin_${randomBytes(20).toString('hex')}`;

  const callers = [
    ...ROLES.map((role) => ({ who: `${role} key (POST /v1/keys)`, role, key: keys[role] })),
    { who: 'agent key (c360 keys create)', role: 'agent', key: cliKey },
    { who: 'quick-start --admin-key', role: 'admin', key: ADMIN_KEY },
    { who: 'quick-start --write-key', role: 'ingest', key: WRITE_KEY },
    { who: 'no key', role: null, key: null },
    { who: 'revoked key', role: null, key: revoked },
    { who: 'made-up key', role: null, key: madeUp },
  ];

  let n = 0;
  const mPath = (s = '') => profilePath('user_id', M.userId, s);
  const endpoints = [
    { name: 'POST /v1/track', allow: ['ingest', 'admin'],
      run: (key) => call(srv, 'POST', '/v1/track', key, { userId: M.userId, event: 'Matrix Probe', messageId: messageId() }) },
    { name: 'GET /v1/profiles/{id}', allow: READERS, run: (key) => call(srv, 'GET', mPath(), key) },
    { name: 'GET /v1/profiles/{id}/events', allow: READERS, run: (key) => call(srv, 'GET', mPath('/events'), key) },
    { name: 'GET /v1/profiles/{id}/identities', allow: READERS, run: (key) => call(srv, 'GET', mPath('/identities'), key) },
    { name: 'GET /v1/profiles/{id}/merges', allow: READERS, run: (key) => call(srv, 'GET', mPath('/merges'), key) },
    { name: 'PUT /v1/profiles/{id}/consent', allow: ['agent', 'privacy', 'admin'],
      run: (key) => call(srv, 'PUT', mPath('/consent'), key, { channel: 'sms', granted: true, source: 'matrix' }) },
    { name: 'GET /v1/audit', allow: SUBJECT, run: (key) => call(srv, 'GET', '/v1/audit?limit=5', key) },
    { name: 'GET /v1/audit/verify', allow: SUBJECT, run: (key) => call(srv, 'GET', '/v1/audit/verify', key) },
    { name: 'GET /v1/privacy/export/{id}', allow: SUBJECT,
      run: (key) => call(srv, 'GET', `/v1/privacy/export/${ident('user_id', M.userId)}`, key) },
    { name: 'POST /v1/privacy/erase', allow: SUBJECT,
      prepare: async () => {
        const u = `throwaway-${tag}-${n++}`;
        assertAccepted(await srv.ingest('/v1/identify', { userId: u, traits: { plan: 'x' } }), 'identify throwaway');
        return u;
      },
      run: (key, u) => call(srv, 'POST', '/v1/privacy/erase', key, { identifier: `user_id:${u}` }),
      check: async (res, u) => {
        const g = await srv.get(profilePath('user_id', u));
        const want = res.status === 200 ? 404 : 200;
        return g.status === want ? null : `after erase answered ${res.status}, GET the throwaway customer gave ${g.status}, expected ${want}`;
      } },
    { name: 'POST /v1/keys', allow: ['admin'],
      prepare: async () => `mx-${tag}-${n++}`,
      run: (key, name) => call(srv, 'POST', '/v1/keys', key, { name, role: 'admin' }),
      check: async (res, name) => {
        // by the name in the listing's text (GET /v1/keys is checked as JSON in the first test)
        const l = await call(srv, 'GET', '/v1/keys', ADMIN_KEY);
        const has = l.text.includes(`"${name}"`);
        return has === (res.status === 200) ? null : `after POST /v1/keys answered ${res.status}, key ${name} listed: ${has}`;
      } },
    { name: 'GET /v1/keys', allow: ['admin'], run: (key) => call(srv, 'GET', '/v1/keys', key) },
    { name: 'DELETE /v1/keys/{name}', allow: ['admin'],
      prepare: async () => {
        const name = `victim-${tag}-${n++}`;
        return { name, secret: await createKey(srv, name, 'agent') };
      },
      run: (key, v) => call(srv, 'DELETE', `/v1/keys/${v.name}`, key),
      check: async (res, v) => {
        const g = await call(srv, 'GET', mPath(), v.secret);
        const want = res.status === 200 ? 401 : 200;
        return g.status === want ? null : `after DELETE answered ${res.status}, the key ${v.name} gave ${g.status} on GET profile, expected ${want}`;
      } },
    { name: 'POST /v1/admin/backup', allow: ['admin'],
      prepare: async () => path.join(tmp, `backup-${n++}`),
      run: (key, dir) => call(srv, 'POST', '/v1/admin/backup', key, { dir }),
      check: async (res, dir) => {
        const made = fs.existsSync(dir);
        return made === (res.status === 200) ? null : `after backup answered ${res.status}, ${dir} exists: ${made}`;
      } },
    { name: 'POST /v1/admin/retention', allow: SUBJECT,
      run: (key) => call(srv, 'POST', '/v1/admin/retention', key, { inactive_for: '36500d' }),
      check: async (res) => (res.status !== 200 || res.json?.erased === 0 ? null : `retention with 100 years erased: ${res.text}`) },
    { name: 'GET /metrics', allow: ['admin'], run: (key) => call(srv, 'GET', '/metrics', key) },
  ];

  const problems = [];
  let calls = 0;
  for (const ep of endpoints) {
    for (const c of callers) {
      const arg = ep.prepare ? await ep.prepare() : undefined;
      const res = await ep.run(c.key, arg);
      calls++;
      const want = c.role === null ? 401 : ep.allow.includes(c.role) ? 200 : 403;
      const where = `${ep.name} as ${c.who}`;
      if (res.status !== want) {
        problems.push(`${where}: expected ${want}, got ${show(res)}`);
        continue;
      }
      if (want !== 200) {
        const code = want === 401 ? 'unauthorized' : 'forbidden';
        if (res.json?.error !== code) problems.push(`${where}: expected {"error":"${code}"}, got ${show(res)}`);
      }
      if (ep.check) {
        const p = await ep.check(res, arg);
        if (p) problems.push(`${where}: ${p}`);
      }
    }
  }
  // the endpoints open to everyone
  for (const p of ['/healthz', '/readyz']) {
    const r = await srv.request('GET', p);
    if (r.status !== 200) problems.push(`GET ${p} without a key: expected 200, got ${show(r)}`);
  }
  assert.equal(calls, endpoints.length * callers.length);
  assert.deepEqual(problems, [], `${problems.length} of ${calls} calls answered wrongly:\n${problems.join('\n')}`);
});

t('a key works as HTTP Basic user name as well as Bearer, with the same role', async () => {
  await setup();
  const g = await srv.request('GET', profilePath('user_id', M.userId), { auth: basicAuth(keys.marketing) });
  assert.equal(g.status, 200, `marketing key as Basic on GET profile: ${show(g)}`);
  const e = await srv.request('POST', '/v1/privacy/erase', { auth: basicAuth(keys.marketing), body: { identifier: `user_id:${M.userId}` } });
  assert.equal(e.status, 403, `marketing key as Basic on erase: ${show(e)}`);
  const i = await srv.request('POST', '/v1/track', { auth: basicAuth(keys.ingest), body: { userId: M.userId, event: 'Basic Probe' } });
  assertAccepted(i, 'ingest key as Basic on /v1/track');
});

// ---- masking --------------------------------------------------------------------------------

let zDone;
function ingestZ() {
  zDone ??= (async () => {
    await setup();
    assertAccepted(await srv.ingest('/v1/identify', {
      userId: Z.userId, messageId: messageId(),
      traits: { email: Z.email, phone: Z.phone, name: Z.name, address: Z.address, card_number: Z.card, note: Z.note, plan: 'platinum', orders: 3 },
    }), 'identify Z');
    assertAccepted(await srv.ingest('/v1/track', {
      userId: Z.userId, event: 'Order Completed', messageId: messageId(),
      properties: { card_number: Z.card, note: Z.note, total: 42.5, currency: 'EUR' },
    }), 'track Z');
  })();
  return zDone;
}

// every personal value of Z except the free-text note (which agents may see)
const contact = () => ({
  email: Z.email, emailLocal: Z.local, phone: Z.phone, phoneDigits: Z.phoneDigits, phoneNorm: Z.phoneNorm,
  name: Z.name, first: Z.first, last: Z.last, address: Z.address, card: Z.card,
});
function assertAbsent(text, what, values) {
  const found = Object.entries(values).filter(([, v]) => text.includes(v));
  assert.deepEqual(found.map(([k]) => k), [], `${what}: personal values visible: ${found.map(([k, v]) => `${k}=${v}`).join(', ')}\nbody: ${text.slice(0, 3000)}`);
}
const last4 = () => Z.phoneDigits.slice(-4);
function assertPhoneMasked(v, what) {
  assert.equal(typeof v, 'string', `${what}: expected a masked phone string, got ${JSON.stringify(v)}`);
  assert.ok(v.endsWith(last4()), `${what}: masked phone ${v} must end with the last 4 digits ${last4()}`);
  assert.equal(v.replace(/\D/g, ''), last4(), `${what}: masked phone ${v} must show no digit but the last 4`);
}
const maskedEmail = () => `${Z.email[0]}***@example.com`;
const maskedName = () => `${Z.first[0]}*** ${Z.last[0]}***`;
const idOf = (ids, type) => ids.filter((x) => x.type === type);
const gone = (obj, k) => !(k in obj) || obj[k] === null;

async function view(role, suffix = '', q = '') {
  const res = await call(srv, 'GET', profilePath('user_id', Z.userId, suffix) + q, keys[role]);
  assert.equal(res.status, 200, `GET profile${suffix}${q} as ${role}: ${show(res)}`);
  return res;
}

t('profile masking per role: agent partial, fraud fingerprints only, marketing nothing personal, privacy and admin everything', async () => {
  await ingestZ();
  // agent
  {
    const r = await view('agent');
    const tr = r.json.traits;
    assert.equal(tr.email, maskedEmail(), 'agent: email');
    assertPhoneMasked(tr.phone, 'agent: traits.phone');
    assert.equal(tr.name, maskedName(), 'agent: name');
    assert.equal(tr.address, '***', 'agent: address');
    assert.equal(tr.card_number, '***', 'agent: card_number');
    assert.equal(tr.note, Z.note, 'agent sees free text');
    assert.equal(tr.plan, 'platinum');
    assert.equal(tr.orders, 3);
    const em = idOf(r.json.identities, 'email');
    assert.equal(em.length, 1, `agent: one email identity: ${JSON.stringify(r.json.identities)}`);
    assert.equal(em[0].value, maskedEmail(), 'agent: email identity value');
    const ph = idOf(r.json.identities, 'phone');
    assert.equal(ph.length, 1, `agent: one phone identity: ${JSON.stringify(r.json.identities)}`);
    assertPhoneMasked(ph[0].value, 'agent: phone identity value');
    assert.equal(idOf(r.json.identities, 'user_id')[0]?.value, Z.userId, 'agent: user_id is not personal');
    assertAbsent(r.text, 'agent profile', contact());
  }
  // fraud
  let fp;
  {
    const r = await view('fraud');
    const tr = r.json.traits;
    for (const k of ['email', 'phone', 'name', 'address', 'note']) assert.ok(gone(tr, k), `fraud: traits.${k} must be removed, got ${JSON.stringify(tr[k])}`);
    assert.match(String(tr.card_number), /^fp:[0-9a-f]{8,}$/, 'fraud: card_number is a fingerprint');
    fp = tr.card_number;
    assert.equal(tr.plan, 'platinum');
    for (const x of [...idOf(r.json.identities, 'email'), ...idOf(r.json.identities, 'phone')]) {
      assert.ok(gone(x, 'value'), `fraud: identity ${x.type} must carry no value, got ${JSON.stringify(x)}`);
    }
    assertAbsent(r.text, 'fraud profile', { ...contact(), note: Z.note });
    const again = await view('fraud');
    assert.equal(again.json.traits.card_number, fp, 'the fingerprint is stable');
  }
  // marketing
  {
    const r = await view('marketing');
    assertAbsent(r.text, 'marketing profile', { ...contact(), note: Z.note });
    assert.ok(!r.text.includes('fp:'), 'marketing: no payment fingerprint either');
    assert.equal(r.json.traits.plan, 'platinum', 'marketing sees non-personal traits');
    assert.equal(r.json.traits.orders, 3);
    assert.equal(r.json.counts?.total, 2, `marketing sees counts: ${r.text}`);
    assert.equal(r.json.counts?.by_event?.['Order Completed'], 1);
    assert.equal(typeof r.json.consents, 'object', 'marketing sees consents');
  }
  // privacy and admin
  for (const role of ['privacy', 'admin']) {
    const r = await view(role);
    const tr = r.json.traits;
    assert.deepEqual(
      { email: tr.email, phone: tr.phone, name: tr.name, address: tr.address, card_number: tr.card_number, note: tr.note },
      { email: Z.email, phone: Z.phone, name: Z.name, address: Z.address, card_number: Z.card, note: Z.note }, `${role} sees everything`);
    assert.equal(idOf(r.json.identities, 'email')[0]?.value, Z.email, `${role}: email identity`);
    assert.ok(String(idOf(r.json.identities, 'phone')[0]?.value).includes(Z.phoneDigits), `${role}: phone identity ${JSON.stringify(r.json.identities)}`);
  }
});

t('masking applies to /events (the events carry the traits) and /identities', async () => {
  await ingestZ();
  const evs = async (role) => {
    const r = await view(role, '/events');
    const idf = r.json.events.find((e) => e.type === 'identify');
    const trk = r.json.events.find((e) => e.type === 'track' && e.event === 'Order Completed');
    assert.ok(idf && trk, `${role}: both events in the timeline: ${r.text.slice(0, 2000)}`);
    return { r, idf, trk };
  };
  {
    const { r, idf, trk } = await evs('agent');
    assert.equal(idf.traits.email, maskedEmail(), 'agent events: email');
    assertPhoneMasked(idf.traits.phone, 'agent events: phone');
    assert.equal(idf.traits.name, maskedName(), 'agent events: name');
    assert.equal(idf.traits.address, '***');
    assert.equal(idf.traits.card_number, '***');
    assert.equal(trk.properties.card_number, '***', 'agent events: card in properties');
    assert.equal(trk.properties.note, Z.note, 'agent events: free text shown');
    assert.equal(trk.properties.total, 42.5);
    assertAbsent(r.text, 'agent events', contact());
  }
  {
    const prof = await view('fraud');
    const { r, idf, trk } = await evs('fraud');
    for (const k of ['email', 'phone', 'name', 'address', 'note']) assert.ok(gone(idf.traits, k), `fraud events: traits.${k} removed, got ${JSON.stringify(idf.traits[k])}`);
    assert.equal(idf.traits.card_number, prof.json.traits.card_number, 'fraud events: same fingerprint as the profile');
    assert.equal(trk.properties.card_number, prof.json.traits.card_number, 'fraud events: same fingerprint in properties');
    assert.ok(gone(trk.properties, 'note'), 'fraud events: note removed');
    assertAbsent(r.text, 'fraud events', { ...contact(), note: Z.note });
  }
  {
    const { r, trk } = await evs('marketing');
    assert.equal(trk.properties.total, 42.5, 'marketing sees behaviour');
    assertAbsent(r.text, 'marketing events', { ...contact(), note: Z.note });
  }
  for (const role of ['privacy', 'admin']) {
    const { idf, trk } = await evs(role);
    assert.equal(idf.traits.email, Z.email);
    assert.equal(idf.traits.name, Z.name);
    assert.equal(trk.properties.card_number, Z.card);
  }
  // identities
  {
    const r = await view('agent', '/identities');
    assert.equal(idOf(r.json.identities, 'email')[0]?.value, maskedEmail(), `agent identities: ${r.text}`);
    assertPhoneMasked(idOf(r.json.identities, 'phone')[0]?.value, 'agent identities: phone');
    assertAbsent(r.text, 'agent identities', contact());
  }
  for (const role of ['fraud', 'marketing']) {
    const r = await view(role, '/identities');
    assert.ok(r.json.identities.some((x) => x.type === 'user_id' && x.value === Z.userId), `${role} identities keep user_id: ${r.text}`);
    assertAbsent(r.text, `${role} identities`, contact());
  }
  {
    const r = await view('privacy', '/identities');
    assert.equal(idOf(r.json.identities, 'email')[0]?.value, Z.email, `privacy identities: ${r.text}`);
  }
});

t('agent ?reveal=email shows the full email and writes a "reveal" audit entry; other roles cannot reveal', async () => {
  await ingestZ();
  const audit = async () => {
    const a = await call(srv, 'GET', `/v1/audit?subject=${ident('user_id', Z.userId)}`, keys.privacy);
    assert.equal(a.status, 200, show(a));
    assert.ok(Array.isArray(a.json?.entries), `audit has no entries array: ${show(a)}`);
    return a.json.entries.filter((e) => e.action === 'reveal');
  };
  const before = await audit();
  const r = await view('agent', '', '?reveal=email');
  assert.equal(r.json.traits.email, Z.email, 'revealed email');
  assertPhoneMasked(r.json.traits.phone, 'phone stays masked when only email is revealed');
  assert.equal(r.json.traits.name, maskedName(), 'name stays masked');
  assert.equal(r.json.traits.card_number, '***', 'card stays masked');
  // a read's audit line may be written just after the answer (docs: only erasures, exports and
  // key changes are written before they are answered), so wait for it
  const after1 = await eventually(async () => {
    const a = await audit();
    assert.equal(a.length, before.length + 1, `one reveal entry per reveal: before ${before.length}, after ${a.length}`);
    return a;
  }, { timeoutMs: 5000 });
  const e = after1[after1.length - 1];
  assert.equal(e.key, keyNames.agent, `reveal entry names the key: ${JSON.stringify(e)}`);
  assert.equal(e.role, 'agent');
  assert.ok(JSON.stringify(e.detail ?? '').includes('email'), `reveal entry names the field class: ${JSON.stringify(e)}`);
  assert.ok(!JSON.stringify(e).includes(Z.email), 'the audit entry holds no personal value');

  const ev = await view('agent', '/events', '?reveal=phone,name');
  const idf = ev.json.events.find((x) => x.type === 'identify');
  assert.equal(idf.traits.phone, Z.phone, 'revealed phone in events');
  assert.equal(idf.traits.name, Z.name, 'revealed name in events');
  assert.equal(idf.traits.email, maskedEmail(), 'email masked when not revealed');
  await eventually(async () => {
    const a = await audit();
    assert.equal(a.length, before.length + 2, `the events reveal is audited too: before ${before.length}, after ${a.length}`);
  }, { timeoutMs: 5000 });

  const bad = await call(srv, 'GET', profilePath('user_id', Z.userId) + '?reveal=bogus', keys.agent);
  assert.equal(bad.status, 400, `reveal of an unknown class: ${show(bad)}`);
  for (const role of ['fraud', 'marketing']) {
    const x = await call(srv, 'GET', profilePath('user_id', Z.userId) + '?reveal=all', keys[role]);
    assert.notEqual(x.status, 200, `${role} with ?reveal=all must be refused, got ${show(x)}`);
    assertAbsent(x.text, `${role} ?reveal=all`, { ...contact(), note: Z.note });
  }
});

t('fraud and marketing never see an email sent as context.externalIds in an event', async () => {
  await setup();
  const X = person('x');
  assertAccepted(await srv.ingest('/v1/track', {
    userId: X.userId, event: 'Signed Up', messageId: messageId(),
    context: { externalIds: [{ id: X.email, type: 'email', collection: 'users', encoding: 'none' }] },
  }), 'track with externalIds');
  const problems = [];
  for (const role of ['agent', 'fraud', 'marketing']) {
    for (const sfx of ['', '/events', '/identities']) {
      const r = await call(srv, 'GET', profilePath('user_id', X.userId, sfx), keys[role]);
      if (r.status !== 200) { problems.push(`GET profile${sfx} as ${role}: ${show(r)}`); continue; }
      if (r.text.includes(X.email)) problems.push(`GET ${profilePath('user_id', X.userId, sfx)} as ${role} shows the email ${X.email}: ${r.text.slice(0, 1200)}`);
    }
  }
  assert.deepEqual(problems, [], problems.join('\n'));
});

t('keys are stored only as hashes: no key secret in any file of the data dir; graceful stop is clean', async () => {
  await setup();
  assertCleanExit(await srv.stop());
  const needles = Object.fromEntries(Object.entries(keys).map(([r, k]) => [`key:${r}`, k]));
  if (cliKey) needles['key:cli'] = cliKey;
  const s = scanDataDir(srv.dataDir, needles);
  assert.deepEqual(s.errors, [], describeScan(s));
  assert.deepEqual(s.hits, [], `key secrets found in the data dir:\n${describeScan(s)}`);
  // the names are stored (they are not secret): the scan can see what is there
  const names = scanDataDir(srv.dataDir, { name: keyNames.fraud });
  assert.ok(names.hits.length > 0, `the scan should find a key name in the data dir:\n${describeScan(names)}`);
});
