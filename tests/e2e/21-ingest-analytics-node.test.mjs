// The canonical story driven through Segment's official Node library
// (@segment/analytics-node) with its host pointed at c360.
import assert from 'node:assert/strict';
import { Analytics } from '@segment/analytics-node';
import { useServer, assertCleanExit, eventually, WRITE_KEY } from './lib/server.mjs';
import { getProfile, getAllEvents, messageId, uid } from './lib/api.mjs';
import { buildStory, assertStory } from './lib/story.mjs';

const fx = useServer();
const tag = uid();

// An Analytics client that records every HTTP response and error it sees.
function client(srv, opts = {}) {
  const analytics = new Analytics({
    writeKey: WRITE_KEY,
    host: srv.url,
    path: '/v1/batch',
    flushAt: 2,
    flushInterval: 50,
    maxRetries: 0,
    httpRequestTimeout: 15_000,
    ...opts,
  });
  const log = { responses: [], errors: [] };
  analytics.on('http_response', (r) => log.responses.push(r.status));
  analytics.on('error', (e) => log.errors.push(e));
  return { analytics, log };
}

// Calls analytics[method](params) and resolves once the library reports delivery.
function send(analytics, method, params) {
  return new Promise((resolve, reject) => {
    analytics[method](params, (err, ctx) => {
      if (err) reject(new Error(`analytics.${method} delivery failed: ${err.message || err.reason || JSON.stringify(err)}`));
      else resolve(ctx);
    });
  });
}

function assertAllDelivered(log) {
  assert.deepEqual(log.errors.map((e) => String(e.reason || e.message || e.code || JSON.stringify(e))), [],
    'analytics-node reported errors');
  assert.ok(log.responses.length > 0, 'analytics-node made no HTTP request');
  assert.ok(log.responses.every((s) => s === 200), `HTTP statuses seen by analytics-node: ${log.responses}`);
}

fx.test('canonical story via @segment/analytics-node -> ONE profile', async (srv) => {
  const story = buildStory({ tag });
  const { analytics, log } = client(srv);
  // Deliver in order (each call resolves on delivery), as a real app's calls would be over time.
  for (const e of story.events) {
    const { type, ...params } = e;
    params.timestamp = new Date(e.timestamp);
    await send(analytics, type, params);
  }
  await analytics.closeAndFlush({ timeout: 15_000 });
  assertAllDelivered(log);
  await assertStory(srv, story);
});

fx.test('analytics-node batching: track/identify/page/screen/group/alias flushed in small batches', async (srv) => {
  const u = `an-batch-${tag}`;
  const { analytics, log } = client(srv, { flushAt: 3, flushInterval: 200 });
  const ids = [];
  const m = () => { const id = messageId(); ids.push(id); return id; };
  analytics.identify({ userId: u, traits: { email: `an-${tag}@example.com`, plan: 'free' }, messageId: m() });
  for (let i = 0; i < 7; i++) {
    analytics.track({ userId: u, event: 'Article Read', properties: { n: i }, messageId: m() });
  }
  analytics.page({ userId: u, name: 'Home', category: 'Docs', properties: { path: '/' }, messageId: m() });
  analytics.screen({ userId: u, name: 'Feed', messageId: m() });
  analytics.group({ userId: u, groupId: `an-g-${tag}`, traits: { name: 'Acme' }, messageId: m() });
  analytics.alias({ userId: u, previousId: `an-prev-${tag}`, messageId: m() });
  await analytics.closeAndFlush({ timeout: 15_000 });
  assertAllDelivered(log);
  assert.ok(log.responses.length >= 4, `12 events with flushAt=3 should take >= 4 requests, saw ${log.responses.length}`);

  const p = await eventually(async () => {
    const q = await getProfile(srv, 'user_id', u);
    assert.equal(q.counts?.total, 12, `counts: ${JSON.stringify(q.counts)}`);
    return q;
  });
  assert.deepEqual(p.counts.by_type, { identify: 1, track: 7, page: 1, screen: 1, group: 1, alias: 1 });
  assert.equal(p.counts.by_event['Article Read'], 7);
  assert.equal(p.traits.plan, 'free');
  assert.ok(p.identities.some((i) => i.type === 'email' && i.value === `an-${tag}@example.com`),
    `identities: ${JSON.stringify(p.identities)}`);
  const { events } = await getAllEvents(srv, 'user_id', u, { limit: 5 });
  assert.deepEqual(events.map((e) => e.messageId).sort(), [...ids].sort(), 'every messageId stored exactly once');
  // The library's context.library is kept on stored events.
  assert.ok(events.every((e) => e.context?.library?.name === '@segment/analytics-node'),
    `context.library: ${JSON.stringify(events[0]?.context)}`);
});

fx.test('graceful stop: exit code 0, no sanitizer report', async (srv) => {
  assertCleanExit(await srv.stop());
});
