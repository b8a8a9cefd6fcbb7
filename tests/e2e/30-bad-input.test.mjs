// Bad input of every kind gets the documented error, stores nothing, and never
// hurts the server (checked at the end: healthy, graceful stop, no sanitizer report).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { useServer, assertCleanExit, eventually, WRITE_KEY, ADMIN_KEY, basicAuth } from './lib/server.mjs';
import { assertAccepted, assertError, getProfile, profilePath, messageId, uid } from './lib/api.mjs';
import { rawExchange, statusCodes } from './lib/raw.mjs';

const fx = useServer();
const tag = uid();
const KB = 1024;

// Proves that earlier requests stored nothing for `users`: ingest a sentinel after them,
// wait until it is visible (so everything before it has been applied), then expect 404s.
async function assertNothingStored(srv, users) {
  const sentinel = `sentinel-${uid()}`;
  assertAccepted(await srv.ingest('/v1/track', { userId: sentinel, event: 'Sentinel', messageId: messageId() }));
  await eventually(() => getProfile(srv, 'user_id', sentinel));
  for (const u of users) {
    assertError(await srv.get(profilePath('user_id', u)), 404, 'profile_not_found', `user_id:${u} must not exist`);
  }
}

// ---- body encoding ------------------------------------------------------------

fx.test('malformed JSON -> 400 invalid_json naming the byte offset', async (srv) => {
  for (const body of ['{"userId": "x", "event": ', '{"userId": "x" "event": "y"}', '{userId: 1}', 'nope', '{"a":1}}']) {
    const e = assertError(await srv.ingest('/v1/track', body), 400, 'invalid_json', `body ${JSON.stringify(body)}`);
    assert.match(e.message, /\d/, `invalid_json message should name the byte offset: ${e.message}`);
  }
  assertError(await srv.ingest('/v1/batch', '{"batch":[{"type":"track",'), 400, 'invalid_json', 'truncated batch');
});

fx.test('empty body -> 400 invalid_json', async (srv) => {
  assertError(await srv.ingest('/v1/track', ''), 400, 'invalid_json');
});

fx.test('invalid UTF-8 -> 400 invalid_utf8', async (srv) => {
  const bad = [
    Buffer.from([0xff, 0xfe]),               // never valid
    Buffer.from([0xc0, 0xaf]),               // overlong "/"
    Buffer.from([0xed, 0xa0, 0x80]),         // UTF-16 surrogate D800
    Buffer.from([0xe2, 0x82]),               // truncated 3-byte sequence
    Buffer.from([0xf4, 0x90, 0x80, 0x80]),   // > U+10FFFF
  ];
  for (const b of bad) {
    const body = Buffer.concat([Buffer.from(`{"userId":"utf8-${tag}","event":"`), b, Buffer.from('"}')]);
    assertError(await srv.ingest('/v1/track', body), 400, 'invalid_utf8', `bytes ${b.toString('hex')}`);
  }
  await assertNothingStored(srv, [`utf8-${tag}`]);
});

fx.test('valid multi-byte UTF-8 and escapes are accepted and round-trip', async (srv) => {
  const u = `utf8ok-${tag}`;
  const name = 'Zoë 🚀 \u2028 "quoted" \\ 日本';
  assertAccepted(await srv.ingest('/v1/track', { userId: u, event: name, messageId: messageId() }));
  const p = await eventually(() => getProfile(srv, 'user_id', u));
  assert.deepEqual(p.counts.by_event, { [name]: 1 });
});

fx.test('an escaped NUL (\\u0000) anywhere in an event -> 400 invalid_event, nothing stored', async (srv) => {
  const u = `nul-${tag}`;
  for (const body of [
    { userId: u, event: 'a\u0000b' },
    { userId: u, event: 'X', properties: { note: 'x\u0000' } },
    { userId: `${u}\u0000evil`, event: 'X' },
  ]) {
    const e = assertError(await srv.ingest('/v1/track', body), 400, 'invalid_event', JSON.stringify(body));
    assert.match(e.message, /NUL/);
  }
  /* an escaped backslash followed by "u0000" is not a NUL */
  assertAccepted(await srv.ingest('/v1/track', { userId: u, event: 'back\\u0000slash', messageId: messageId() }));
  const p = await eventually(() => getProfile(srv, 'user_id', u));
  assert.deepEqual(p.counts.by_event, { 'back\\u0000slash': 1 });
});

// ---- event validation -----------------------------------------------------------

fx.test('wrong field types -> 400 invalid_event naming the field', async (srv) => {
  const u = `types-${tag}`;
  const cases = [
    ['/v1/track', { userId: {}, event: 'X' }, 'userId'],
    ['/v1/track', { anonymousId: [1], event: 'X' }, 'anonymousId'],
    ['/v1/track', { userId: u, event: 'X', properties: 'x' }, 'properties'],
    ['/v1/track', { userId: u, event: 5 }, 'event'],
    ['/v1/identify', { userId: u, traits: [1, 2] }, 'traits'],
    ['/v1/track', { userId: u, event: 'X', context: 'ctx' }, 'context'],
    ['/v1/track', { userId: u, event: 'X', timestamp: 12 }, 'timestamp'],
    ['/v1/track', { userId: u, event: 'X', timestamp: 'not a date' }, 'timestamp'],
    ['/v1/track', { userId: u, event: 'X', messageId: { id: 1 } }, 'messageId'],
  ];
  for (const [p, body, field] of cases) {
    const e = assertError(await srv.ingest(p, body), 400, 'invalid_event', `${p} ${JSON.stringify(body)}`);
    assert.ok(e.message.includes(field), `message should name "${field}": ${e.message}`);
  }
  await assertNothingStored(srv, [u]);
});

fx.test('missing identity -> 400 missing_identity', async (srv) => {
  const cases = [
    ['/v1/track', { event: 'No Id' }],
    ['/v1/identify', { traits: { email: `noid-${tag}@example.com` } }],
    ['/v1/page', { name: 'Home' }],
    ['/v1/alias', { userId: `alias-only-new-${tag}` }],
    ['/v1/alias', { previousId: `alias-only-old-${tag}` }],
    ['/v1/group', { userId: `group-nogid-${tag}` }],
    ['/v1/batch', { batch: [{ type: 'track', event: 'No Id' }] }],
  ];
  for (const [p, body] of cases) {
    const res = await srv.ingest(p, { ...body, messageId: messageId() });
    if (p === '/v1/batch') {
      const e = assertError(res, 400, 'invalid_batch', 'batch event without ids');
      assert.equal(e.errors?.[0]?.error, 'missing_identity', JSON.stringify(e));
    } else {
      assertError(res, 400, 'missing_identity', `${p} ${JSON.stringify(body)}`);
    }
  }
  await assertNothingStored(srv, [`alias-only-new-${tag}`, `group-nogid-${tag}`]);
});

fx.test('non-object bodies -> 400', async (srv) => {
  for (const body of ['[]', '"str"', '42', 'null']) {
    const res = await srv.ingest('/v1/track', body);
    assert.equal(res.status, 400, `body ${body}: ${res.status} ${res.text}`);
    assert.ok(['invalid_event', 'invalid_json'].includes(res.json?.error), `body ${body}: ${res.text}`);
    assert.equal(typeof res.json.message, 'string');
  }
  const res = await srv.ingest('/v1/batch', { batch: 'x' });
  assert.equal(res.status, 400, res.text);
  assert.ok(['invalid_event', 'invalid_batch'].includes(res.json?.error), res.text);
  assert.ok(res.json.message.includes('batch'), `message should name "batch": ${res.text}`);
});

fx.test('event over 32 KB -> 400 event_too_large mentioning the limit', async (srv) => {
  const u = `big-${tag}`;
  const e = assertError(await srv.ingest('/v1/track',
    { userId: u, event: 'Big', properties: { blob: 'x'.repeat(40 * KB) }, messageId: messageId() }), 400, 'event_too_large');
  assert.match(e.message, /32768|32\s?KB|32\s?KiB/i, `message should mention the 32 KB limit: ${e.message}`);
  // An event comfortably under the limit is fine.
  assertAccepted(await srv.ingest('/v1/track',
    { userId: `${u}-ok`, event: 'Fits', properties: { blob: 'x'.repeat(20 * KB) }, messageId: messageId() }));
  await assertNothingStored(srv, [u]);
});

fx.test('batch body over 500 KB -> 400 batch_too_large mentioning the limit; nothing stored', async (srv) => {
  const u = `bigbatch-${tag}`;
  // 24 events of ~25 KB each (each under the 32 KB event limit): ~600 KB.
  const batch = Array.from({ length: 24 }, (_, i) => ({
    type: 'track', userId: u, event: 'Chunk', properties: { i, blob: 'y'.repeat(25 * KB) }, messageId: messageId(),
  }));
  const e = assertError(await srv.ingest('/v1/batch', { batch }), 400, 'batch_too_large');
  assert.match(e.message, /500\s?KB|500\s?KiB|512000|500000/i, `message should mention the 500 KB limit: ${e.message}`);
  await assertNothingStored(srv, [u]);
});

fx.test('an over-size event inside a batch rejects the whole batch', async (srv) => {
  const good = `bb-good-${tag}`;
  const batch = [
    { type: 'track', userId: good, event: 'Ok', messageId: messageId() },
    { type: 'track', userId: `bb-big-${tag}`, event: 'Big', properties: { blob: 'z'.repeat(40 * KB) }, messageId: messageId() },
  ];
  const res = await srv.ingest('/v1/batch', { batch });
  assert.equal(res.status, 400, res.text);
  if (res.json?.error === 'invalid_batch') {
    assert.equal(res.json.errors?.[0]?.index, 1, res.text);
    assert.equal(res.json.errors[0].error, 'event_too_large', res.text);
  } else {
    assertError(res, 400, 'event_too_large');
  }
  await assertNothingStored(srv, [good, `bb-big-${tag}`]);
});

fx.test('a batch with one bad event -> 400 invalid_batch with errors[].index; none of it is stored', async (srv) => {
  const goods = [0, 1, 3, 4].map((i) => `batch-good-${i}-${tag}`);
  const batch = [
    { type: 'track', userId: goods[0], event: 'Good', messageId: messageId() },
    { type: 'identify', userId: goods[1], traits: { plan: 'x' }, messageId: messageId() },
    { type: 'track', userId: { bad: true }, event: 'Bad', messageId: messageId() },
    { type: 'page', userId: goods[2], name: 'Home', messageId: messageId() },
    { type: 'track', userId: goods[3], event: 'Good', messageId: messageId() },
  ];
  const e = assertError(await srv.ingest('/v1/batch', { batch }), 400, 'invalid_batch');
  assert.ok(Array.isArray(e.errors), `invalid_batch must list errors: ${JSON.stringify(e)}`);
  assert.equal(e.errors.length, 1, JSON.stringify(e.errors));
  assert.equal(e.errors[0].index, 2, JSON.stringify(e.errors));
  assert.equal(e.errors[0].error, 'invalid_event', JSON.stringify(e.errors));
  assert.ok(e.errors[0].message.includes('userId'), `errors[0].message should name userId: ${e.errors[0].message}`);
  await assertNothingStored(srv, goods);
  // The same good events are accepted once the bad one is removed (their messageIds were not burnt).
  batch.splice(2, 1);
  assertAccepted(await srv.ingest('/v1/batch', { batch }));
  await eventually(async () => {
    for (const g of goods) assert.equal((await getProfile(srv, 'user_id', g)).counts?.total, 1, g);
  });
});

fx.test('a batch with several bad events lists each index; unknown type -> invalid_event naming "type"', async (srv) => {
  const good = `batch2-good-${tag}`;
  const batch = [
    { type: 'bogus', userId: good, messageId: messageId() },
    { type: 'track', userId: good, event: 'Good', messageId: messageId() },
    { type: 'track', event: 'No Id', messageId: messageId() },
    { type: 'track', userId: good, event: 7, messageId: messageId() },
  ];
  const e = assertError(await srv.ingest('/v1/batch', { batch }), 400, 'invalid_batch');
  assert.deepEqual(e.errors.map((x) => x.index), [0, 2, 3], JSON.stringify(e.errors));
  assert.deepEqual(e.errors.map((x) => x.error), ['invalid_event', 'missing_identity', 'invalid_event']);
  assert.ok(e.errors[0].message.includes('type'), `errors[0] should name "type": ${e.errors[0].message}`);
  assert.ok(e.errors[2].message.includes('event'), `errors[2] should name "event": ${e.errors[2].message}`);
  for (const x of e.errors) assert.equal(typeof x.message, 'string');
  await assertNothingStored(srv, [good]);
});

// ---- routing and auth -----------------------------------------------------------------

fx.test('unknown path -> 404 not_found; wrong method -> 405 method_not_allowed', async (srv) => {
  assertError(await srv.get('/v2/nothing'), 404, 'not_found', 'GET /v2/nothing');
  assertError(await srv.get('/v1/profilesX/user_id:1'), 404, 'not_found', 'GET /v1/profilesX/user_id:1');
  assertError(await srv.ingest('/v1/nothing', { userId: 'x' }), 404, 'not_found', 'POST /v1/nothing');
  assertError(await srv.get('/v1/track', { key: WRITE_KEY }), 405, 'method_not_allowed', 'GET /v1/track');
  assertError(await srv.get('/v1/batch', { key: ADMIN_KEY }), 405, 'method_not_allowed', 'GET /v1/batch');
  assertError(await srv.request('DELETE', profilePath('user_id', 'x'), { auth: `Bearer ${ADMIN_KEY}` }),
    405, 'method_not_allowed', 'DELETE profile');
  assertError(await srv.request('PUT', '/v1/identify', { auth: basicAuth(WRITE_KEY), body: { userId: 'x' } }),
    405, 'method_not_allowed', 'PUT /v1/identify');
});

fx.test('no key / unknown key -> 401 unauthorized', async (srv) => {
  const u = `auth-${tag}`;
  const body = { userId: u, event: 'X', messageId: messageId() };
  assertError(await srv.ingest('/v1/track', body, { key: null }), 401, 'unauthorized', 'no key');
  assertError(await srv.ingest('/v1/track', body, { key: 'wk_wrong' }), 401, 'unauthorized', 'wrong Basic key');
  assertError(await srv.ingest('/v1/track', body, { key: 'wk_wrong', bearer: true }), 401, 'unauthorized', 'wrong Bearer key');
  assertError(await srv.ingest('/v1/track', { ...body, writeKey: 'wk_wrong' }, { key: null }), 401, 'unauthorized', 'wrong body writeKey');
  assertError(await srv.ingest('/v1/batch', { batch: [{ ...body, type: 'track' }] }, { key: null }), 401, 'unauthorized', 'batch without key');
  assertError(await srv.request('POST', '/v1/track', { body, auth: 'Basic !!!not-base64!!!' }), 401, 'unauthorized', 'garbage Basic');
  assertError(await srv.request('POST', '/v1/track', { body, auth: 'Digest abc' }), 401, 'unauthorized', 'unknown scheme');
  assertError(await srv.get(profilePath('user_id', u), { key: null }), 401, 'unauthorized', 'profile read without key');
  assertError(await srv.get(profilePath('user_id', u), { key: 'ak_wrong' }), 401, 'unauthorized', 'profile read with wrong key');
  await assertNothingStored(srv, [u]);
});

fx.test('write key on profile reads -> 403 forbidden; admin key may ingest', async (srv) => {
  const u = `role-${tag}`;
  assertAccepted(await srv.ingest('/v1/track', { userId: u, event: 'By Admin', messageId: messageId() }, { key: ADMIN_KEY }),
    'admin key on ingest');
  await eventually(() => getProfile(srv, 'user_id', u));
  for (const sub of ['', '/events', '/identities', '/merges']) {
    assertError(await srv.get(profilePath('user_id', u, sub), { key: WRITE_KEY }), 403, 'forbidden', `write key on profile${sub}`);
  }
  assertError(await srv.request('GET', profilePath('user_id', u), { auth: basicAuth(WRITE_KEY) }), 403, 'forbidden', 'Basic write key');
});

fx.test('unknown customer -> 404 profile_not_found; malformed identifier -> 400 invalid_identifier', async (srv) => {
  for (const sub of ['', '/events', '/identities', '/merges']) {
    assertError(await srv.get(profilePath('user_id', `nobody-${tag}`, sub)), 404, 'profile_not_found', `profile${sub}`);
  }
  assertError(await srv.get(profilePath('email', `nobody-${tag}@example.com`)), 404, 'profile_not_found', 'unknown email');
  assertError(await srv.get('/v1/profiles/nocolon'), 400, 'invalid_identifier', 'no colon');
});

fx.test('odd profile query parameters never cause a 5xx', async (srv) => {
  const u = `q-${tag}`;
  assertAccepted(await srv.ingest('/v1/track', { userId: u, event: 'Q', messageId: messageId() }));
  await eventually(() => getProfile(srv, 'user_id', u));
  for (const q of ['limit=0', 'limit=-1', 'limit=1001', 'limit=abc', 'limit=99999999999999999999',
    'before=garbage', 'before=', 'before=%00%ff', `before=${'A'.repeat(5000)}`]) {
    const res = await srv.get(profilePath('user_id', u, '/events') + '?' + q);
    assert.ok(res.status === 200 || res.status === 400, `?${q}: expected 200 or 400, got ${res.status} ${res.text}`);
    if (res.status === 400) assert.equal(typeof res.json?.error, 'string', `?${q}: ${res.text}`);
  }
});

// ---- raw TCP garbage -------------------------------------------------------------------

fx.test('raw TCP: random bytes, truncated request, absurd header, huge request line', async (srv) => {
  const checkAlive = async (what) => {
    const res = await srv.get('/healthz', { key: null });
    assert.equal(res.status, 200, `server not healthy after ${what}`);
  };
  const onlyClientErrors = (r, what) => {
    for (const c of statusCodes(r.data)) assert.ok(c >= 400 && c < 500, `${what}: server answered ${c}`);
  };

  let r = await rawExchange(srv.port, [randomBytes(4096)], { waitMs: 1500 });
  onlyClientErrors(r, 'random bytes');
  await checkAlive('random bytes');

  r = await rawExchange(srv.port, ['POST /v1/track HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
    `Authorization: ${basicAuth(WRITE_KEY)}\r\nContent-Length: 1000\r\n\r\n{"userId":"trunc`], { destroyAfterWrite: true });
  await checkAlive('truncated body then close');

  r = await rawExchange(srv.port, ['GET /healthz HTTP/1.1\r\nHost: x\r\nX-Partial: abc'], { destroyAfterWrite: true });
  await checkAlive('truncated headers then close');

  r = await rawExchange(srv.port, ['GET /healthz HTTP/1.1\r\nHost: x\r\nX-Long: ', 'a'.repeat(1024 * KB), '\r\n\r\n'], { waitMs: 3000 });
  onlyClientErrors(r, '1 MB header');
  await checkAlive('1 MB header');

  r = await rawExchange(srv.port, [`GET /${'b'.repeat(256 * KB)} HTTP/1.1\r\nHost: x\r\n\r\n`], { waitMs: 3000 });
  onlyClientErrors(r, '256 KB request line');
  await checkAlive('256 KB request line');

  const many = Array.from({ length: 5000 }, (_, i) => `X-H${i}: v\r\n`).join('');
  r = await rawExchange(srv.port, [`GET /healthz HTTP/1.1\r\nHost: x\r\n${many}\r\n`], { waitMs: 3000 });
  for (const c of statusCodes(r.data)) assert.ok(c === 200 || (c >= 400 && c < 500), `5000 headers: ${c}`);
  await checkAlive('5000 headers');

  r = await rawExchange(srv.port, ['POST /v1/track HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n{}'], { waitMs: 1500 });
  onlyClientErrors(r, 'absurd Content-Length');
  r = await rawExchange(srv.port, ['POST /v1/track HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n'], { waitMs: 1500 });
  onlyClientErrors(r, 'negative Content-Length');
  r = await rawExchange(srv.port, ['POST /v1/track HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzzzz\r\n'], { waitMs: 1500 });
  onlyClientErrors(r, 'bad chunk size');
  await checkAlive('bad framing');
});

fx.test('raw TCP: pipelined requests and a chunked ingest body work', async (srv) => {
  let r = await rawExchange(srv.port, ['GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n'],
    { waitMs: 3000, until: (d) => (d.toString('latin1').match(/\{"status":"ok"\}/g) || []).length >= 2 });
  assert.deepEqual(statusCodes(r.data), [200, 200], `pipelined: ${r.data.toString('latin1').slice(0, 500)}`);

  const u = `chunked-${tag}`;
  const body = JSON.stringify({ userId: u, event: 'Chunked', messageId: messageId() });
  const half = Math.floor(body.length / 2);
  const chunk = (s) => `${Buffer.byteLength(s).toString(16)}\r\n${s}\r\n`;
  r = await rawExchange(srv.port, [
    'POST /v1/track HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
    `Authorization: ${basicAuth(WRITE_KEY)}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n`,
    chunk(body.slice(0, half)), chunk(body.slice(half)), '0\r\n\r\n',
  ], { waitMs: 5000 });
  assert.deepEqual(statusCodes(r.data), [200], `chunked ingest: ${r.data.toString('latin1').slice(0, 500)}`);
  await eventually(async () => assert.equal((await getProfile(srv, 'user_id', u)).counts?.total, 1));
});

fx.test('deeply nested JSON (200 KB of "[") is rejected with 400 quickly, without exhausting the stack', async (srv) => {
  // A recursive parser overflows the stack here; a quadratic one takes tens of seconds
  // and blocks its event-loop thread. Either is a denial of service.
  const depth = 100_000;
  const deep = '{"batch":' + '['.repeat(depth) + ']'.repeat(depth) + '}';
  const t0 = Date.now();
  const res = await srv.request('POST', '/v1/batch', { body: deep, auth: basicAuth(WRITE_KEY), timeoutMs: 120_000 });
  const took = Date.now() - t0;
  assert.equal(res.status, 400, `deeply nested JSON: ${res.status} ${res.text.slice(0, 300)}`);
  assert.equal(typeof res.json?.error, 'string', res.text.slice(0, 300));
  assert.ok(took < 3_000, `rejecting ${deep.length} bytes of nested JSON took ${took} ms (expected well under 3 s; ` +
    'super-linear parsing?)');
  assert.equal((await srv.get('/healthz', { key: null })).status, 200);
});

fx.test('after all that: healthy, ready, ingest still works', async (srv) => {
  assert.equal((await srv.get('/healthz', { key: null })).status, 200);
  assert.equal((await srv.get('/readyz', { key: null })).status, 200);
  const u = `final-${tag}`;
  assertAccepted(await srv.ingest('/v1/identify', { userId: u, traits: { ok: true }, messageId: messageId() }));
  await eventually(async () => assert.equal((await getProfile(srv, 'user_id', u)).traits?.ok, true));
});

fx.test('graceful stop: exit code 0, no sanitizer report', async (srv) => {
  assertCleanExit(await srv.stop());
});
