// Crash safety of `c360 load`: kill -9 the loader at random moments, run it again on the same
// file until it completes; then every event of the file is stored exactly once and every profile
// equals the one a clean, uninterrupted load builds (ids and receivedAt aside).
//   C360_CRASH_ROUNDS   kill -9 rounds (default 5 in CI; the full proof run uses 100)
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test, after } from 'node:test';
import { startServer, assertCleanExit, C360_BIN, SANITIZER_ENV, sleep } from './lib/server.mjs';
import { getAllEvents, getProfile } from './lib/api.mjs';

const ROUNDS = Number(process.env.C360_CRASH_ROUNDS || 5);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'c360-crashload-'));
const servers = [];
after(async () => {
  for (const s of servers) await s.cleanup?.();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const env = { ...process.env, ...SANITIZER_ENV };

function load(dataDir, file, killAfterMs) {
  return new Promise((resolve) => {
    const p = spawn(C360_BIN, ['load', '--data-dir', dataDir, file], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d) => { err += d; });
    let timer = null;
    if (killAfterMs !== undefined) timer = setTimeout(() => p.kill('SIGKILL'), killAfterMs);
    p.on('exit', (code, signal) => { if (timer) clearTimeout(timer); resolve({ code, signal, err }); });
  });
}

// a profile without what legitimately differs between two stores built from the same events
function comparable(p) {
  const c = structuredClone(p);
  delete c.id;
  delete c.merged_profiles;
  for (const i of c.identities || []) delete i.event;
  c.identities?.sort((a, b) => (a.type + a.value).localeCompare(b.type + b.value));
  return c;
}

test(`kill -9 during c360 load, ${ROUNDS} rounds: every event once, profiles equal a clean load's`, { timeout: 600_000 }, async () => {
  const file = path.join(tmp, 'shop.ndjson');
  execFileSync(C360_BIN, ['gen-demo', '--customers', '600', '--days', '20', '-o', file], { env });
  const lines = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const byUser = new Map();
  for (const e of lines) if (e.userId) byUser.set(e.userId, true);
  const users = [...byUser.keys()].slice(0, 40);

  const clean = path.join(tmp, 'clean');
  const r0 = await load(clean, file);
  assert.equal(r0.code, 0, `clean load failed: ${r0.err}`);

  const crashed = path.join(tmp, 'crashed');
  let kills = 0;
  for (let round = 0; round < ROUNDS; round++) {
    // the first kill comes early enough to land mid-load even on an idle machine
    const r = await load(crashed, file, round === 0 ? 40 : 40 + Math.floor(Math.random() * 700));
    if (r.signal === 'SIGKILL') kills++;
    else assert.equal(r.code, 0, `load round ${round} failed: ${r.err}`);
  }
  const last = await load(crashed, file);
  assert.equal(last.code, 0, `final load failed: ${last.err}`);
  assert.ok(kills > 0, 'at least one load was killed mid-way');

  // one pinned clock for both readers: read-time values (time since the last event) must match
  const now = { C360_FAKE_NOW: new Date().toISOString() };
  const a = await startServer({ dataDir: clean, env: now });
  const b = await startServer({ dataDir: crashed, env: now });
  servers.push(a, b);
  for (const u of users) {
    const [pa, pb] = [await getProfile(a, 'user_id', u), await getProfile(b, 'user_id', u)];
    assert.deepEqual(comparable(pb), comparable(pa), `profile of ${u} differs after crashes`);
    const { events } = await getAllEvents(b, 'user_id', u);
    const seen = new Map();
    for (const e of events) seen.set(e.messageId, (seen.get(e.messageId) || 0) + 1);
    for (const [mid, n] of seen) assert.equal(n, 1, `${mid} stored ${n} times for ${u}`);
    assert.equal(events.length, pa.counts.total, `${u}: timeline length vs clean total`);
  }
  assertCleanExit(await a.stop());
  assertCleanExit(await b.stop());
});
