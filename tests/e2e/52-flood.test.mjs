// Flood: many concurrent clients post large batches back to back, far beyond what the single
// writer can apply, on a server started with a small --queue-max-events so that back-pressure
// triggers at once.
//
// Expected (docs/API.md): what does not fit answers 429 `overloaded` with a JSON body; no other
// error (no 5xx) while serving, 503 only once a shutdown began; memory stays bounded (the queue
// is bounded in events, and a refused body is dropped); every acknowledged event is stored
// exactly once, also across a graceful stop in the middle of the flood.
//
// Memory bound (VmRSS sampled every 250 ms during the flood), relative to the RSS measured just
// before it. The server runs with --block-cache 32MB (the default 256 MB cache fills legitimately
// as SST files accumulate and would hide anything smaller) and, under ASan, with a 32 MB
// quarantine instead of 256 MB (ASan holds freed memory back; 256 MB of it would hide a leak of
// the same size). Then the memory the server may legitimately hold is
//     32 MB block cache
//  + 128 MB RocksDB memtables (max_write_buffer_number 4 x write_buffer_size 32 MB)
//  +  64 MB requests in flight (48 clients x ~450 KB body; its parsed events are only queued
//            up to --queue-max-events)
//  +  32 MB allocator slack
//  = 256 MB, x 1.5 under ASan (shadow memory is 1/8 of the heap, plus redzones around each
// allocation), + 32 MB quarantine: a bound of ~460 MB from a ~40 MB start under ASan (measured
// peaks: 190-270 MB), ~280 MB with a release build. An unbounded queue, or refused bodies that
// are never freed, break it; small leaks are the soak's business (53-soak).
import assert from 'node:assert/strict';
import http from 'node:http';
import { useServer, assertCleanExit, sleep, SANITIZER_ENV, ADMIN_KEY } from './lib/server.mjs';
import { uid, parseProm, metricSum } from './lib/api.mjs';
import { IngestLoad, RssSampler, assertExactlyOnce, isAsan, request, percentile, mb, MB } from './lib/faults.mjs';

const QUEUE_MAX = 2000;
const CLIENTS = 48;
const BATCH = 400;
const PAD = 900;           // ~1.1 KB per event: ~450 KB per batch, under the 500 KB limit
const FLOOD_MS = 8000;
const fx = useServer({
  args: ['--queue-max-events', String(QUEUE_MAX), '--block-cache', '32MB'],
  env: { ASAN_OPTIONS: `${SANITIZER_ENV.ASAN_OPTIONS}:quarantine_size_mb=32` },
});
const tag = uid();
const users = Array.from({ length: 16 }, (_, i) => `flood-${i}-${tag}`);

let load = null;

async function metrics(srv) {
  const r = await srv.get('/metrics');
  assert.equal(r.status, 200);
  return parseProm(r.text);
}

// A profile reader running beside the flood; returns statuses and latencies.
function reader(port, until) {
  const out = { statuses: {}, ms: [] };
  out.done = (async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      for (let i = 0; !until(); i++) {
        try {
          const r = await request(port, agent, 'GET', `/v1/profiles/user_id:${users[i % users.length]}`,
            { auth: `Bearer ${ADMIN_KEY}`, timeoutMs: 20_000 });
          out.statuses[r.status] = (out.statuses[r.status] || 0) + 1;
          out.ms.push(r.ms);
        } catch (e) {
          out.statuses[e.code || e.message] = (out.statuses[e.code || e.message] || 0) + 1;
        }
        await sleep(20);
      }
    } finally {
      agent.destroy();
    }
  })();
  return out;
}

fx.test(`flood: ${CLIENTS} clients x ${BATCH}-event batches, queue max ${QUEUE_MAX}: 200 or 429 JSON only, memory bounded`, { timeout: 60_000 }, async (srv, t) => {
  const pid = srv.proc.pid;
  const asan = isAsan(pid);
  const rss0 = new RssSampler(pid).sample();
  const legit = 32 * MB + 128 * MB + 64 * MB + 32 * MB;
  const bound = rss0 + (asan ? 1.5 * legit + 32 * MB : legit);
  const rss = new RssSampler(pid, 250).start();
  load = new IngestLoad({ port: srv.port, users, clients: CLIENTS, batchSize: BATCH, padBytes: PAD, retry: true, failPauseMs: 0 });
  // one event per user first, so that every profile read during the flood has a profile to find
  const seed = await load.sendOne();
  assert.equal(seed.status, 200, `seeding: ${seed.status} ${seed.text}`);
  const t0 = Date.now();
  const rd = reader(srv.port, () => Date.now() - t0 > FLOOD_MS);
  try {
    await load.start(FLOOD_MS);
    await rd.done;
  } finally {
    rss.stop();
  }
  const peak = rss.max();
  t.diagnostic(`flood: ${load.summary()} in ${Date.now() - t0} ms; ${load.acked.size} events acked; ` +
    `error bodies ${JSON.stringify(Object.fromEntries(load.errorBodies))}`);
  t.diagnostic(`RSS (asan=${asan}): start ${mb(rss0)}, peak ${mb(peak)}, bound ${mb(bound)}; samples (s:MB) ${rss.describe()}`);
  t.diagnostic(`profile reads during the flood: ${JSON.stringify(rd.statuses)} p50=${percentile(rd.ms, 50)?.toFixed(1)} ` +
    `p99=${percentile(rd.ms, 99)?.toFixed(1)} max=${Math.max(...rd.ms).toFixed(1)} ms`);

  assert.ok(srv.running, 'the server died during the flood');
  assert.deepEqual(load.connErrors.slice(0, 5), [], 'connection failures during the flood');
  assert.deepEqual(load.bad, [], 'replies that are neither 200 {"success":true} nor a JSON error');
  const other = [...load.statuses.keys()].filter((s) => s !== 200 && s !== 429);
  assert.deepEqual(other, [], `only 200 and 429 are acceptable while flooding: ${load.summary()}`);
  assert.ok(load.count(429) > 0, `no 429 although ${CLIENTS} clients flooded a queue of ${QUEUE_MAX}: ${load.summary()}`);
  assert.ok(load.count(200) > 0, `nothing was acknowledged during the flood: ${load.summary()}`);
  assert.deepEqual([...load.errorBodies.keys()], ['429 overloaded'], 'a 429 must be {"error":"overloaded",...}');
  assert.deepEqual(Object.keys(rd.statuses), ['200'], `profile reads during the flood: ${JSON.stringify(rd.statuses)}`);
  assert.ok(peak < bound, `RSS peaked at ${mb(peak)}, over the bound ${mb(bound)} (start ${mb(rss0)})`);
});

fx.test('after the flood: queue empty, refused batches go through, every acked event stored exactly once', { timeout: 60_000 }, async (srv, t) => {
  assert.ok(load, 'the flood did not run');
  const m = await metrics(srv);
  assert.equal(metricSum(m, 'c360_ingest_queue_events'), 0, 'c360_ingest_queue_events after the flood');
  const rejected = m.samples.find((s) => s.name === 'c360_events_rejected_total' && s.labels.reason === 'overloaded');
  assert.ok(rejected && rejected.value > 0, 'c360_events_rejected_total{reason="overloaded"} counts the refused events');
  const pending = load.unacked.length;
  const seen = await load.drainUnacked({ budgetMs: 30_000 });
  assert.equal(load.unacked.length, 0, `refused batches still refused on an idle server: ${seen.slice(-10)}`);
  const r = await assertExactlyOnce(srv, load);
  assert.equal(r.stored, r.sent, 'every event sent (all acknowledged by now) is stored exactly once');
  t.diagnostic(`${pending} refused batches delivered afterwards; ${r.stored} events stored once`);
});

fx.test('graceful stop in the middle of a flood: 503 only from the shutdown on, exit 0, acked events durable', { timeout: 60_000 }, async (srv, t) => {
  assert.ok(load, 'the flood did not run');
  const n0 = load.log.length;
  load.start();
  let res, stopAt;
  try {
    await sleep(1500);
    stopAt = Date.now();
    res = await srv.stop();
  } finally {
    await load.stop();
  }
  const during = load.log.slice(n0);
  const before = during.filter((r) => r.t < stopAt).map((r) => r.status);
  const tally = {};
  for (const r of during) tally[r.status] = (tally[r.status] || 0) + 1;
  t.diagnostic(`flood then SIGTERM: ${JSON.stringify(tally)}`);
  assertCleanExit(res, 'graceful stop under flood');
  assert.deepEqual(before.filter((s) => s !== 200 && s !== 429), [], 'only 200/429 before the shutdown began');
  const other = during.map((r) => r.status).filter((s) => ![200, 429, 503].includes(s) &&
    !['ECONNREFUSED', 'ECONNRESET', 'EPIPE'].includes(s));
  assert.deepEqual(other, [], 'after SIGTERM: 200, 429, 503 or a closed connection only');
  assert.deepEqual(load.bad, [], 'replies that are neither 200 nor a JSON error');

  await srv.restart();
  await load.drainUnacked({ budgetMs: 30_000 });
  assert.equal(load.unacked.length, 0, 'refused batches go through after the restart');
  const r = await assertExactlyOnce(srv, load);
  assert.equal(r.stored, r.sent, 'every event sent is stored exactly once after the restart');
  t.diagnostic(`${r.stored} events stored once after the restart`);
});

fx.test('final graceful stop: exit 0, no sanitizer report', async (srv) => {
  assertCleanExit(await srv.stop());
});
