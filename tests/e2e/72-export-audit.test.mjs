// Subject access export and the audit log (docs/PRIVACY.md "Audit log", "A privacy officer, step
// by step"): the export of a known customer holds their identities, traits, every event, consent
// history, merges and who looked at them; GET /v1/audit?subject= lists the reads, reveals and the
// export with key names and roles; the hash chain verifies, and `c360 audit verify` names the
// line where audit.log was modified, a line removed or inserted.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test, before, after } from 'node:test';
import { startServer, assertCleanExit, annotate, eventually } from './lib/server.mjs';
import { assertAccepted, messageId, profilePath, ident, uid } from './lib/api.mjs';
import { call, show, createKey, runCli, cliShow, person } from './lib/privacy.mjs';

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
const K = person('k');      // the subject
const O = person('o');      // someone else
const names = { agent: `agent-ann-${tag}`, privacy: `dpo-${tag}` };
const keys = {};
const mids = [];
const st = {};

let ready;
function setup() {
  ready ??= (async () => {
    keys.agent = await createKey(srv, names.agent, 'agent');
    keys.privacy = await createKey(srv, names.privacy, 'privacy');
    const at = (h) => new Date(Date.now() - h * 3600_000).toISOString();
    const send = async (p, body) => {
      body.messageId = messageId();
      mids.push(body.messageId);
      assertAccepted(await srv.ingest(p, body), `${p} ${body.event || ''}`);
    };
    await send('/v1/identify', { userId: K.userId, timestamp: at(5), traits: { email: K.email, phone: K.phone, name: K.name, plan: 'gold' } });
    await send('/v1/track', { anonymousId: K.anonymousId, timestamp: at(4), event: 'Product Viewed', properties: { sku: 'S1' } });
    const anon = await srv.get(profilePath('anonymous_id', K.anonymousId));
    assert.equal(anon.status, 200, show(anon));
    st.anonPid = anon.json.id;
    await send('/v1/identify', { userId: K.userId, anonymousId: K.anonymousId, timestamp: at(3) });
    await send('/v1/track', { userId: K.userId, timestamp: at(2), event: 'Consent Updated', properties: { channel: 'email', granted: false, source: 'footer' } });
    await send('/v1/track', { userId: K.userId, timestamp: at(1), event: 'Order Completed', properties: { total: 99 } });
    const p = await srv.get(profilePath('user_id', K.userId));
    assert.equal(p.status, 200, show(p));
    st.pid = p.json.id;
    assertAccepted(await srv.ingest('/v1/identify', { userId: O.userId, traits: { email: O.email, name: O.name } }), 'identify O');
    const o = await srv.get(profilePath('user_id', O.userId));
    st.opid = o.json.id;
    // the looks that the export and the audit must show
    const r1 = await call(srv, 'GET', profilePath('email', K.email), keys.agent);
    assert.equal(r1.status, 200, `agent read: ${show(r1)}`);
    const r2 = await call(srv, 'GET', profilePath('user_id', K.userId, '/events') + '?reveal=email', keys.agent);
    assert.equal(r2.status, 200, `agent reveal: ${show(r2)}`);
    const r3 = await call(srv, 'GET', profilePath('user_id', O.userId), keys.agent);
    assert.equal(r3.status, 200, `agent read of O: ${show(r3)}`);
    // a read's audit line may be written just after its answer (only erasures, exports and key
    // changes are promised before): wait until the looks are logged before exporting
    await eventually(async () => {
      const a = await call(srv, 'GET', '/v1/audit', keys.privacy);
      const mine = (a.json?.entries ?? []).filter((e) => e.key === names.agent);
      assert.equal(mine.length, 4, `agent's reads, reveal and read of O logged: ${a.text.slice(-1500)}`);
    }, { timeoutMs: 5000 });
  })();
  return ready;
}

t('export: one JSON document with identities, traits, every event, consent history, merges and who looked', async () => {
  await setup();
  const r = await call(srv, 'GET', `/v1/privacy/export/${ident('email', K.email)}`, keys.privacy);
  assert.equal(r.status, 200, `export: ${show(r)}`);
  assert.match(r.headers.get('content-type') || '', /application\/json/);
  const ex = r.json;
  assert.ok(ex && typeof ex === 'object', `export is not JSON: ${r.text.slice(0, 500)}`);
  const prof = ex.profile ?? ex;
  // identities and traits, unmasked
  const ids = (ex.identities ?? prof.identities ?? []).map((x) => `${x.type}:${x.value}`);
  for (const want of [`user_id:${K.userId}`, `email:${K.email}`, `anonymous_id:${K.anonymousId}`]) {
    assert.ok(ids.includes(want), `export identities lack ${want}: ${JSON.stringify(ids)}`);
  }
  assert.ok(ids.some((x) => x.startsWith('phone:') && x.includes(K.phoneDigits)), `export identities lack the phone: ${JSON.stringify(ids)}`);
  const traits = ex.traits ?? prof.traits;
  assert.deepEqual({ email: traits?.email, phone: traits?.phone, name: traits?.name, plan: traits?.plan },
    { email: K.email, phone: K.phone, name: K.name, plan: 'gold' }, 'export traits');
  // every event, complete
  assert.ok(Array.isArray(ex.events), `export has no events array: ${r.text.slice(0, 500)}`);
  assert.deepEqual(ex.events.map((e) => e.messageId).sort(), [...mids].sort(), 'export holds every event of the customer (the merged session too)');
  const idf = ex.events.find((e) => e.type === 'identify' && e.traits?.email);
  assert.equal(idf?.traits?.name, K.name, 'events are exported unmasked');
  // consents and their history
  const consents = ex.consents ?? prof.consents;
  assert.equal(consents?.email?.granted, false, `export consents: ${JSON.stringify(consents)}`);
  assert.ok(Array.isArray(ex.consent_history), `export has no consent_history: ${r.text.slice(0, 500)}`);
  const ch = ex.consent_history.find((c) => c.key === 'email' && c.granted === false);
  assert.ok(ch, `consent_history lacks the email refusal: ${JSON.stringify(ex.consent_history)}`);
  assert.equal(ch.source, 'footer');
  // merges
  assert.ok(Array.isArray(ex.merges), `export has no merges: ${r.text.slice(0, 500)}`);
  assert.ok(ex.merges.some((m) => m.merged_profile === st.anonPid), `export merges lack the session ${st.anonPid}: ${JSON.stringify(ex.merges)}`);
  // who looked
  const audit = ex.audit;
  assert.ok(Array.isArray(audit), `export has no audit array: ${r.text.slice(0, 500)}`);
  const agentRead = audit.find((a) => a.action === 'read' && a.key === names.agent);
  assert.ok(agentRead, `export audit lacks the agent's read: ${JSON.stringify(audit)}`);
  assert.equal(agentRead.role, 'agent');
  assert.equal(agentRead.subject, st.pid);
  assert.ok(audit.some((a) => a.action === 'reveal' && a.key === names.agent), `export audit lacks the agent's reveal: ${JSON.stringify(audit)}`);
  assert.ok(audit.every((a) => a.subject === st.pid), `export audit holds entries about someone else: ${JSON.stringify(audit.filter((a) => a.subject !== st.pid))}`);
  // nothing about anyone else
  assert.ok(!r.text.includes(O.email) && !r.text.includes(O.userId) && !r.text.includes(st.opid), 'the export holds data of another customer');
});

t('audit: GET /v1/audit?subject= lists the reads, the reveal and the export with key names and roles, no personal values', async () => {
  await setup();
  const ex = await call(srv, 'GET', `/v1/privacy/export/${ident('user_id', K.userId)}`, keys.privacy);
  assert.equal(ex.status, 200, show(ex));
  const a = await call(srv, 'GET', `/v1/audit?subject=${ident('email', K.email)}`, keys.privacy);
  assert.equal(a.status, 200, `audit: ${show(a)}`);
  const entries = a.json?.entries;
  assert.ok(Array.isArray(entries), `no entries: ${show(a)}`);
  assert.ok(entries.every((e) => e.subject === st.pid), `entries about other subjects: ${JSON.stringify(entries.filter((e) => e.subject !== st.pid))}`);
  const find = (action, key) => entries.filter((e) => e.action === action && e.key === key);
  const reads = find('read', names.agent);
  assert.equal(reads.length, 2, `two agent reads (profile, events): ${JSON.stringify(entries)}`);
  assert.ok(reads.every((e) => e.role === 'agent'));
  const rev = find('reveal', names.agent);
  assert.equal(rev.length, 1, `one reveal: ${JSON.stringify(entries)}`);
  assert.ok(JSON.stringify(rev[0].detail).includes('email'), `the reveal names the field: ${JSON.stringify(rev[0])}`);
  const exps = find('export', names.privacy);
  assert.ok(exps.length >= 1, `the export is audited with the privacy key's name: ${JSON.stringify(entries)}`);
  assert.equal(exps[0].role, 'privacy');
  for (const e of entries) {
    assert.ok(Number.isFinite(Date.parse(e.at)), `entry time: ${JSON.stringify(e)}`);
  }
  for (let i = 1; i < entries.length; i++) assert.ok(entries[i].seq > entries[i - 1].seq, 'entries in order');
  for (const v of [K.email, K.phone, K.phoneDigits, K.name, K.userId]) assert.ok(!a.text.includes(v), `the audit holds the personal value ${v}`);
  // the same list by another identifier of the same person
  const b = await call(srv, 'GET', `/v1/audit?subject=${ident('anonymous_id', K.anonymousId)}`, keys.privacy);
  assert.equal(b.status, 200, show(b));
  const seqs = (x) => x.filter((e) => e.seq <= entries[entries.length - 1].seq).map((e) => e.seq);
  assert.deepEqual(seqs(b.json.entries), seqs(entries), 'any identifier of the subject gives the same entries');
  // unknown subject
  const u = await call(srv, 'GET', `/v1/audit?subject=${ident('email', `nobody-${tag}@example.com`)}`, keys.privacy);
  assert.equal(u.status, 404, `audit of an unknown subject: ${show(u)}`);
  // key changes are in the log too
  const all = await call(srv, 'GET', '/v1/audit', keys.privacy);
  assert.equal(all.status, 200, show(all));
  const kc = all.json.entries.filter((e) => e.action === 'key_create');
  for (const n of Object.values(names)) {
    assert.ok(kc.some((e) => JSON.stringify(e.detail).includes(n) && e.role === 'admin'), `key_create of ${n} audited: ${JSON.stringify(kc)}`);
  }
});

t('audit chain: GET /v1/audit/verify is ok; `c360 audit verify` names a modified line, a removed line and an inserted line', async () => {
  await setup();
  const v = await call(srv, 'GET', '/v1/audit/verify', keys.privacy);
  assert.equal(v.status, 200, show(v));
  assert.equal(v.json?.ok, true, `chain intact: ${v.text}`);
  assert.ok(v.json.lines >= 8, `lines: ${v.text}`);
  assertCleanExit(await srv.stop());

  const log = path.join(srv.dataDir, 'audit.log');
  const original = fs.readFileSync(log);
  const lines = original.toString('utf8').split('\n').filter((l) => l !== '');
  assert.ok(lines.length >= 8, `audit.log has ${lines.length} lines`);
  const ok = await runCli(['audit', 'verify', '--data-dir', srv.dataDir]);
  assert.equal(ok.code, 0, `intact log: ${cliShow(ok)}`);

  const mid = Math.floor(lines.length / 2);           // 0-based; line number mid+1
  const lineNo = mid + 1;
  const namesLine = (r, n) => new RegExp(`line ${n}\\b`).test(r.stdout + r.stderr);

  // one byte of a middle line: a digit of its time
  {
    const offset = lines.slice(0, mid).reduce((a, l) => a + Buffer.byteLength(l) + 1, 0);
    const at = lines[mid].indexOf('"at":"') + 6 + 3;   // a digit of the year
    const buf = Buffer.from(original);
    const c = buf[offset + at];
    assert.ok(c >= 0x30 && c <= 0x39, `expected a digit at the chosen byte, got ${String.fromCharCode(c)}`);
    buf[offset + at] = 0x30 + ((c - 0x30 + 1) % 10);
    fs.writeFileSync(log, buf);
    const r = await runCli(['audit', 'verify', '--data-dir', srv.dataDir]);
    assert.notEqual(r.code, 0, `a modified byte must be detected: ${cliShow(r)}`);
    assert.ok(namesLine(r, lineNo), `the report must name line ${lineNo}: ${cliShow(r)}`);
    // the server's verify says the same
    await srv.restart();
    const sv = await call(srv, 'GET', '/v1/audit/verify', keys.privacy);
    assert.equal(sv.status, 200, show(sv));
    assert.equal(sv.json?.ok, false, `GET /v1/audit/verify on a modified log: ${sv.text}`);
    assert.equal(sv.json?.line, lineNo, `GET /v1/audit/verify names line ${lineNo}: ${sv.text}`);
    assertCleanExit(await srv.stop());
  }
  // a removed middle line
  {
    fs.writeFileSync(log, lines.filter((_, i) => i !== mid).join('\n') + '\n');
    const r = await runCli(['audit', 'verify', '--data-dir', srv.dataDir]);
    assert.notEqual(r.code, 0, `a removed line must be detected: ${cliShow(r)}`);
    assert.ok(namesLine(r, lineNo), `the report must name line ${lineNo}: ${cliShow(r)}`);
  }
  // an inserted line (a copy of the line before it)
  {
    const ins = [...lines.slice(0, mid), lines[mid - 1], ...lines.slice(mid)];
    fs.writeFileSync(log, ins.join('\n') + '\n');
    const r = await runCli(['audit', 'verify', '--data-dir', srv.dataDir]);
    assert.notEqual(r.code, 0, `an inserted line must be detected: ${cliShow(r)}`);
    assert.ok(namesLine(r, lineNo), `the report must name line ${lineNo}: ${cliShow(r)}`);
  }
  // restored, it verifies again
  fs.writeFileSync(log, original);
  const back = await runCli(['audit', 'verify', '--data-dir', srv.dataDir]);
  assert.equal(back.code, 0, `restored log: ${cliShow(back)}`);
});

t('audit chain: removing the last line (e.g. to hide the latest export) is detected too', async () => {
  await setup();
  if (srv.running) assertCleanExit(await srv.stop());
  const log = path.join(srv.dataDir, 'audit.log');
  const original = fs.readFileSync(log);
  const lines = original.toString('utf8').split('\n').filter((l) => l !== '');
  assert.ok(lines[lines.length - 1].includes('"action"'), 'the log has a last entry');
  try {
    fs.writeFileSync(log, lines.slice(0, -1).join('\n') + '\n');
    const r = await runCli(['audit', 'verify', '--data-dir', srv.dataDir]);
    assert.notEqual(r.code, 0, `docs/PRIVACY.md: "a modified, removed or inserted line breaks the chain"; removing the last of ${lines.length} lines went unnoticed: ${cliShow(r)}`);
  } finally {
    fs.writeFileSync(log, original);
  }
});
