// Crash safety: kill -9 under concurrent ingest, K times, on one data dir.
//
// Every acknowledged (200) event must be stored exactly once after recovery; no
// event may ever be stored twice. Failed requests are retried in the next round
// with the same messageIds (as a real Segment client would), so dedup must also
// hold across crashes. The last round retries everything still unacknowledged
// on a cleanly started server, so at the end every event sent is stored once.
// Then a second server on a fresh data dir is sent every event once, in a
// shuffled order, and each user's profile and timeline must equal the crashed
// server's (events carry their own timestamps, so the clean run is the same data).
//
//   C360_CRASH_ROUNDS   number of kill -9 rounds (default 5 = CI; the full proof run uses 100:
//                       C360_CRASH_ROUNDS=100 scripts/run-e2e)
//   C360_CRASH_SEED     seed for the random delays/users (printed on failure)
import assert from 'node:assert/strict';
import http from 'node:http';
import { test, after } from 'node:test';
import {
  startServer, assertCleanExit, assertNoSanitizerReport, annotate, sleep, eventually, basicAuth, WRITE_KEY,
} from './lib/server.mjs';
import { getAllEvents, getProfile, messageId, uid, assertNewestFirst, isoAt } from './lib/api.mjs';

const ROUNDS = Number(process.env.C360_CRASH_ROUNDS || 5);
const SEED = Number(process.env.C360_CRASH_SEED || Math.floor(Math.random() * 2 ** 31));
const CLIENTS = 4;
const BATCH = 20;
const USERS = 12;

// Small deterministic PRNG (mulberry32) so a failing run can be replayed with its seed.
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = rng(SEED);
const tag = uid();
const users = Array.from({ length: USERS }, (_, i) => `crash-${i}-${tag}`);

// POST with a keep-alive agent; resolves {status, text} or rejects on connection failure.
function post(port, agent, path, body) {
  const payload = Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1', port, path, method: 'POST', agent,
      headers: { 'content-type': 'application/json', 'content-length': payload.length, authorization: basicAuth(WRITE_KEY) },
      timeout: 20_000,
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, text: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('request timeout')));
    req.on('error', reject);
    req.end(payload);
  });
}

let srv = null, clean = null;
after(async () => { if (srv) await srv.cleanup(); if (clean) await clean.cleanup(); });

// what must not depend on crashes or arrival order: the profile without its generated id, and
// the timeline's events by id and time (receivedAt is the server's clock)
async function snapshot(server, u) {
  const p = await getProfile(server, 'user_id', u);
  const { events } = await getAllEvents(server, 'user_id', u, { limit: 1000 });
  return {
    first_seen: p.first_seen, last_seen: p.last_seen, traits: p.traits, traits_updated_at: p.traits_updated_at,
    counts: p.counts, merged: p.merged_profiles.length,
    identities: p.identities.map((i) => `${i.type}:${i.value}:${i.first_seen}:${i.event}`).sort(),
    timeline: events.map((e) => `${e.timestamp} ${e.messageId} ${e.type}`),
  };
}

test(`kill -9 during concurrent ingest, ${ROUNDS} rounds: acked events stored exactly once, profiles equal a clean run's (seed ${SEED})`,
  { timeout: 120_000 + ROUNDS * 30_000 }, async (t) => {
    const sent = new Map(); // messageId -> userId (every event ever sent)
    const bodies = []; // every event ever sent, once
    const T0 = Date.parse('2026-01-01T00:00:00Z');
    const acked = new Set(); // messageIds acknowledged with 200
    let pending = []; // batches whose request failed: retried with the same messageIds
    let batchesOk = 0, batchesFailed = 0;
    const unexpected = []; // statuses other than 200/503

    const makeBatch = () => Array.from({ length: BATCH }, (_, i) => {
      const mid = messageId();
      const userId = users[Math.floor(rand() * USERS)];
      sent.set(mid, userId);
      const pad = 'p'.repeat(Math.floor(rand() * 400));
      const timestamp = isoAt(T0 + bodies.length * 1000);
      const ev = i % 5 === 0
        ? { type: 'identify', userId, traits: { i, pad, at: timestamp }, messageId: mid, timestamp }
        : { type: 'track', userId, event: 'Crash Test', properties: { i, pad }, messageId: mid, timestamp };
      bodies.push(ev);
      return ev;
    });

    // One client: sends batches back to back on a keep-alive connection until stopped or broken.
    async function client(port, state) {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      try {
        while (!state.stop) {
          const batch = pending.length ? pending.shift() : makeBatch();
          let res;
          try {
            res = await post(port, agent, '/v1/batch', { batch });
          } catch {
            batchesFailed++;
            pending.push(batch); // outcome unknown: retry later with the same ids
            return;
          }
          if (res.status === 200) {
            batchesOk++;
            for (const e of batch) acked.add(e.messageId);
          } else {
            if (res.status !== 503) unexpected.push(`${res.status} ${res.text.slice(0, 300)}`);
            pending.push(batch);
            await sleep(20);
          }
        }
      } finally {
        agent.destroy();
      }
    }

    async function round(port, { killAfterMs }) {
      const state = { stop: false };
      const clients = Array.from({ length: CLIENTS }, () => client(port, state));
      if (killAfterMs !== undefined) {
        await sleep(killAfterMs);
        const r = await srv.kill9();
        assertNoSanitizerReport(r.stderr, 'server before kill -9');
      }
      state.stop = true;
      await Promise.all(clients);
    }

    srv = await startServer();
    try {
      for (let k = 0; k < ROUNDS; k++) {
        if (k > 0) await srv.restart();
        await round(srv.port, { killAfterMs: 50 + Math.floor(rand() * 450) });
      }
      // Recovery on a clean start, then deliver everything still unacknowledged (same messageIds).
      await srv.restart();
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      try {
        for (let budget = pending.length * 3 + 10; pending.length && budget > 0; budget--) {
          const batch = pending.shift();
          const res = await post(srv.port, agent, '/v1/batch', { batch });
          if (res.status === 200) {
            for (const e of batch) acked.add(e.messageId);
          } else {
            unexpected.push(`${res.status} ${res.text.slice(0, 300)}`);
            pending.push(batch);
          }
        }
      } finally {
        agent.destroy();
      }
      assert.deepEqual(unexpected, [], 'only 200 (or 503 while draining) is acceptable for valid batches');
      assert.equal(pending.length, 0, 'every batch is eventually acknowledged on a healthy server');
      assert.ok(batchesOk > 0, `no batch was acknowledged in ${ROUNDS} rounds; the test proved nothing`);

      // Every event sent is now acknowledged; each must be stored exactly once. (Retried for a
      // few seconds: a 200 promises durability, not that profiles are already updated.)
      await eventually(async () => {
        const stored = new Map(); // messageId -> count
        let totalStored = 0;
        for (const u of users) {
          const usersSent = [...sent.values()].filter((x) => x === u).length;
          if (usersSent === 0) continue;
          const p = await getProfile(srv, 'user_id', u);
          const { events } = await getAllEvents(srv, 'user_id', u, { limit: 1000 });
          assertNewestFirst(events, `timeline of ${u}`);
          const distinct = new Set(events.map((e) => e.messageId));
          assert.equal(p.counts.total, distinct.size,
            `user_id:${u}: counts.total=${p.counts.total} but the timeline holds ${distinct.size} distinct events`);
          for (const e of events) {
            assert.equal(sent.get(e.messageId), u, `stored event ${e.messageId} in ${u}'s timeline was not sent for ${u}`);
            stored.set(e.messageId, (stored.get(e.messageId) || 0) + 1);
            totalStored++;
          }
        }
        const dups = [...stored].filter(([, c]) => c > 1);
        assert.deepEqual(dups, [], `events stored more than once (${dups.length})`);
        const missing = [...acked].filter((m) => !stored.has(m));
        assert.deepEqual(missing.slice(0, 20), [], `${missing.length} acknowledged events are missing after recovery`);
        assert.equal(totalStored, sent.size, 'every event sent (all eventually acked) is stored exactly once');
      }, { timeoutMs: 15_000, intervalMs: 500 });
      t.diagnostic(`crash: ${ROUNDS} rounds, seed ${SEED}, ${batchesOk} batches acked, ` +
        `${batchesFailed} failed (retried), ${sent.size} events, all stored exactly once`);

      // The clean run: the same events, each once, shuffled, on a fresh data dir.
      clean = await startServer();
      const order = bodies.slice();
      for (let i = order.length - 1; i > 0; i--) {
        const k = Math.floor(rand() * (i + 1));
        [order[i], order[k]] = [order[k], order[i]];
      }
      for (let i = 0; i < order.length; i += 100) {
        const res = await clean.ingest('/v1/batch', { batch: order.slice(i, i + 100) });
        assert.equal(res.status, 200, `clean run: ${res.status} ${res.text.slice(0, 200)}`);
      }
      await eventually(async () => {
        for (const u of users) {
          if (![...sent.values()].includes(u)) continue;
          assert.deepEqual(await snapshot(srv, u), await snapshot(clean, u), `user_id:${u}: the crashed server's profile differs from a clean run's`);
        }
      }, { timeoutMs: 15_000, intervalMs: 500 });
      assertCleanExit(await clean.stop(), 'clean run: graceful stop');

      assertCleanExit(await srv.stop(), 'final graceful stop');
    } catch (e) {
      e.message = `[seed ${SEED}] ${e.message}`;
      throw annotate(e, srv);
    }
  });
