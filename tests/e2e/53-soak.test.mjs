// Soak: a steady mixed load (ingest + profile/timeline/identities reads, keep-alive and new
// connections) for C360_SOAK_SECONDS (default 20 in CI), sampling the server's RSS every second.
// Expected: no error at all, every acknowledged event stored once, and memory flat: the largest
// RSS of the last third of the run exceeds the largest of the middle third by at most MARGIN,
// once the memtables and the block cache are taken out (below).
//
// What grows legitimately, and how the test keeps it out of the comparison:
// - RocksDB's memtable grows with every write until it is flushed at write_buffer_size (32 MB;
//   ~40-60 s at this load), then drops: a saw tooth of ~30 MB that would dominate any margin.
//   Its size is measured (c360_store_size_bytes = SST files + memtables, minus the .sst files in
//   the data dir) and subtracted from each RSS sample (x 1.125 under ASan: 1/8 shadow memory).
// - The block cache fills up to its cap (16 MB here) as table files are read: its usage
//   (c360_block_cache_bytes) is subtracted too. What remains is what c360 holds itself.
// - The load is rate-limited (~400 events/s, ~120 reads/s) over a fixed set of 40 customers
//   with fixed event names and trait keys, so profiles and the writer's working set stop
//   growing at once; the block cache is capped at 16 MB (--block-cache) and ASan's quarantine
//   of freed memory at 8 MB (ASAN_OPTIONS) instead of 256 MB, so both fill during warm-up.
// MARGIN = 16 MB: under ASan the allocator still warms up by ~1 MB/s during the first minute
// (measured; a release build stays within ~3 MB), i.e. ~7 MB between the middle and the last
// third of a 20 s run, plus up to ~8 MB while a flush writes an SST file that the store does not
// count yet. Sensitivity: ~1000 requests and ~2700 events per third at 20 s, so a CI run catches
// leaks of ~16 KB per request; C360_SOAK_SECONDS=600 (~30k requests per third) ~500 bytes.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { useServer, assertCleanExit, sleep, SANITIZER_ENV, ADMIN_KEY } from './lib/server.mjs';
import { uid } from './lib/api.mjs';
import { IngestLoad, request, percentile, mb, MB, isAsan, rssBytes, assertExactlyOnce } from './lib/faults.mjs';

const SECONDS = Number(process.env.C360_SOAK_SECONDS || 20);
const MARGIN = 16 * MB;
const fx = useServer({
  args: ['--block-cache', '16MB'],
  env: { ASAN_OPTIONS: `${SANITIZER_ENV.ASAN_OPTIONS}:quarantine_size_mb=8` },
});
const tag = uid();
const users = Array.from({ length: 40 }, (_, i) => `soak-${i}-${tag}`);

// Bytes in the store's SST files (to tell the memtables apart in c360_store_size_bytes).
function sstBytes(dir) {
  let n = 0;
  for (const f of fs.readdirSync(dir)) {
    if (!f.endsWith('.sst')) continue;
    try { n += fs.statSync(path.join(dir, f)).size; } catch { /* deleted meanwhile */ }
  }
  return n;
}

// Rate-limited readers: profile, timeline page and identities, round robin over the users.
function readers(port, stopAt, { fresh = false, pauseMs }) {
  const out = { statuses: {}, ms: [], failures: [] };
  out.done = (async () => {
    const agent = fresh ? new http.Agent({ keepAlive: false }) : new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      for (let i = 0; Date.now() < stopAt; i++) {
        const u = encodeURIComponent(users[i % users.length]);
        const p = [`/v1/profiles/user_id:${u}`, `/v1/profiles/user_id:${u}/events?limit=50`, `/v1/profiles/user_id:${u}/identities`][i % 3];
        try {
          const r = await request(port, agent, 'GET', p, { auth: `Bearer ${ADMIN_KEY}`, timeoutMs: 10_000 });
          out.statuses[r.status] = (out.statuses[r.status] || 0) + 1;
          if (r.status !== 200 && out.failures.length < 10) out.failures.push(`GET ${p} -> ${r.status} ${r.text.slice(0, 200)}`);
          out.ms.push(r.ms);
        } catch (e) {
          out.statuses[e.code || e.message] = (out.statuses[e.code || e.message] || 0) + 1;
          if (out.failures.length < 10) out.failures.push(`GET ${p}: ${e.code || e.message}`);
        }
        await sleep(pauseMs);
      }
    } finally {
      agent.destroy();
    }
  })();
  return out;
}

let load = null;

fx.test(`soak ${SECONDS} s: no errors, RSS of the last third <= middle third + ${MARGIN / MB} MB`, { timeout: SECONDS * 1000 + 60_000 }, async (srv, t) => {
  load = new IngestLoad({ port: srv.port, users, clients: 2, batchSize: 10, padBytes: 100, pauseMs: 40, retry: false });
  // every customer exists before the readers start
  for (let i = 0; i < users.length / 10; i++) assert.equal((await load.sendOne()).status, 200);

  const pid = srv.proc.pid;
  const k = isAsan(pid) ? 1.125 : 1; // ASan adds 1/8 shadow to every heap byte
  const samples = []; // {t, rss, mem}: RSS, and memtable + block cache bytes (c360_store_size_bytes - SST files + c360_block_cache_bytes)
  const t0 = Date.now();
  const sampler = setInterval(async () => {
    const t = Date.now() - t0;
    const rss = rssBytes(pid);
    try {
      const text = (await srv.get('/metrics')).text;
      const m = /^c360_store_size_bytes (\d+)/m.exec(text), bc = /^c360_block_cache_bytes (\d+)/m.exec(text);
      samples.push({ t, rss, mem: Math.max(0, Number(m[1]) - sstBytes(srv.dataDir)) + Number(bc[1]) });
    } catch { /* a failing server is reported by the load */ }
  }, 1000);
  sampler.unref();
  const stopAt = t0 + SECONDS * 1000;
  let ka, fr;
  try {
    ka = [readers(srv.port, stopAt, { pauseMs: 15 }), readers(srv.port, stopAt, { pauseMs: 15 })];
    fr = readers(srv.port, stopAt, { fresh: true, pauseMs: 50 });
    await load.start(SECONDS * 1000);
    await Promise.all([...ka, fr].map((r) => r.done));
  } finally {
    clearInterval(sampler);
  }
  const T = Date.now() - t0;
  const third = (i) => samples.filter((x) => x.t >= (i * T) / 3 && x.t <= ((i + 1) * T) / 3);
  const maxRss = (xs) => Math.max(...xs.map((x) => x.rss));
  const maxAdj = (xs) => Math.max(...xs.map((x) => x.rss - k * x.mem));
  const [first, middle, last] = [third(0), third(1), third(2)];
  const reads = [...ka, fr].flatMap((r) => r.ms);
  const rstat = {};
  for (const r of [...ka, fr]) for (const [key, v] of Object.entries(r.statuses)) rstat[key] = (rstat[key] || 0) + v;
  t.diagnostic(`ingest ${load.summary()} (${load.acked.size} events, ${(load.acked.size / (T / 1000)).toFixed(0)}/s); ` +
    `reads ${JSON.stringify(rstat)} (${(reads.length / (T / 1000)).toFixed(0)}/s) p50=${percentile(reads, 50).toFixed(1)} ` +
    `p99=${percentile(reads, 99).toFixed(1)} ms`);
  t.diagnostic(`max RSS per third: ${mb(maxRss(first))} | ${mb(maxRss(middle))} | ${mb(maxRss(last))}; ` +
    `less memtables and block cache: ${mb(maxAdj(first))} | ${mb(maxAdj(middle))} | ${mb(maxAdj(last))} (asan=${k > 1})`);
  t.diagnostic(`samples (s: RSS/memtables+block cache MB) ${samples.map((x) => `${(x.t / 1000).toFixed(0)}:${(x.rss / MB).toFixed(0)}/${(x.mem / MB).toFixed(0)}`).join(' ')}`);

  assert.ok(srv.running, 'the server died during the soak');
  assert.deepEqual([...load.statuses.keys()], [200], `ingest replies: ${load.summary()} ${load.bad.join(' | ')}`);
  for (const r of [...ka, fr]) assert.deepEqual(r.failures, [], 'reads failed');
  assert.ok(load.acked.size >= SECONDS * 50, `only ${load.acked.size} events in ${SECONDS} s: the load was not steady`);
  assert.ok(reads.length >= SECONDS * 20, `only ${reads.length} reads in ${SECONDS} s`);
  assert.ok(middle.length >= 2 && last.length >= 2, `too few samples: ${samples.length}`);
  assert.ok(maxAdj(last) <= maxAdj(middle) + MARGIN,
    `memory grew: max RSS less memtables and block cache ${mb(maxAdj(last))} in the last third vs ${mb(maxAdj(middle))} in the ` +
    `middle third (margin ${mb(MARGIN)}); raw max RSS ${mb(maxRss(middle))} -> ${mb(maxRss(last))}`);
});

fx.test('after the soak: every acknowledged event stored exactly once', { timeout: 60_000 }, async (srv) => {
  assert.ok(load, 'the soak did not run');
  const r = await assertExactlyOnce(srv, load);
  assert.equal(r.stored, r.acked);
});

fx.test('final graceful stop: exit 0, no sanitizer report', async (srv) => {
  assertCleanExit(await srv.stop());
});
