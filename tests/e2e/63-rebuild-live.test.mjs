// A rebuild while serving (docs/FEATURES.md, "Rebuild"): after a definition changes in the config
// file, POST /v1/admin/rebuild (or `c360 rebuild --url`) recomputes every customer's features
// from the stored events while reads keep showing the old values; events that arrive meanwhile
// are counted in the new values too; the switch happens when every customer is done, and the
// new values survive a restart. Small replay steps (C360_REBUILD_STEP_EVENTS) make the rebuild
// interleave with live ingest.
import assert from 'node:assert/strict';
import { test, after, before } from 'node:test';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer, assertCleanExit, C360_BIN, ADMIN_KEY, SANITIZER_ENV } from './lib/server.mjs';
import { assertAccepted, assertError, getProfile, isoAt, uid } from './lib/api.mjs';

const run = promisify(execFile);
const tag = uid();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'c360-rebuild-'));
const cfg = path.join(tmp, 'c360.yaml');
const CUSTOMERS = 200, VIEWS = 20;
const base = Date.now() - 3 * 86400000;
const users = Array.from({ length: CUSTOMERS }, (_, i) => `rb-${i}-${tag}`);
const sku = (n) => `sku-${n % 4}`;
const expected = new Map(users.map((u) => [u, 0]));   // views of sku-1 per customer
const liveViews = new Map(users.map((u) => [u, 0]));  // views sent during the rebuild
let srv;

const oldDefs = `
features:
  definitions:
    views_total: {agg: count, event: Product Viewed}
`;
const newDefs = `${oldDefs}    views_sku1: {agg: count, event: Product Viewed, where: 'properties.product_id == "sku-1"'}
`;

before(async () => {
  fs.writeFileSync(cfg, oldDefs);
  srv = await startServer({ args: ['--config', cfg], env: { C360_REBUILD_STEP_EVENTS: '25' } });
  for (let i = 0; i < CUSTOMERS; i += 20) {
    const batch = [];
    for (const u of users.slice(i, i + 20)) {
      for (let v = 0; v < VIEWS; v++) {
        const n = v + u.length;
        if (sku(n) === 'sku-1') expected.set(u, expected.get(u) + 1);
        batch.push({ type: 'track', userId: u, event: 'Product Viewed', timestamp: isoAt(base + v * 60_000),
          properties: { product_id: sku(n) } });
      }
    }
    assertAccepted(await srv.ingest('/v1/batch', { batch }));
  }
}, { timeout: 120_000 });
after(async () => {
  if (srv) await srv.cleanup();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const features = async (u) => (await getProfile(srv, 'user_id', u)).features;
const status = async () => (await srv.get('/v1/admin/rebuild')).json;

test('bad requests: wrong role, invalid definitions', async () => {
  assertError(await srv.request('POST', '/v1/admin/rebuild', { body: {}, auth: 'Bearer nope' }), 401, 'unauthorized');
  fs.writeFileSync(cfg, `${oldDefs}    broken: {agg: nonsense}\n`);
  const bad = await srv.request('POST', '/v1/admin/rebuild', { body: {}, auth: `Bearer ${ADMIN_KEY}` });
  assertError(bad, 400, 'invalid_parameter');
  assert.match(bad.json.message, /nonsense|agg/, bad.text);
  assert.equal((await status()).state, 'idle');
  assert.equal((await features(users[0])).views_total.value, VIEWS, 'the old values are untouched');
});

test('the server serves the old values until the rebuild is complete, then the new ones', { timeout: 120_000 }, async () => {
  fs.writeFileSync(cfg, newDefs);
  const gen0 = (await status()).generation;
  const started = await srv.request('POST', '/v1/admin/rebuild', { body: {}, auth: `Bearer ${ADMIN_KEY}` });
  assert.equal(started.status, 202, started.text);
  assert.equal(started.json.state, 'running');
  assertError(await srv.request('POST', '/v1/admin/rebuild', { body: {}, auth: `Bearer ${ADMIN_KEY}` }), 409, 'conflict');

  // while it runs: live events for every customer (some before, some after the replay reached
  // them), and reads that must still show the old definitions
  let sawOldWhileRunning = 0, live = 0;
  for (let round = 0; (await status()).state === 'running'; round++) {
    const u = users[(round * 37) % CUSTOMERS];
    assertAccepted(await srv.ingest('/v1/track', { userId: u, event: 'Product Viewed',
      timestamp: isoAt(base + 86400000 + round * 1000), properties: { product_id: 'sku-1' } }));
    expected.set(u, expected.get(u) + 1);
    liveViews.set(u, liveViews.get(u) + 1);
    live++;
    const f = await features(users[(round * 11) % CUSTOMERS]);
    if ((await status()).state === 'running') {
      assert.ok(!('views_sku1' in f), `a new feature showed before the rebuild was complete: ${JSON.stringify(f)}`);
      sawOldWhileRunning++;
    }
    assert.ok(round < 5000, 'the rebuild does not end');
  }
  const st = await status();
  assert.equal(st.state, 'done', JSON.stringify(st));
  assert.equal(st.generation, gen0 + 1);
  assert.ok(st.profiles >= CUSTOMERS && st.events >= CUSTOMERS * VIEWS, JSON.stringify(st));
  assert.ok(sawOldWhileRunning >= 3 && live >= 3, `the rebuild ended too fast to be observed (${sawOldWhileRunning} reads)`);
  for (const u of users) {
    const f = await features(u);
    assert.equal(f.views_sku1?.value, expected.get(u), `${u}: ${JSON.stringify(f)}`);
    assert.equal(f.views_total.value, VIEWS + liveViews.get(u), `${u}: ${JSON.stringify(f)}`);
  }
  // after the switch, new events keep counting on top of the rebuilt values
  assertAccepted(await srv.ingest('/v1/track', { userId: users[0], event: 'Product Viewed', properties: { product_id: 'sku-1' } }));
  expected.set(users[0], expected.get(users[0]) + 1);
  assert.equal((await features(users[0])).views_sku1.value, expected.get(users[0]));
});

test('the rebuilt values survive a restart; `c360 rebuild --url` follows a second rebuild', { timeout: 120_000 }, async () => {
  assertCleanExit(await srv.stop());
  await srv.restart();
  for (const u of users.slice(0, 20)) assert.equal((await features(u)).views_sku1.value, expected.get(u), u);
  const gen = (await status()).generation;
  const { stdout, stderr } = await run(C360_BIN, ['rebuild', '--url', srv.url, '--admin-key', ADMIN_KEY],
    { env: { ...process.env, ...SANITIZER_ENV } });
  assert.match(stderr, /the new values are live/);
  assert.equal(JSON.parse(stdout).state, 'done');
  assert.equal((await status()).generation, gen + 1);
  for (const u of users.slice(0, 20)) assert.equal((await features(u)).views_sku1.value, expected.get(u), u);
  // the offline form refuses a data dir in use and says what to do
  await assert.rejects(run(C360_BIN, ['rebuild', '--config', cfg, '--data-dir', srv.dataDir], { env: { ...process.env, ...SANITIZER_ENV } }),
    (e) => e.code === 1 && /use --url/.test(e.stderr));
  assertCleanExit(await srv.stop());
});
