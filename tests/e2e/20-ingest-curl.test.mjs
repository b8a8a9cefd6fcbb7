// Segment HTTP Tracking API through the real curl binary, and the canonical
// identity-resolution story (anonymous browsing -> identify -> second device -> merge).
import assert from 'node:assert/strict';
import { useServer, assertCleanExit, eventually, WRITE_KEY } from './lib/server.mjs';
import { assertAccepted, getProfile, getAllEvents, messageId, uid } from './lib/api.mjs';
import { curl } from './lib/curl.mjs';
import { buildStory, assertStory } from './lib/story.mjs';

const fx = useServer();
const tag = uid();
const U = (t) => `curl-${t}-${tag}`;

// One event per endpoint; `check` names the profile and the counts.by_type entry it must produce.
const perType = [
  ['identify', { userId: U('identify'), traits: { name: 'Ida' } }, ['user_id', U('identify'), 'identify']],
  ['track', { userId: U('track'), event: 'Signed Up', properties: { plan: 'pro' } }, ['user_id', U('track'), 'track']],
  ['page', { anonymousId: U('page'), name: 'Home', properties: { url: 'https://example.com/' } }, ['anonymous_id', U('page'), 'page']],
  ['screen', { userId: U('screen'), name: 'Dashboard' }, ['user_id', U('screen'), 'screen']],
  ['group', { userId: U('group'), groupId: `g-${tag}`, traits: { name: 'Acme' } }, ['user_id', U('group'), 'group']],
  ['alias', { previousId: U('alias-old'), userId: U('alias') }, ['user_id', U('alias'), 'alias']],
];

for (const [type, body, [itype, ivalue, byType]] of perType) {
  fx.test(`curl -u wk_test: POST /v1/${type} -> 200 {"success":true} and the event is stored`, async (srv) => {
    const res = await curl(srv, 'POST', `/v1/${type}`, { user: `${WRITE_KEY}:`, body: { ...body, messageId: messageId() } });
    assertAccepted(res, `POST /v1/${type}`);
    await eventually(async () => {
      const p = await getProfile(srv, itype, ivalue);
      assert.equal(p.counts?.by_type?.[byType], 1, `counts of ${itype}:${ivalue}: ${JSON.stringify(p.counts)}`);
      assert.equal(p.counts.total, 1);
    });
  });
}

fx.test('curl POST /v1/batch with all six types -> 200, each event stored', async (srv) => {
  const u = U('batch');
  const batch = [
    { type: 'identify', userId: u, traits: { email: `batch-${tag}@example.com` } },
    { type: 'track', userId: u, event: 'Clicked' },
    { type: 'page', userId: u, name: 'Pricing' },
    { type: 'screen', userId: u, name: 'Settings' },
    { type: 'group', userId: u, groupId: `g2-${tag}` },
    { type: 'alias', previousId: `batch-old-${tag}`, userId: u },
  ].map((e) => ({ ...e, messageId: messageId() }));
  assertAccepted(await curl(srv, 'POST', '/v1/batch', { user: `${WRITE_KEY}:`, body: { batch } }), 'POST /v1/batch');
  await eventually(async () => {
    const p = await getProfile(srv, 'user_id', u);
    assert.equal(p.counts?.total, 6, `counts: ${JSON.stringify(p.counts)}`);
    assert.deepEqual(p.counts.by_type, { identify: 1, track: 1, page: 1, screen: 1, group: 1, alias: 1 });
  });
});

fx.test('writeKey in the body authenticates without an Authorization header', async (srv) => {
  const u = U('bodykey');
  const res = await curl(srv, 'POST', '/v1/track', { body: { writeKey: WRITE_KEY, userId: u, event: 'Body Key', messageId: messageId() } });
  assertAccepted(res, 'track with body writeKey');
  const res2 = await curl(srv, 'POST', '/v1/batch', {
    body: { writeKey: WRITE_KEY, batch: [{ type: 'track', userId: u, event: 'Body Key Batch', messageId: messageId() }] },
  });
  assertAccepted(res2, 'batch with body writeKey');
  await eventually(async () => {
    const p = await getProfile(srv, 'user_id', u);
    assert.equal(p.counts?.total, 2, JSON.stringify(p.counts));
  });
});

fx.test('Authorization: Bearer <write key> works', async (srv) => {
  const u = U('bearer');
  const res = await curl(srv, 'POST', '/v1/track', {
    headers: [`Authorization: Bearer ${WRITE_KEY}`], body: { userId: u, event: 'Bearer', messageId: messageId() },
  });
  assertAccepted(res, 'track with Bearer');
  await eventually(async () => assert.equal((await getProfile(srv, 'user_id', u)).counts?.total, 1));
});

fx.test('the /v1/import alias of /v1/batch works', async (srv) => {
  const u = U('import');
  const res = await curl(srv, 'POST', '/v1/import', {
    user: `${WRITE_KEY}:`, body: { batch: [{ type: 'track', userId: u, event: 'Imported', messageId: messageId() }] },
  });
  assertAccepted(res, 'POST /v1/import');
  await eventually(async () => assert.equal((await getProfile(srv, 'user_id', u)).counts?.by_event?.Imported, 1));
});

fx.test('batch top-level context/integrations are merged into events that lack them', async (srv) => {
  const u = U('ctx');
  const [m1, m2] = [messageId(), messageId()];
  const res = await curl(srv, 'POST', '/v1/batch', {
    user: `${WRITE_KEY}:`,
    body: {
      context: { ip: '10.1.2.3', locale: 'de-DE' },
      integrations: { All: false },
      batch: [
        { type: 'track', userId: u, event: 'Inherits', messageId: m1 },
        { type: 'track', userId: u, event: 'Own', messageId: m2, context: { ip: '10.9.9.9' }, integrations: { All: true } },
      ],
    },
  });
  assertAccepted(res);
  const { events } = await eventually(async () => {
    const r = await getAllEvents(srv, 'user_id', u);
    assert.equal(r.events.length, 2);
    return r;
  });
  const byId = Object.fromEntries(events.map((e) => [e.messageId, e]));
  assert.equal(byId[m1].context?.ip, '10.1.2.3', `inherited context: ${JSON.stringify(byId[m1].context)}`);
  assert.equal(byId[m1].context?.locale, 'de-DE');
  assert.deepEqual(byId[m1].integrations, { All: false });
  assert.equal(byId[m2].context?.ip, '10.9.9.9', `own context kept: ${JSON.stringify(byId[m2].context)}`);
  assert.deepEqual(byId[m2].integrations, { All: true });
});

fx.test('context.externalIds become identifiers (TYPE:VALUE lookups)', async (srv) => {
  const u = U('ext');
  const ga = `123.${Date.now()}`;
  assertAccepted(await curl(srv, 'POST', '/v1/track', {
    user: `${WRITE_KEY}:`,
    body: {
      userId: u, event: 'With External Id', messageId: messageId(),
      context: { externalIds: [{ id: ga, type: 'ga_client_id', collection: 'users', encoding: 'none' }] },
    },
  }));
  const p = await eventually(() => getProfile(srv, 'ga_client_id', ga));
  const q = await getProfile(srv, 'user_id', u);
  assert.equal(p.id, q.id, 'ga_client_id and user_id lookups reach the same profile');
  assert.ok(q.identities.some((i) => i.type === 'ga_client_id' && i.value === ga), JSON.stringify(q.identities));
});

fx.test('canonical story via curl: anonymous -> identify -> second device -> merge into ONE profile', async (srv) => {
  const story = buildStory({ tag });
  const path = { track: '/v1/track', identify: '/v1/identify' };
  for (const e of story.events) {
    const { type, ...body } = e;
    assertAccepted(await curl(srv, 'POST', path[type], { user: `${WRITE_KEY}:`, body }), `story ${type} ${e.event || ''}`);
  }
  await assertStory(srv, story);
});

fx.test('graceful stop: exit code 0, no sanitizer report', async (srv) => {
  assertCleanExit(await srv.stop());
});
