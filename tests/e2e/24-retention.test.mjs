// Raw-event retention: with `--retention 30d`, events whose event time is older than 30 days
// (by the server clock, pinned here with C360_FAKE_NOW) no longer appear in the timeline,
// while the profile's aggregates keep what those events contributed.
import assert from 'node:assert/strict';
import { useServer, assertCleanExit } from './lib/server.mjs';
import { assertAccepted, getProfile, getAllEvents, messageId, uid } from './lib/api.mjs';

const NOW = Date.parse('2030-06-01T00:00:00.000Z');
const DAY = 86_400_000;
const fx = useServer({ args: ['--retention', '30d'], env: { C360_FAKE_NOW: new Date(NOW).toISOString() } });
const user = `ret-${uid()}`;

fx.test('events past retention are hidden from the timeline, younger ones stay', async (srv) => {
  const old = messageId(), fresh = messageId(), edge = messageId();
  assertAccepted(await srv.ingest('/v1/track', {
    userId: user, event: 'Old', messageId: old, timestamp: new Date(NOW - 45 * DAY).toISOString() }));
  assertAccepted(await srv.ingest('/v1/track', {
    userId: user, event: 'Edge', messageId: edge, timestamp: new Date(NOW - 29 * DAY).toISOString() }));
  assertAccepted(await srv.ingest('/v1/track', {
    userId: user, event: 'Fresh', messageId: fresh, timestamp: new Date(NOW - 1 * DAY).toISOString() }));
  const { events } = await getAllEvents(srv, 'user_id', user);
  const ids = events.map((e) => e.messageId);
  assert.deepEqual(ids, [fresh, edge], `timeline after retention: ${JSON.stringify(ids)}`);
  const p = await getProfile(srv, 'user_id', user);
  assert.equal(p.counts.total, 3, 'aggregates keep what expired events contributed');
});

fx.test('graceful stop: exit code 0, no sanitizer report', async (srv) => {
  assertCleanExit(await srv.stop());
});
