// Bulk history with `c360 load` (docs/SOURCES.md): CSV and NDJSON records through a mapping from
// a local file, an http URL (a tiny node server on 127.0.0.1) and S3 (s3rver on 127.0.0.1 with
// a temp dir; objects uploaded with PUT), gzipped (recognised by content, not name) or not;
// Segment NDJSON from S3 with nothing but the AWS_* variables (the quick start); requests signed
// with AWS Signature V4, checked by an endpoint that verifies the signature itself (s3rver does
// not); resume after kill -9 mid-load (finished objects are skipped, every event stored once,
// profiles equal a clean load's); and history loaded after live events giving the same profile as
// in-time arrival.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, createHmac } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { test, before, after } from 'node:test';
import S3rver from 's3rver';
import { startServer, assertCleanExit, assertNoSanitizerReport, C360_BIN, SANITIZER_ENV } from './lib/server.mjs';
import { assertAccepted, getAllEvents, getProfile, messageId } from './lib/api.mjs';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'c360-bulk-'));
const servers = [];
let s3 = null, s3url = '', web = null, weburl = '';
const cfg = path.join(tmp, 'c360.yaml');
fs.writeFileSync(cfg, `
load_checkpoint: 0
mappings:
  user_activity:
    event:
      field: action
      values: {view: Product Viewed, add: Product Added, remove: Product Removed}
    identifiers: {user_id: user_id}
    time: {field: event_time, format: "%Y-%m-%d %H:%M:%S"}
    properties:
      product_id: product_id
  user_purchases:
    event: Order Completed
    identifiers: {user_id: user_id}
    time: {field: event_time, format: epoch_ms}
    message_id: {field: purchase_id, prefix: 'purchase-'}
    properties:
      revenue: {field: amount, as: number}
      products: {field: item_ids, each: product_id}
      card_type: card_type
  customers:
    type: identify
    identifiers: {user_id: user_id, email: email}
    time: {field: updated_at, format: iso8601}
    traits:
      plan: plan
      name: name
`);

const AWS = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1' };

before(async () => {
  s3 = new S3rver({ port: 0, address: '127.0.0.1', directory: path.join(tmp, 's3'), silent: true, configureBuckets: [{ name: 'hist' }] });
  const a = await s3.run();
  s3url = `http://127.0.0.1:${a.port}`;
  web = http.createServer((req, res) => {
    const f = path.join(tmp, 'www', path.basename(req.url));
    if (!fs.existsSync(f)) { res.writeHead(404); res.end('no'); return; }
    const body = fs.readFileSync(f);
    res.writeHead(200, { 'content-length': body.length, etag: `"${createHash('md5').update(body).digest('hex')}"` });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  await new Promise((r) => web.listen(0, '127.0.0.1', r));
  weburl = `http://127.0.0.1:${web.address().port}`;
  fs.mkdirSync(path.join(tmp, 'www'));
});

after(async () => {
  for (const s of servers) await s.cleanup?.();
  await s3?.close();
  await new Promise((r) => (web ? web.close(r) : r()));
  fs.rmSync(tmp, { recursive: true, force: true });
});

async function put(key, body) {
  const r = await fetch(`${s3url}/hist/${key}`, { method: 'PUT', body, headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } });
  assert.equal(r.status, 200, `PUT ${key}: ${r.status} ${await r.text()}`);
}

// Runs `c360 load`; resolves {code, signal, err}. killAfterMs: SIGKILL then.
function load(args, { env = {}, killAfterMs } = {}) {
  return new Promise((resolve) => {
    const p = spawn(C360_BIN, ['load', ...args], { env: { ...process.env, ...SANITIZER_ENV, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d) => { err += d; });
    let timer = null;
    if (killAfterMs !== undefined) timer = setTimeout(() => p.kill('SIGKILL'), killAfterMs);
    p.on('exit', (code, signal) => {
      if (timer) clearTimeout(timer);
      if (signal !== 'SIGKILL') assertNoSanitizerReport(err, 'c360 load');
      resolve({ code, signal, err });
    });
  });
}

async function serve(dataDir) {
  const s = await startServer({ dataDir });
  servers.push(s);
  return s;
}

const pad = (n) => String(n).padStart(2, '0');
const sqlTime = (ms) => { const d = new Date(ms); return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`; };
const T0 = Date.UTC(2025, 0, 1);
const ACTIONS = ['view', 'add', 'remove'];
const NAMES = { view: 'Product Viewed', add: 'Product Added', remove: 'Product Removed' };

// activity rows: [user, product, action, time]; deterministic
function activity(prefix, users, perUser, offset = 0) {
  const rows = [];
  for (let u = 0; u < users; u++)
    for (let i = 0; i < perUser; i++)
      rows.push({ user_id: `${prefix}${u}`, product_id: `p-${(u * 7 + i) % 50}`, action: ACTIONS[(u + i) % 3], event_time: sqlTime(T0 + (offset + i) * 3600_000 + u * 1000) });
  return rows;
}
const toCsv = (rows) => 'user_id,product_id,action,event_time\n' + rows.map((r) => `${r.user_id},${r.product_id},${r.action},${r.event_time}`).join('\n') + '\n';
const toNdjson = (rows) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
const expectCounts = (rows) => {
  const m = new Map();
  for (const r of rows) {
    const c = m.get(r.user_id) || {};
    c[NAMES[r.action]] = (c[NAMES[r.action]] || 0) + 1;
    m.set(r.user_id, c);
  }
  return m;
};

// a profile without what legitimately differs between two stores built from the same events
function comparable(p) {
  const c = structuredClone(p);
  delete c.id;
  delete c.merged_profiles;
  for (const i of c.identities || []) delete i.event;
  c.identities?.sort((a, b) => (a.type + a.value).localeCompare(b.type + b.value));
  // features that by definition depend on arrival (late events) or on the reading clock
  if (c.features) { delete c.features.late_events; delete c.features.time_since_last_event_s; }
  return c;
}

test('local CSV file with a mapping (quoted fields, a bad row reported by line, rerun skips the finished file)', { timeout: 120_000 }, async () => {
  const dir = path.join(tmp, 'local');
  const rows = activity('loc', 5, 6);
  let csv = toCsv(rows);
  csv += 'loc0,"p-""quoted"", with comma",view,2025-02-01 00:00:00\n';
  csv += 'loc0,p-x,explode,2025-02-01 00:00:00\n';   // line 33: action not in the table
  const file = path.join(tmp, 'activity.csv');
  fs.writeFileSync(file, csv);
  const r = await load(['--data-dir', dir, '--config', cfg, '--mapping', 'user_activity', file]);
  assert.equal(r.code, 1, `a bad row makes the exit status 1: ${r.err}`);
  assert.match(r.err, /line 33: .*explode/);
  assert.match(r.err, /31 events loaded/);
  const again = await load(['--data-dir', dir, '--config', cfg, '--mapping', 'user_activity', file]);
  assert.equal(again.code, 0, again.err);
  assert.match(again.err, /skipping 1 of 1 objects/);
  const srv = await serve(dir);
  const want = expectCounts(rows);
  want.get('loc0')['Product Viewed'] += 1;
  for (const [u, counts] of want) {
    const p = await getProfile(srv, 'user_id', u);
    assert.deepEqual(p.counts.by_event, counts, `${u}`);
  }
  const { events } = await getAllEvents(srv, 'user_id', 'loc0');
  assert.equal(events[0].properties.product_id, 'p-"quoted", with comma');
  assert.equal(events[0].timestamp, '2025-02-01T00:00:00.000Z');
  assertCleanExit(await srv.stop());
});

test('a place longer than a messageId (a deep path): records without an id load, and load once', { timeout: 120_000 }, async () => {
  const dir = path.join(tmp, 'deep');
  const deep = path.join(tmp, 'd'.repeat(120), 'e'.repeat(150));   // "FILE#LINE" is over 256 bytes
  fs.mkdirSync(deep, { recursive: true });
  const seg = path.join(deep, 'seg.ndjson'), rec = path.join(deep, 'rec.ndjson');
  fs.writeFileSync(seg, toNdjson([1, 2, 3].map((i) => ({ type: 'track', event: 'Deep', userId: 'deep1', timestamp: new Date(T0 + i).toISOString() }))));
  fs.writeFileSync(rec, toNdjson(activity('deep', 1, 4)));
  for (const force of [[], ['--force']]) {
    const a = await load(['--data-dir', dir, ...force, seg]);
    assert.equal(a.code, 0, a.err);
    assert.match(a.err, force.length ? /0 events loaded.*3 duplicates skipped/ : /3 events loaded/);
    const b = await load(['--data-dir', dir, '--config', cfg, '--mapping', 'user_activity', ...force, rec]);
    assert.equal(b.code, 0, b.err);
    assert.match(b.err, force.length ? /0 events loaded.*4 duplicates skipped/ : /4 events loaded/);
  }
});

test('an http URL: NDJSON records through a mapping; a missing URL fails clearly', { timeout: 120_000 }, async () => {
  const dir = path.join(tmp, 'url');
  const recs = [];
  for (let i = 0; i < 40; i++)
    recs.push({ purchase_id: 1000 + i, user_id: `web${i % 4}`, amount: (i + 1) * 2.5, item_ids: [`p-${i}`, `p-${i + 1}`], card_type: i % 2 ? 'visa' : 'amex', event_time: T0 + i * 60_000 });
  fs.writeFileSync(path.join(tmp, 'www', 'purchases.ndjson'), toNdjson(recs));
  const r = await load(['--data-dir', dir, '--config', cfg, '--mapping', 'user_purchases', `${weburl}/purchases.ndjson`]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.err, /40 events loaded/);
  const miss = await load(['--data-dir', dir, '--config', cfg, '--mapping', 'user_purchases', `${weburl}/nothing.ndjson`]);
  assert.notEqual(miss.code, 0);
  assert.match(miss.err, /nothing\.ndjson.*404/);
  const srv = await serve(dir);
  const p = await getProfile(srv, 'user_id', 'web1');
  assert.equal(p.counts.by_event['Order Completed'], 10);
  const { events } = await getAllEvents(srv, 'user_id', 'web1');
  const e = events.find((x) => x.messageId === 'purchase-1001');
  assert.deepEqual(e.properties, { revenue: 5, products: [{ product_id: 'p-1' }, { product_id: 'p-2' }], card_type: 'visa' });
  assertCleanExit(await srv.stop());
});

test('gzip objects (file, URL, S3; named .gz or not; concatenated members); truncated gzip fails clearly and is loaded once fixed', { timeout: 120_000 }, async () => {
  const dir = path.join(tmp, 'gz');
  const rows = activity('gz', 4, 25);   // 100 rows
  // a CSV file through a mapping, compressed in two members (as `cat a.gz b.gz` or Segment's archive writes)
  const csv = toCsv(rows), cut = csv.indexOf('\n', csv.length >> 1) + 1;
  const csvFile = path.join(tmp, 'activity.csv.gz');
  fs.writeFileSync(csvFile, Buffer.concat([zlib.gzipSync(csv.slice(0, cut)), zlib.gzipSync(csv.slice(cut))]));
  const a = await load(['--data-dir', dir, '--config', cfg, '--mapping', 'user_activity', csvFile]);
  assert.equal(a.code, 0, a.err);
  assert.match(a.err, /100 events loaded/, 'name.csv.gz is CSV, both members read');
  // Segment NDJSON from a URL and from S3, gzipped
  const seg = (u, n, from) => Array.from({ length: n }, (_, i) => ({ type: 'track', event: 'Zipped', userId: u, messageId: `${u}-${from + i}`,
    timestamp: new Date(T0 + (from + i) * 1000).toISOString() }));
  fs.writeFileSync(path.join(tmp, 'www', 'day.ndjson.gz'), zlib.gzipSync(toNdjson(seg('gzweb', 30, 0))));
  const b = await load(['--data-dir', dir, `${weburl}/day.ndjson.gz`]);
  assert.equal(b.code, 0, b.err);
  assert.match(b.err, /30 events loaded/);
  await put('zipped/day-1.ndjson.gz', zlib.gzipSync(toNdjson(seg('gzs3', 20, 0))));
  // compression is recognised by content: an S3 object and a file whose names do not say gzip
  await put('zipped/day-2', zlib.gzipSync(toNdjson(seg('gzs3b', 15, 0))));
  const c = await load(['--data-dir', dir, 's3://hist/zipped/'], { env: { ...AWS, AWS_ENDPOINT_URL: s3url } });
  assert.equal(c.code, 0, c.err);
  assert.match(c.err, /35 events loaded/);
  const unnamed = path.join(tmp, 'unnamed.ndjson');
  fs.writeFileSync(unnamed, zlib.gzipSync(toNdjson(seg('gzfile', 12, 0))));
  const d = await load(['--data-dir', dir, unnamed]);
  assert.equal(d.code, 0, d.err);
  assert.match(d.err, /12 events loaded/);
  // truncated: a clear error, exit 1, the object not finished; the whole file loads once fixed
  const whole = zlib.gzipSync(toNdjson(seg('gztr', 500, 0)));
  const trFile = path.join(tmp, 'cut.ndjson.gz');
  fs.writeFileSync(trFile, whole.subarray(0, whole.length >> 1));
  const t = await load(['--data-dir', dir, trFile]);
  assert.equal(t.code, 1, t.err);
  assert.match(t.err, /cut\.ndjson\.gz: the gzip data is truncated/);
  assert.match(t.err, /0 of 1 objects finished/);
  fs.writeFileSync(trFile, whole);
  const t2 = await load(['--data-dir', dir, trFile]);
  assert.equal(t2.code, 0, t2.err);
  assert.match(t2.err, /1 of 1 objects finished/);
  const srv = await serve(dir);
  for (const [u, counts] of expectCounts(rows)) assert.deepEqual((await getProfile(srv, 'user_id', u)).counts.by_event, counts, u);
  assert.equal((await getProfile(srv, 'user_id', 'gzweb')).counts.total, 30);
  assert.equal((await getProfile(srv, 'user_id', 'gzs3')).counts.total, 20);
  assert.equal((await getProfile(srv, 'user_id', 'gzs3b')).counts.total, 15);
  assert.equal((await getProfile(srv, 'user_id', 'gzfile')).counts.total, 12);
  assert.equal((await getProfile(srv, 'user_id', 'gztr')).counts.total, 500, 'each event of the fixed file once');
  assertCleanExit(await srv.stop());
});

test('S3 (s3rver): CSV and NDJSON objects under a prefix with a mapping; Segment NDJSON with only AWS_* variables', { timeout: 120_000 }, async () => {
  const dir = path.join(tmp, 's3load');
  const a = activity('s3u', 4, 5), b = activity('s3u', 4, 5, 100);
  await put('activity/2025/part-000.csv', toCsv(a));
  await put('activity/2025/part-001.ndjson', toNdjson(b));
  await put('activityX/not-me.csv', toCsv(activity('zzz', 1, 1)));
  const seg = [];
  for (let i = 0; i < 12; i++) seg.push({ type: 'track', event: 'Signed In', userId: `s3u${i % 4}`, messageId: `seg-${i}`, timestamp: new Date(T0 + i * 1000).toISOString() });
  seg.push({ type: 'identify', userId: 's3u0', traits: { email: 'S3U0@example.com' }, messageId: 'seg-id', timestamp: new Date(T0).toISOString() });
  seg.push({ type: 'track', event: 'Signed Out', userId: 's3u1', timestamp: new Date(T0 + 99_000).toISOString() });   // no messageId
  seg.push({ type: 'track', event: 'Signed Out', userId: 's3x2', messageId: '', timestamp: new Date(T0 + 99_000).toISOString() });   // an empty one
  seg.push({ type: 'track', event: 'Signed Out', userId: 's3x3', properties: { messageId: 'inner' }, timestamp: new Date(T0 + 99_000).toISOString() });   // one only inside properties
  await put('segment/day-1.ndjson', toNdjson(seg));
  const env = { ...AWS, AWS_ENDPOINT_URL: s3url };
  const r = await load(['--data-dir', dir, '--config', cfg, '--mapping', 'user_activity', 's3://hist/activity/'], { env });
  assert.equal(r.code, 0, r.err);
  assert.match(r.err, /40 events loaded.*2 of 2 objects finished/);
  const q = await load(['--data-dir', dir, 's3://hist/segment'], { env });   // the quick start: no config, no mapping
  assert.equal(q.code, 0, q.err);
  assert.match(q.err, /16 events loaded/);
  const forced = await load(['--data-dir', dir, '--force', 's3://hist/segment'], { env });
  assert.equal(forced.code, 0, forced.err);
  assert.match(forced.err, /0 events loaded.*16 duplicates skipped/,
    'an event without a messageId (absent, empty, or only inside properties) gets a stable one (URI#line)');
  const again = await load(['--data-dir', dir, '--config', cfg, '--mapping', 'user_activity', 's3://hist/activity/'], { env });
  assert.equal(again.code, 0, again.err);
  assert.match(again.err, /skipping 2 of 2 objects/);
  const srv = await serve(dir);
  const want = expectCounts([...a, ...b]);
  for (const [u, counts] of want) {
    const p = await getProfile(srv, 'user_id', u);
    assert.deepEqual(p.counts.by_event, { ...counts, 'Signed In': 3, ...(u === 's3u1' ? { 'Signed Out': 1 } : {}) }, u);
  }
  const p = await getProfile(srv, 'email', 's3u0@example.com');
  assert.ok(p.identities.some((i) => i.type === 'user_id' && i.value === 's3u0'));
  const none = await srv.get('/v1/profiles/user_id:zzz0');
  assert.equal(none.status, 404, 'objects outside the prefix are not loaded');
  assertCleanExit(await srv.stop());
});

test('S3 requests carry a valid AWS Signature V4 (checked by an endpoint that verifies it)', { timeout: 60_000 }, async () => {
  const secret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
  const seen = [];
  const hmac = (k, s) => createHmac('sha256', k).update(s).digest();
  const sha = (s) => createHash('sha256').update(s).digest('hex');
  const body = toNdjson([{ type: 'track', event: 'Signed', userId: 'sig1', messageId: 'sig-1', timestamp: new Date(T0).toISOString() }]);
  const srv = http.createServer((req, res) => {
    const auth = req.headers.authorization || '';
    const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/s3\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(auth);
    let ok = false;
    if (m && req.headers['x-amz-content-sha256'] === sha('')) {
      const [, akid, date, region, signed, sig] = m;
      const u = new URL(req.url, 'http://x');
      const q = [...u.searchParams].map(([k, v]) => [encodeURIComponent(k), encodeURIComponent(v)]).sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0)).map(([k, v]) => `${k}=${v}`).join('&');
      const canonHeaders = signed.split(';').map((h) => `${h}:${String(req.headers[h]).trim()}\n`).join('');
      const canon = [req.method, u.pathname, q, canonHeaders, signed, req.headers['x-amz-content-sha256']].join('\n');
      const scope = `${date}/${region}/s3/aws4_request`;
      const sts = ['AWS4-HMAC-SHA256', req.headers['x-amz-date'], scope, sha(canon)].join('\n');
      const key = hmac(hmac(hmac(hmac('AWS4' + secret, date), region), 's3'), 'aws4_request');
      ok = akid === 'AKIDEXAMPLE' && region === 'eu-central-1' && createHmac('sha256', key).update(sts).digest('hex') === sig;
    }
    seen.push({ url: req.url, ok });
    if (!ok) { res.writeHead(403); res.end('<Error><Code>SignatureDoesNotMatch</Code></Error>'); return; }
    if (req.url.includes('list-type=2')) {
      res.writeHead(200, { 'content-type': 'application/xml' });
      res.end(`<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>in/a b+c&amp;d.ndjson</Key><Size>${body.length}</Size><ETag>&quot;e1&quot;</ETag></Contents></ListBucketResult>`);
    } else {
      res.writeHead(200);
      res.end(body);
    }
  });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  try {
    const env = { AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: secret, AWS_REGION: 'eu-central-1', AWS_ENDPOINT_URL: `http://127.0.0.1:${srv.address().port}/` };
    const r = await load(['--data-dir', path.join(tmp, 'sig'), 's3://bk/in/'], { env });
    assert.equal(r.code, 0, `${r.err}\n${JSON.stringify(seen)}`);
    assert.equal(seen.length, 2, JSON.stringify(seen));
    assert.ok(seen.every((s) => s.ok), JSON.stringify(seen));
    assert.match(seen[1].url, /^\/bk\/in\/a%20b%2Bc%26d\.ndjson$/);
  } finally {
    await new Promise((r) => srv.close(r));
  }
});

test('kill -9 during an S3 load: the rerun skips the objects made durable (load_checkpoint), every event once, profiles equal a clean load', { timeout: 600_000 }, async () => {
  const OBJECTS = 10, USERS = 30, PER = 40;
  const all = [];
  for (let o = 0; o < OBJECTS; o++) {
    const rows = activity('big', USERS, PER, o * PER);
    all.push(...rows);
    await put(`big/part-${pad(o)}.csv`, toCsv(rows));
  }
  const env = { ...AWS, AWS_ENDPOINT_URL: s3url };
  const args = (dir) => ['--data-dir', dir, '--config', cfg, '--mapping', 'user_activity', 's3://hist/big/'];
  const clean = path.join(tmp, 'big-clean');
  const t0 = Date.now();
  const rc = await load(args(clean), { env });
  const took = Date.now() - t0;
  assert.equal(rc.code, 0, rc.err);
  let resumed = 0;
  const dirs = [];
  for (const frac of [0.5, 0.7, 0.85, 0.3]) {
    const dir = path.join(tmp, `big-kill-${frac}`);
    const k = await load(args(dir), { env, killAfterMs: Math.floor(took * frac) });
    if (k.signal !== 'SIGKILL') continue;   // finished before the kill
    const r = await load(args(dir), { env });
    assert.equal(r.code, 0, r.err);
    const m = /skipping (\d+) of (\d+) objects/.exec(r.err);
    if (m && Number(m[1]) > 0 && Number(m[1]) < OBJECTS) resumed++;
    dirs.push(dir);
    if (resumed) break;
  }
  assert.ok(resumed > 0, `no kill landed between two finished objects (clean load took ${took} ms)`);
  // the load writes no write-ahead log: with checkpoints an hour apart, a kill loses every finished
  // object (nothing was flushed), and the rerun loads them all again, each event once
  const cfgLate = path.join(tmp, 'c360-late.yaml');
  fs.writeFileSync(cfgLate, fs.readFileSync(cfg, 'utf8').replace('load_checkpoint: 0', 'load_checkpoint: 1h'));
  const late = path.join(tmp, 'big-kill-late');
  const lateArgs = ['--data-dir', late, '--config', cfgLate, '--mapping', 'user_activity', 's3://hist/big/'];
  const t1 = Date.now();
  assert.equal((await load(lateArgs, { env })).code, 0);
  const tookLate = Date.now() - t1;
  let lost = false;
  for (const frac of [0.7, 0.5, 0.85, 0.3]) {
    fs.rmSync(late, { recursive: true, force: true });
    const k = await load(lateArgs, { env, killAfterMs: Math.floor(tookLate * frac) });
    if (k.signal !== 'SIGKILL') continue;
    const r = await load(lateArgs, { env });
    assert.equal(r.code, 0, r.err);
    if (r.err.includes(`skipping ${OBJECTS} of ${OBJECTS}`)) continue;   // killed while closing, after the final flush
    assert.doesNotMatch(r.err, /skipping/, 'no object was durable before the kill');
    lost = true;
    break;
  }
  assert.ok(lost, `no kill landed before the end (the load took ${tookLate} ms)`);
  const a = await serve(clean);
  const want = expectCounts(all);
  for (const dir of [dirs[dirs.length - 1], late]) {
    const b = await serve(dir);
    for (let u = 0; u < USERS; u += 3) {
      const user = `big${u}`;
      const [pa, pb] = [await getProfile(a, 'user_id', user), await getProfile(b, 'user_id', user)];
      assert.deepEqual(pa.counts.by_event, want.get(user), `${user} clean`);
      assert.deepEqual(comparable(pb), comparable(pa), `${user} after kill -9 and resume (${path.basename(dir)})`);
      const { events } = await getAllEvents(b, 'user_id', user);
      assert.equal(events.length, OBJECTS * PER, `${user}: every event exactly once (${path.basename(dir)})`);
      assert.equal(new Set(events.map((e) => e.messageId)).size, events.length);
    }
    assertCleanExit(await b.stop());
  }
  assertCleanExit(await a.stop());
});

test('history loaded after live events gives the same profile as in-time arrival', { timeout: 180_000 }, async () => {
  // history: identifies with older traits, activity before the live period
  const hist = path.join(tmp, 'hist-customers.csv');
  fs.writeFileSync(hist, 'user_id,email,plan,name,updated_at\n' +
    'h1,h1@example.com,silver,Hana,2025-01-01T00:00:00Z\n' +
    'h1,,bronze,,2024-06-01T00:00:00Z\n' +
    'h2,h2@example.com,gold,Hal,2025-03-01T00:00:00Z\n');
  const histAct = path.join(tmp, 'hist-activity.csv');
  fs.writeFileSync(histAct, toCsv(activity('h', 3, 8)));
  const live = [
    ['/v1/identify', { userId: 'h1', traits: { plan: 'platinum' }, timestamp: '2026-01-01T00:00:00Z' }],
    ['/v1/track', { userId: 'h1', event: 'Product Viewed', properties: { product_id: 'p-live' }, timestamp: '2026-01-02T00:00:00Z' }],
    ['/v1/identify', { userId: 'h2', traits: { name: 'Hal Jr' }, timestamp: '2024-01-01T00:00:00Z' }],
    ['/v1/track', { userId: 'h2', event: 'Order Completed', properties: { revenue: 10 }, timestamp: '2026-01-03T00:00:00Z' }],
  ].map(([p, b]) => [p, { ...b, messageId: messageId() }]);
  const loadHistory = async (dir) => {
    for (const [m, f] of [['customers', hist], ['user_activity', histAct]]) {
      const r = await load(['--data-dir', dir, '--config', cfg, '--mapping', m, f]);
      assert.equal(r.code, 0, r.err);
    }
  };
  const sendLive = async (srv) => { for (const [p, b] of live) assertAccepted(await srv.ingest(p, b), p); };

  const inTime = path.join(tmp, 'in-time');
  await loadHistory(inTime);
  let s = await serve(inTime);
  await sendLive(s);
  assertCleanExit(await s.stop());

  const late = path.join(tmp, 'late');
  s = await serve(late);
  await sendLive(s);
  assertCleanExit(await s.stop());
  await loadHistory(late);

  const a = await serve(inTime), b = await serve(late);
  for (const u of ['h0', 'h1', 'h2']) {
    const [pa, pb] = [await getProfile(a, 'user_id', u), await getProfile(b, 'user_id', u)];
    assert.deepEqual(comparable(pb), comparable(pa), `${u}: history after live vs in time`);
  }
  const p1 = await getProfile(b, 'user_id', 'h1');
  assert.equal(p1.traits.plan, 'platinum');
  assert.equal(p1.traits.name, 'Hana');
  const p2 = await getProfile(b, 'user_id', 'h2');
  assert.equal(p2.traits.name, 'Hal', 'the live identify was older than the history');
  assert.equal(p2.first_seen, '2024-01-01T00:00:00.000Z');
  assertCleanExit(await a.stop());
  assertCleanExit(await b.stop());
});
