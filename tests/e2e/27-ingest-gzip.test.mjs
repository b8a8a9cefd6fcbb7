// Compressed request bodies (docs/API.md "Request bodies"): Segment's mobile and server libraries
// (iOS, Android, Java; Python with gzip=True) send batches with Content-Encoding: gzip. Sent here
// through fetch with Node's zlib, the way those libraries frame them: decoded and stored like a
// plain body (key in the header: decoded on the worker; writeKey in the body: before the key is
// looked for), zlib and raw deflate too; an unknown coding is 415, corrupt or truncated data 400,
// and a small body that decompresses past the batch limit 400 without the server's memory
// following it. Nothing of a refused body is stored.
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import { useServer, eventually, basicAuth, WRITE_KEY } from './lib/server.mjs';
import { assertAccepted, assertError, getProfile, messageId, uid, metricSum, parseProm } from './lib/api.mjs';

const fx = useServer();
const tag = uid();

function send(srv, path, buf, { coding = 'gzip', key = WRITE_KEY } = {}) {
  const headers = { 'content-type': 'application/json' };
  if (coding) headers['content-encoding'] = coding;
  return srv.request('POST', path, { body: buf, headers, auth: key ? basicAuth(key) : undefined });
}

async function absent(srv, type, value) {
  const r = await srv.get(`/v1/profiles/${type}:${encodeURIComponent(value)}`);
  assert.equal(r.status, 404, `${type}:${value} should not exist: HTTP ${r.status} ${r.text.slice(0, 300)}`);
}

fx.test('a gzipped batch with the key in the header: 200 and every event in the profile', async (srv) => {
  const u = `gz-batch-${tag}`;
  const batch = [
    { type: 'identify', userId: u, traits: { email: `GZ.${tag}@Example.com`, plan: 'gold' } },
    ...Array.from({ length: 40 }, (_, i) => ({ type: 'track', userId: u, event: 'Product Viewed', properties: { product_id: `p${i}` } })),
    { type: 'track', userId: u, event: 'Order Completed', properties: { order_id: `o-${tag}`, revenue: 42.5 } },
  ].map((e) => ({ ...e, messageId: messageId() }));
  const raw = Buffer.from(JSON.stringify({ batch, sentAt: new Date().toISOString() }));
  const gz = zlib.gzipSync(raw);
  assert.ok(gz.length < raw.length / 3, 'the body really is compressed');
  assertAccepted(await send(srv, '/v1/batch', gz), 'gzip batch');
  await eventually(async () => {
    const p = await getProfile(srv, 'email', `gz.${tag}@example.com`);
    assert.equal(p.counts?.total, 42, JSON.stringify(p.counts));
    assert.equal(p.traits?.plan, 'gold');
  });
});

fx.test('writeKey in a gzipped body authenticates (decoded before the key is looked for)', async (srv) => {
  const u = `gz-bodykey-${tag}`;
  const body = { writeKey: WRITE_KEY, userId: u, event: 'Body Key', messageId: messageId() };
  assertAccepted(await send(srv, '/v1/track', zlib.gzipSync(JSON.stringify(body)), { key: null }), 'gzip track, key in body');
  assertError(await send(srv, '/v1/track', zlib.gzipSync(JSON.stringify({ ...body, writeKey: 'nope' })), { key: null }),
    401, 'unauthorized', 'wrong key in a gzipped body');
  await eventually(async () => assert.equal((await getProfile(srv, 'user_id', u)).counts?.total, 1));
});

fx.test('deflate (zlib and raw), x-gzip and concatenated gzip members are decoded', async (srv) => {
  const ev = (name) => ({ userId: `gz-${name}-${tag}`, event: name, messageId: messageId() });
  const cases = [
    ['zlib', zlib.deflateSync(JSON.stringify(ev('zlib'))), 'deflate'],
    ['raw', zlib.deflateRawSync(JSON.stringify(ev('raw'))), 'deflate'],
    ['xgzip', zlib.gzipSync(JSON.stringify(ev('xgzip'))), 'x-gzip'],
  ];
  const s = JSON.stringify(ev('members'));
  cases.push(['members', Buffer.concat([zlib.gzipSync(s.slice(0, 10)), zlib.gzipSync(s.slice(10))]), 'GZIP']);
  for (const [name, buf, coding] of cases) assertAccepted(await send(srv, '/v1/track', buf, { coding }), name);
  await eventually(async () => {
    for (const [name] of cases) assert.equal((await getProfile(srv, 'user_id', `gz-${name}-${tag}`)).counts?.total, 1, name);
  });
});

fx.test('an unknown coding is 415, corrupt or truncated data 400; nothing is stored', async (srv) => {
  const u = `gz-bad-${tag}`;
  const plain = JSON.stringify({ userId: u, event: 'Never', messageId: messageId() });
  const gz = zlib.gzipSync(plain);
  assertError(await send(srv, '/v1/track', zlib.brotliCompressSync(plain), { coding: 'br' }), 415, 'unsupported_encoding', 'br');
  assertError(await send(srv, '/v1/track', gz, { coding: 'gzip, br' }), 415, 'unsupported_encoding', 'gzip, br');
  const r1 = assertError(await send(srv, '/v1/track', Buffer.from(plain)), 400, 'invalid_body', 'plain JSON labelled gzip');
  assert.match(r1.message, /gzip/);
  assertError(await send(srv, '/v1/track', gz.subarray(0, gz.length - 12)), 400, 'invalid_body', 'truncated');
  const flipped = Buffer.from(gz);
  flipped[flipped.length - 6] ^= 0xff;   // the CRC-32 of the trailer
  assertError(await send(srv, '/v1/track', flipped), 400, 'invalid_body', 'bad CRC');
  // the same, with the key in the body (decoded on the loop)
  assertError(await send(srv, '/v1/batch', Buffer.from('{"writeKey":"wk_test","batch":[]}'), { key: null }), 400, 'invalid_body',
    'plain JSON labelled gzip, key in body');
  await absent(srv, 'user_id', u);
});

fx.test('a small body that decompresses past the limit is refused, and the server stays small', async (srv) => {
  const u = `gz-bomb-${tag}`;
  // 64 MB of one repeated event in ~64 KB: a valid batch if it were decoded
  const one = JSON.stringify({ type: 'track', userId: u, event: 'Bomb', properties: { pad: 'x'.repeat(200) } });
  const inner = Buffer.from(`,${one}`.repeat(1 << 18));
  const bomb = zlib.gzipSync(Buffer.concat([Buffer.from(`{"batch":[${one}`), inner, Buffer.from(']}')]), { level: 9 });
  assert.ok(bomb.length < 1 << 20, `bomb is ${bomb.length} bytes`);
  const before = parseProm((await srv.get('/metrics')).text);
  for (const key of [WRITE_KEY, null]) {
    const body = key ? bomb : zlib.gzipSync(Buffer.concat([Buffer.from(`{"writeKey":"${WRITE_KEY}","batch":[${one}`), inner, Buffer.from(']}')]));
    const r = assertError(await send(srv, '/v1/batch', body, { key }), 400, 'batch_too_large', `bomb, key ${key ? 'in header' : 'in body'}`);
    assert.match(r.message, /512000 bytes/, 'names the limit');
  }
  // a single event's limit is the event limit
  const big = zlib.gzipSync(JSON.stringify({ userId: u, event: 'Big', properties: { pad: 'y'.repeat(40_000) } }));
  assertError(await send(srv, '/v1/track', big), 400, 'event_too_large', 'single event over 32 KB decoded');
  const after = parseProm((await srv.get('/metrics')).text);
  assert.equal(metricSum(after, 'c360_events_rejected_total') - metricSum(before, 'c360_events_rejected_total'), 3, 'each refusal counted once');
  await absent(srv, 'user_id', u);
  // the process did not grow by anything like the 64 MB the bombs decode to
  const rss = Number(/VmRSS:\s+(\d+)/.exec(await import('node:fs').then((fs) => fs.readFileSync(`/proc/${srv.proc.pid}/status`, 'utf8')))[1]);
  assert.ok(rss < 400 * 1024, `server RSS ${rss} KB`);
  // and it still takes plain bodies
  assertAccepted(await srv.ingest('/v1/track', { userId: `gz-after-${tag}`, event: 'After', messageId: messageId() }), 'plain after');
});

fx.test('other endpoints take compressed JSON bodies too (key creation; webhooks in 80-webhooks)', async (srv) => {
  const name = `gz-key-${tag}`;
  const r = await srv.request('POST', '/v1/keys', {
    body: zlib.gzipSync(JSON.stringify({ name, role: 'agent' })),
    headers: { 'content-encoding': 'gzip' },
    auth: `Bearer ${srv.adminKey}`,
  });
  assert.equal(r.status, 200, `POST /v1/keys gzip: ${r.status} ${r.text}`);
  assert.equal(r.json?.name, name);
  const list = await srv.get('/v1/keys');
  assert.ok(list.json?.keys?.some((k) => k.name === name) ?? list.text.includes(name), list.text.slice(0, 500));
  assertError(await srv.request('POST', '/v1/keys', {
    body: Buffer.from('{"name":"x","role":"agent"}'), headers: { 'content-encoding': 'gzip' }, auth: `Bearer ${srv.adminKey}`,
  }), 400, 'invalid_body', 'keys: plain JSON labelled gzip');
});
