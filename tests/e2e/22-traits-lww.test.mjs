// Traits are last-writer-wins per trait by EVENT time (not arrival order);
// first_seen/last_seen are the min/max event times.
import assert from 'node:assert/strict';
import { useServer, assertCleanExit, eventually } from './lib/server.mjs';
import {
  assertAccepted, getProfile, getAllEvents, assertSameInstant, assertNewestFirst, isoAt, messageId, uid,
} from './lib/api.mjs';

const fx = useServer();
const tag = uid();
const DAY = 86_400_000;
const base = Math.floor(Date.now() / 1000) * 1000 - 10 * DAY;
// Event times, in event-time order: T0 < T1 < T2 < T25 < T3 (all in the past).
const T0 = isoAt(base);
const T1 = isoAt(base + 1 * DAY);
const T2 = isoAt(base + 2 * DAY);
const T25 = isoAt(base + 2.5 * DAY);
const T3 = isoAt(base + 3 * DAY);

const user = `lww-${tag}`;
const mids = {};

// Sends one event and waits until the profile has `total` events.
async function send(srv, p, body, total, name) {
  mids[name] = messageId();
  assertAccepted(await srv.ingest(p, { userId: user, messageId: mids[name], ...body }), name);
  return eventually(async () => {
    const prof = await getProfile(srv, 'user_id', user);
    assert.equal(prof.counts?.total, total, `after ${name}: counts ${JSON.stringify(prof.counts)}`);
    return prof;
  });
}

fx.test('identify plan=gold at T2', async (srv) => {
  const p = await send(srv, '/v1/identify', { traits: { plan: 'gold', name: 'Gil' }, timestamp: T2 }, 1, 'gold@T2');
  assert.equal(p.traits.plan, 'gold');
  assertSameInstant(p.traits_updated_at.plan, T2, 'traits_updated_at.plan');
  assertSameInstant(p.first_seen, T2, 'first_seen');
  assertSameInstant(p.last_seen, T2, 'last_seen');
});

fx.test('a LATE identify (timestamp T1 < T2) does not overwrite plan; its new trait is kept', async (srv) => {
  const p = await send(srv, '/v1/identify',
    { traits: { plan: 'silver', company: 'Acme' }, timestamp: T1 }, 2, 'silver@T1 (late)');
  assert.equal(p.traits.plan, 'gold', `late plan=silver (T1) must lose to plan=gold (T2): traits ${JSON.stringify(p.traits)}`);
  assertSameInstant(p.traits_updated_at.plan, T2, 'traits_updated_at.plan stays T2');
  // `company` had no value yet, so the late event's value is the newest one known.
  assert.equal(p.traits.company, 'Acme', `traits ${JSON.stringify(p.traits)}`);
  assertSameInstant(p.traits_updated_at.company, T1, 'traits_updated_at.company');
  assert.equal(p.traits.name, 'Gil', 'a trait absent from the late event is untouched');
  assertSameInstant(p.first_seen, T1, 'first_seen = min event time (T1), though T1 arrived second');
  assertSameInstant(p.last_seen, T2, 'last_seen = max event time (T2)');
});

fx.test('a newer identify (T3 > T2) sets plan=platinum', async (srv) => {
  const p = await send(srv, '/v1/identify', { traits: { plan: 'platinum' }, timestamp: T3 }, 3, 'platinum@T3');
  assert.equal(p.traits.plan, 'platinum', `traits ${JSON.stringify(p.traits)}`);
  assertSameInstant(p.traits_updated_at.plan, T3, 'traits_updated_at.plan');
  assertSameInstant(p.traits_updated_at.name, T2, 'traits_updated_at.name unchanged');
  assert.equal(p.traits.company, 'Acme');
  assertSameInstant(p.first_seen, T1, 'first_seen');
  assertSameInstant(p.last_seen, T3, 'last_seen');
});

fx.test('late non-identify events move first_seen back but never last_seen', async (srv) => {
  // A track from long ago (T0) arrives now: first_seen moves back to T0.
  let p = await send(srv, '/v1/track', { event: 'Old Purchase', timestamp: T0 }, 4, 'track@T0 (late)');
  assertSameInstant(p.first_seen, T0, 'first_seen follows the earliest event time');
  assertSameInstant(p.last_seen, T3, 'last_seen unchanged');
  // A page at T2.5 arrives after T3: last_seen stays T3.
  p = await send(srv, '/v1/page', { name: 'Pricing', timestamp: T25 }, 5, 'page@T2.5 (late)');
  assertSameInstant(p.first_seen, T0, 'first_seen');
  assertSameInstant(p.last_seen, T3, 'last_seen stays at the max event time, not the latest arrival');
  assert.equal(p.traits.plan, 'platinum');
  assertSameInstant(p.traits_updated_at.plan, T3, 'traits_updated_at.plan is T3');
});

fx.test('a late identify with the SAME timestamp as the winner is deterministic and not lost', async (srv) => {
  // Tie on event time (T3): whatever the tie-break, traits_updated_at.plan stays T3
  // and plan is one of the two values.
  const p = await send(srv, '/v1/identify', { traits: { plan: 'diamond' }, timestamp: T3 }, 6, 'diamond@T3 (tie)');
  assert.ok(['platinum', 'diamond'].includes(p.traits.plan), `plan after a tie: ${p.traits.plan}`);
  assertSameInstant(p.traits_updated_at.plan, T3, 'traits_updated_at.plan');
  const again = await getProfile(srv, 'user_id', user);
  assert.equal(again.traits.plan, p.traits.plan, 'a repeated read gives the same winner');
});

fx.test('timeline is ordered by event time, not arrival', async (srv) => {
  const { events } = await getAllEvents(srv, 'user_id', user, { limit: 2 });
  assertNewestFirst(events);
  // The T3 tie: either of the two T3 events may come first.
  const order = events.map((e) => e.messageId);
  assert.equal(order.length, 6);
  assert.deepEqual(new Set(order.slice(0, 2)), new Set([mids['platinum@T3'], mids['diamond@T3 (tie)']]));
  assert.deepEqual(order.slice(2), [mids['page@T2.5 (late)'], mids['gold@T2'], mids['silver@T1 (late)'], mids['track@T0 (late)']]);
});

fx.test('traits survive a restart (LWW state is durable)', async (srv) => {
  const before = await getProfile(srv, 'user_id', user);
  assertCleanExit(await srv.stop(), 'stop before restart');
  await srv.restart();
  const after = await getProfile(srv, 'user_id', user);
  assert.deepEqual(after.traits, before.traits);
  assert.deepEqual(after.traits_updated_at, before.traits_updated_at);
  assert.equal(after.first_seen, before.first_seen);
  assert.equal(after.last_seen, before.last_seen);
  assert.deepEqual(after.counts, before.counts);
});

fx.test('graceful stop: exit code 0, no sanitizer report', async (srv) => {
  assertCleanExit(await srv.stop());
});
