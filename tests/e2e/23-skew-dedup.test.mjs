// Event time computation (clock-skew correction, precedence) and messageId dedup.
import assert from 'node:assert/strict';
import { useServer, assertCleanExit, eventually } from './lib/server.mjs';
import {
  assertAccepted, getProfile, getAllEvents, assertSameInstant, isoAt, ms, messageId, uid,
} from './lib/api.mjs';

const fx = useServer();
const tag = uid();
const HOUR = 3_600_000;
const SLACK = 5_000; // ms of tolerance for "now"-relative times

// Sends `body` as a track and returns {stored, t0, t1} with the request's wall-clock window.
async function sendAndRead(srv, user, body) {
  const mid = messageId();
  const t0 = Date.now();
  assertAccepted(await srv.ingest('/v1/track', { userId: user, event: 'Timed', messageId: mid, ...body }));
  const t1 = Date.now();
  const stored = await eventually(async () => {
    const { events } = await getAllEvents(srv, 'user_id', user);
    const e = events.find((x) => x.messageId === mid);
    assert.ok(e, `event ${mid} not in the timeline of user_id:${user}`);
    return e;
  });
  const rcv = ms(stored.receivedAt);
  assert.ok(rcv >= t0 - SLACK && rcv <= t1 + SLACK,
    `receivedAt ${stored.receivedAt} is not the server's receive time (request sent between ${isoAt(t0)} and ${isoAt(t1)})`);
  return { stored, t0, t1, rcv };
}

fx.test('clock skew: originalTimestamp + sentAt -> timestamp = receivedAt - (sentAt - originalTimestamp)', async (srv) => {
  // The client clock is 1 day AHEAD; the event was created 1 hour before it was sent.
  const clientNow = Date.now() + 24 * HOUR;
  const sentAt = isoAt(clientNow);
  const originalTimestamp = isoAt(clientNow - HOUR);
  const { stored, rcv } = await sendAndRead(srv, `skew-${tag}`, { originalTimestamp, sentAt });
  const expected = rcv - HOUR; // receivedAt - (sentAt - originalTimestamp)
  const got = ms(stored.timestamp);
  assert.ok(Math.abs(got - expected) <= 2_000,
    `timestamp ${stored.timestamp}; expected ≈ receivedAt(${stored.receivedAt}) - 1h = ${isoAt(expected)} ` +
    `(the uncorrected originalTimestamp would be ${originalTimestamp})`);
});

fx.test('clock skew, client clock behind: event 10 minutes old per the client', async (srv) => {
  const clientNow = Date.now() - 3 * HOUR;
  const { stored, rcv } = await sendAndRead(srv, `skew2-${tag}`, {
    originalTimestamp: isoAt(clientNow - 10 * 60_000), sentAt: isoAt(clientNow),
  });
  const expected = rcv - 10 * 60_000;
  assert.ok(Math.abs(ms(stored.timestamp) - expected) <= 2_000,
    `timestamp ${stored.timestamp}; expected ≈ ${isoAt(expected)}`);
});

fx.test('explicit timestamp (no sentAt) is used as given', async (srv) => {
  const ts = '2024-02-29T12:34:56.789Z';
  const { stored } = await sendAndRead(srv, `ts-${tag}`, { timestamp: ts });
  assertSameInstant(stored.timestamp, ts, 'timestamp');
});

fx.test('originalTimestamp alone (no sentAt) is used as the timestamp', async (srv) => {
  const ots = '2023-07-01T00:00:00.000Z';
  const { stored } = await sendAndRead(srv, `ots-${tag}`, { originalTimestamp: ots });
  assertSameInstant(stored.timestamp, ots, 'timestamp');
});

fx.test('no time fields: timestamp = receivedAt', async (srv) => {
  const { stored } = await sendAndRead(srv, `now-${tag}`, {});
  assertSameInstant(stored.timestamp, stored.receivedAt, 'timestamp = receivedAt');
});

// ---- dedup --------------------------------------------------------------------

async function expectStoredOnce(srv, user, mids, extraTotal = 0) {
  return eventually(async () => {
    const { events } = await getAllEvents(srv, 'user_id', user, { limit: 3 });
    const got = events.map((e) => e.messageId).sort();
    assert.deepEqual(got, [...mids].sort(), `timeline of user_id:${user} must hold each messageId once`);
    const p = await getProfile(srv, 'user_id', user);
    assert.equal(p.counts.total, mids.length + extraTotal, `counts.total of user_id:${user}: ${JSON.stringify(p.counts)}`);
    return { events, p };
  });
}

fx.test('duplicate messageId across two requests is acknowledged and stored once (first copy wins)', async (srv) => {
  const user = `dup1-${tag}`;
  const mid = messageId();
  assertAccepted(await srv.ingest('/v1/track', { userId: user, event: 'Dup', messageId: mid, properties: { copy: 1 } }));
  assertAccepted(await srv.ingest('/v1/track', { userId: user, event: 'Dup', messageId: mid, properties: { copy: 2 } }),
    'the duplicate is acknowledged with 200');
  const other = messageId();
  assertAccepted(await srv.ingest('/v1/track', { userId: user, event: 'Other', messageId: other }));
  const { events, p } = await expectStoredOnce(srv, user, [mid, other]);
  assert.deepEqual(events.find((e) => e.messageId === mid).properties, { copy: 1 }, 'the duplicate is dropped, not applied');
  assert.equal(p.counts.by_event.Dup, 1);
});

fx.test('duplicate messageId twice within one batch is stored once', async (srv) => {
  const user = `dup2-${tag}`;
  const a = messageId(), b = messageId();
  const batch = [
    { type: 'track', userId: user, event: 'A', messageId: a },
    { type: 'track', userId: user, event: 'B', messageId: b },
    { type: 'track', userId: user, event: 'A', messageId: a },
    { type: 'track', userId: user, event: 'A', messageId: a },
  ];
  assertAccepted(await srv.ingest('/v1/batch', { batch }));
  const { p } = await expectStoredOnce(srv, user, [a, b]);
  assert.deepEqual(p.counts.by_event, { A: 1, B: 1 });
});

fx.test('duplicate messageIds across two batch requests (overlapping) are stored once', async (srv) => {
  const user = `dup3-${tag}`;
  const mids = Array.from({ length: 6 }, () => messageId());
  const ev = (m) => ({ type: 'track', userId: user, event: 'Batched', messageId: m });
  assertAccepted(await srv.ingest('/v1/batch', { batch: mids.slice(0, 4).map(ev) }));
  assertAccepted(await srv.ingest('/v1/batch', { batch: mids.slice(2).map(ev) }), 'overlapping batch');
  // A single-event endpoint replays one of the batch's ids as well.
  assertAccepted(await srv.ingest('/v1/track', ev(mids[0])));
  await expectStoredOnce(srv, user, mids);
});

fx.test('dedup survives a restart', async (srv) => {
  const user = `dup4-${tag}`;
  const mid = messageId();
  assertAccepted(await srv.ingest('/v1/identify', { userId: user, traits: { v: 1 }, messageId: mid }));
  await expectStoredOnce(srv, user, [mid]);
  assertCleanExit(await srv.stop(), 'stop before restart');
  await srv.restart();
  assertAccepted(await srv.ingest('/v1/identify', { userId: user, traits: { v: 2 }, messageId: mid }), 'replay after restart');
  const marker = messageId();
  assertAccepted(await srv.ingest('/v1/track', { userId: user, event: 'Marker', messageId: marker }));
  const { p } = await expectStoredOnce(srv, user, [mid, marker]);
  assert.equal(p.traits.v, 1, 'the replayed identify after restart must be dropped');
});

fx.test('graceful stop: exit code 0, no sanitizer report', async (srv) => {
  assertCleanExit(await srv.stop());
});
