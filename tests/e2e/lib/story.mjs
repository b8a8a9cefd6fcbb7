// The canonical identity-resolution story, shared by the curl and the
// analytics-node tests:
//
//   1-2. anonymous browsing: two "Product Viewed" tracks with anonymousId A
//   3.   identify with anonymousId A and traits.email "Ann@Example.COM " (case, space)
//   4-5. later, a "Product Viewed" and an "Order Completed" with userId U + anonymousId A2
//        (a second profile: nothing links it to the first yet)
//   6.   identify with userId U and traits.email "ann@example.com" -> the two profiles merge
//
// Expected: one profile reachable by anonymous_id:A, anonymous_id:A2,
// email:ann@example.com and user_id:U, with all six events.
import assert from 'node:assert/strict';
import {
  messageId, getProfile, getSub, getAllEvents, assertSameInstant, assertNewestFirst, isoAt, ms,
} from './api.mjs';
import { eventually } from './server.mjs';

const MIN = 60_000;

// Builds the six story events as Segment specs (without transport fields).
// userId defaults to "42" and the email to Ann@Example.COM; each test file runs
// its own server with a fresh data dir, so the literal values do not collide.
export function buildStory({ tag, userId = '42', rawEmail = 'Ann@Example.COM ', email = 'ann@example.com' }) {
  const A = `anon-A-${tag}`;
  const A2 = `anon-A2-${tag}`;
  // Event times: two hours ago, one minute apart (ms precision, strictly increasing).
  const base = Math.floor(Date.now() / 1000) * 1000 - 2 * 60 * MIN;
  const t = (i) => isoAt(base + i * MIN);
  const events = [
    { type: 'track', event: 'Product Viewed', anonymousId: A, properties: { sku: 'p-1', price: 10 }, timestamp: t(0) },
    { type: 'track', event: 'Product Viewed', anonymousId: A, properties: { sku: 'p-2', price: 20 }, timestamp: t(1) },
    { type: 'identify', anonymousId: A, traits: { email: rawEmail, name: 'Ann' }, timestamp: t(2) },
    { type: 'track', event: 'Product Viewed', userId, anonymousId: A2, properties: { sku: 'p-3' }, timestamp: t(3) },
    { type: 'track', event: 'Order Completed', userId, anonymousId: A2, properties: { total: 30 }, timestamp: t(4) },
    { type: 'identify', userId, traits: { email }, timestamp: t(5) },
  ];
  for (const e of events) e.messageId = messageId();
  return { A, A2, userId, rawEmail, email, events, t };
}

const key = (i) => `${i.type}:${i.value}`;

// Asserts everything the story must produce, reading only the documented profile API.
export async function assertStory(srv, story) {
  const { A, A2, userId, rawEmail, email, events, t } = story;
  const lookups = [
    ['anonymous_id', A], ['anonymous_id', A2], ['email', email], ['user_id', userId],
  ];

  // Wait until the last event (the merge) is visible; ingest 200 promises durability,
  // not necessarily read-your-writes.
  const profile = await eventually(async () => {
    const p = await getProfile(srv, 'user_id', userId);
    assert.equal(p.counts?.total, events.length,
      `profile user_id:${userId} counts.total: expected ${events.length}, got ${JSON.stringify(p.counts)}`);
    const q = await getProfile(srv, 'anonymous_id', A);
    assert.equal(q.id, p.id, `anonymous_id:${A} and user_id:${userId} are different profiles (${q.id} vs ${p.id})`);
    return p;
  }, { timeoutMs: 10_000 });

  // One profile through every identifier (and a non-normalised email in the URL).
  for (const [type, value] of [...lookups, ['email', rawEmail]]) {
    const p = await getProfile(srv, type, value);
    assert.equal(p.id, profile.id, `GET /v1/profiles/${type}:${JSON.stringify(value)} returned id ${p.id}, expected ${profile.id}`);
  }

  // Counts.
  assert.equal(profile.counts.total, 6);
  assert.deepEqual(profile.counts.by_type, { track: 4, identify: 2 }, 'counts.by_type');
  assert.equal(profile.counts.by_event['Product Viewed'], 3, `counts.by_event: ${JSON.stringify(profile.counts.by_event)}`);
  assert.equal(profile.counts.by_event['Order Completed'], 1, `counts.by_event: ${JSON.stringify(profile.counts.by_event)}`);

  // Event-time bounds and traits.
  assertSameInstant(profile.first_seen, t(0), 'profile.first_seen');
  assertSameInstant(profile.last_seen, t(5), 'profile.last_seen');
  assert.equal(profile.traits?.email, email, `traits.email: ${JSON.stringify(profile.traits)}`);
  assert.equal(profile.traits?.name, 'Ann', `traits.name: ${JSON.stringify(profile.traits)}`);

  // Identities: exactly the four, email lower-cased and trimmed.
  const expected = lookups.map(([type, value]) => `${type}:${value}`).sort();
  assert.deepEqual(profile.identities.map(key).sort(), expected, 'profile.identities');
  const ids = await getSub(srv, 'email', email, 'identities');
  assert.equal(ids.id, profile.id, 'identities.id');
  assert.deepEqual(ids.identities.map(key).sort(), expected, 'GET .../identities');
  const byKey = Object.fromEntries(ids.identities.map((i) => [key(i), i]));
  // first_seen of an identifier = time of the first event that carried it; `event` = its messageId.
  assertSameInstant(byKey[`anonymous_id:${A}`].first_seen, t(0), `first_seen of anonymous_id:${A}`);
  assertSameInstant(byKey[`email:${email}`].first_seen, t(2), `first_seen of email:${email}`);
  assertSameInstant(byKey[`user_id:${userId}`].first_seen, t(3), `first_seen of user_id:${userId}`);
  assert.equal(byKey[`anonymous_id:${A}`].event, events[0].messageId,
    'identities[].event of anonymous_id:A should be the messageId of the first event that carried it');
  assert.equal(byKey[`email:${email}`].event, events[2].messageId,
    'identities[].event of the email should be the messageId of the identify that carried it');

  // Timeline: newest first; limit=2 paging returns every event exactly once.
  const newestFirst = events.map((e) => e.messageId).reverse();
  const all = await getAllEvents(srv, 'user_id', userId, { limit: 50 });
  assert.equal(all.pages, 1, 'limit=50 must fit the 6 events on one page with next=null');
  assert.deepEqual(all.events.map((e) => e.messageId), newestFirst, 'timeline order (newest first)');
  assertNewestFirst(all.events);
  const paged = await getAllEvents(srv, 'anonymous_id', A, { limit: 2 });
  assert.deepEqual(paged.events.map((e) => e.messageId), newestFirst, 'limit=2 paging through next');
  assert.ok(paged.pages >= 3 && paged.pages <= 4, `limit=2 over 6 events: expected 3 pages (4 with a final empty one), got ${paged.pages}`);
  for (let i = 0; i < events.length; i++) {
    const stored = all.events[events.length - 1 - i];
    const sent = events[i];
    assert.equal(stored.type, sent.type, `stored event ${i} type`);
    if (sent.event) assert.equal(stored.event, sent.event, `stored event ${i} name`);
    assertSameInstant(stored.timestamp, sent.timestamp, `stored event ${i} timestamp`);
    assert.ok(Number.isFinite(ms(stored.receivedAt)), `stored event ${i} receivedAt: ${stored.receivedAt}`);
  }
  assert.deepEqual(all.events[all.events.length - 1].properties, events[0].properties, 'properties of the first event');

  // Merges: the two profiles were merged by the last identify.
  const merges = await getSub(srv, 'user_id', userId, 'merges');
  assert.equal(merges.id, profile.id, 'merges.id');
  assert.ok(Array.isArray(merges.merges) && merges.merges.length >= 1,
    `expected at least one merge, got ${JSON.stringify(merges)}`);
  const m = merges.merges[0];
  assert.equal(typeof m.merged_profile, 'string', `merges[0].merged_profile: ${JSON.stringify(m)}`);
  assert.notEqual(m.merged_profile, profile.id, 'the merged-away profile must differ from the survivor');
  assert.ok(Number.isFinite(ms(m.at)), `merges[0].at: ${JSON.stringify(m)}`);
  assert.ok(merges.merges.some((x) => x.event === events[5].messageId),
    `merges[].event should be the messageId of the merging identify (${events[5].messageId}): ${JSON.stringify(merges.merges)}`);
  assert.ok(Array.isArray(m.identifiers) && m.identifiers.length > 0, `merges[0].identifiers: ${JSON.stringify(m)}`);
  for (const i of m.identifiers) {
    assert.ok(expected.includes(key(i)), `merge identifier ${key(i)} is not one of ${expected.join(', ')}`);
  }
  assert.ok(Array.isArray(profile.merged_profiles) && profile.merged_profiles.includes(m.merged_profile),
    `profile.merged_profiles ${JSON.stringify(profile.merged_profiles)} should include ${m.merged_profile}`);
  return profile;
}
