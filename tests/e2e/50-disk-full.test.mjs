// Disk full: the data dir lives on a small tmpfs that a ballast file fills while clients ingest.
//
// Expected (docs/API.md): while the store cannot write, ingest answers 503 `unavailable` with a
// JSON body and stores nothing of that request; it never answers 200 for something it did not
// store and never crashes; profile reads keep working. Once the ballast is deleted, ingest
// answers 200 again without a restart. A graceful stop exits 0 with no sanitizer report, and a
// restart on the same dir holds every acknowledged event exactly once.
//
// Sizing. RocksDB (librocksdb 7.8) resumes writes after a "no space" error by itself only when at
// least write_buffer_size (32 MB in store.c) is free (SstFileManager's reserved disk buffer), and
// it preallocates each WAL file with fallocate(1.1 x write_buffer_size = 35 MB), which would
// hide a full disk from the WAL if it succeeded. So the tmpfs is 96 MB, and a first ballast
// (written before the server starts) leaves about 20 MB free: the WAL preallocation fails (it
// is only an optimisation), the WAL grows page by page and hits ENOSPC as soon as the second
// ballast fills the rest; deleting both ballasts frees ~90 MB, enough for RocksDB to resume.
//
//   C360_DISK_RESUME_S   seconds to wait for ingest to resume after the space is freed
//                        (default 20: RocksDB's recovery thread polls free space every 5 s)
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test, after } from 'node:test';
import { startServer, assertCleanExit, annotate, sleep } from './lib/server.mjs';
import { uid } from './lib/api.mjs';
import {
  mountTmpfs, writeBallast, freeBytes, IngestLoad, assertExactlyOnce, readStored, mb, MB,
} from './lib/faults.mjs';

const TMPFS_MB = 96;
const FREE_AT_START = 20 * MB;
const RESUME_S = Number(process.env.C360_DISK_RESUME_S || 20);
const tag = uid();
const users = Array.from({ length: 8 }, (_, i) => `disk-${i}-${tag}`);

let fsm = null;       // the tmpfs
let srv = null;
let load = null;
let ballasts = [];
const notes = [];     // observations, printed as diagnostics
let pid0 = null;      // pid of the server that saw the full disk

after(async () => {
  if (srv) await srv.cleanup().catch(() => {});
  if (fsm) await fsm.unmount();
}, { timeout: 60_000 });

// {status: count} of a list, as text.
function tally(xs) {
  const o = {};
  for (const x of xs) o[x] = (o[x] || 0) + 1;
  return JSON.stringify(o);
}

// Runs fn with the server's log tail appended to any failure.
async function withSrv(fn) {
  try {
    return await fn();
  } catch (e) {
    if (notes.length && e instanceof Error && !e.c360Annotated) e.message += `\n\nobservations:\n  ${notes.join('\n  ')}`;
    throw annotate(e, srv);
  }
}

const skip = process.getuid?.() !== 0 ? 'needs root to mount a tmpfs' : false;

test('setup: server on a nearly full tmpfs', { skip, timeout: 40_000 }, async () => {
  fsm = mountTmpfs(TMPFS_MB, 'c360-e2e-disk-');
  const pre = path.join(fsm.dir, 'ballast-0');
  const free = freeBytes(fsm.dir);
  writeBallast(pre, free - FREE_AT_START);
  ballasts.push(pre);
  const dataDir = path.join(fsm.dir, 'data');
  fs.mkdirSync(dataDir);
  srv = await startServer({ dataDir });
  pid0 = srv.proc.pid;
  notes.push(`tmpfs ${TMPFS_MB} MB at ${fsm.dir}; free after server start: ${mb(freeBytes(fsm.dir))}`);
});

test('disk full: ingest answers 503 JSON (never 200, never a crash), reads keep working', { skip, timeout: 60_000 }, () => withSrv(async () => {
  assert.ok(srv, 'setup failed');
  load = new IngestLoad({ port: srv.port, users, clients: 3, batchSize: 20, padBytes: 300, retry: true });
  load.start();
  let fillAt, reads = [], ready, health;
  try {
    // A baseline of acknowledged events before the disk fills.
    for (let i = 0; i < 200 && load.acked.size < 400; i++) await sleep(50);
    assert.ok(load.acked.size >= 400, `only ${load.acked.size} events acknowledged before the disk filled: ${load.summary()}`);
    const ackedBefore = load.acked.size;

    const ballast = path.join(fsm.dir, 'ballast-1');
    ballasts.push(ballast);
    fillAt = Date.now();
    const { bytes, full } = writeBallast(ballast);
    assert.ok(full, 'the ballast did not fill the tmpfs');
    notes.push(`ballast-1: ${mb(bytes)} written at +0 ms; ${ackedBefore} events acked before`);

    // Ingest keeps trying; wait for the refusals (the last pages of the WAL may still take a few).
    const firstRefusal = () => load.log.find((r) => r.t >= fillAt && r.status !== 200);
    for (let i = 0; i < 100 && !firstRefusal(); i++) await sleep(50);
    // Reads while the disk is full and ingest keeps failing.
    for (let i = 0; i < 10; i++) {
      for (const u of users.slice(0, 4)) {
        try {
          const r = await srv.get(`/v1/profiles/user_id:${u}`);
          reads.push(r.status);
        } catch (e) {
          reads.push(e.message.split('\n')[0]);
        }
      }
      await sleep(100);
    }
    const probe = async (p, auth = false) => {
      try {
        const r = auth ? await srv.get(p) : await srv.request('GET', p);
        return r;
      } catch (e) {
        return { status: e.message.split('\n')[0], text: '' };
      }
    };
    ready = await probe('/readyz');
    health = await probe('/healthz');
  } finally {
    await load.stop();
  }
  const seqAfter = load.log.filter((r) => r.t >= fillAt).map((r) => r.status);
  notes.push(`statuses after the fill (in order, first 30): ${seqAfter.slice(0, 30).join(',')}`);
  notes.push(`all statuses: ${load.summary()}; error bodies: ${JSON.stringify(Object.fromEntries(load.errorBodies))}`);
  notes.push(`profile reads during the outage: ${tally(reads)}`);
  notes.push(`/readyz during the outage: ${ready.status} ${ready.text}; /healthz: ${health.status} ${health.text}`);

  assert.ok(srv.running, `the server died while the disk was full (code=${srv.proc.exitCode} signal=${srv.proc.signalCode})`);
  assert.deepEqual(load.connErrors.slice(0, 5), [], 'connection failures during the outage');
  assert.deepEqual(load.bad, [], 'replies that are neither 200 {"success":true} nor a JSON error');
  const other = [...load.statuses.keys()].filter((s) => s !== 200 && s !== 503);
  assert.deepEqual(other, [], `only 200 and 503 are acceptable for valid batches: ${load.summary()}`);
  assert.ok(load.count(503) > 0, `no 503 although the disk was full: ${load.summary()}`);
  assert.deepEqual([...load.errorBodies.keys()], ['503 unavailable'], 'a 503 must be {"error":"unavailable",...}');
  assert.ok(reads.every((s) => s === 200), `profile reads must keep working while the disk is full: ${tally(reads)}`);
  assert.equal(health.status, 200, '/healthz while the disk is full');
  assert.ok(ready.status === 200 || ready.status === 503, `/readyz must answer 200 or 503, got ${ready.status}`);
  assert.ok(typeof JSON.parse(ready.text).status === 'string', `/readyz body must be JSON with a status: ${ready.text}`);

  // Read-your-writes for what was acknowledged, and nothing of a refused request is visible
  // (only userId events: no merges, so the engine.h caveat about merges does not apply).
  const { count } = await readStored(srv, users);
  const missing = [...load.acked].filter((m) => !count.has(m));
  assert.equal(missing.length, 0, `${missing.length} acknowledged events are not readable during the outage`);
  const leaked = load.unackedIds().filter((m) => count.has(m));
  assert.equal(leaked.length, 0, `${leaked.length} events of refused (503) requests are visible; the API says nothing of them is stored`);
}));

test(`space freed: ingest resumes (200) within ${RESUME_S} s without a restart`, { skip, timeout: RESUME_S * 1000 + 30_000 }, () => withSrv(async () => {
  assert.ok(srv, 'setup failed');
  for (const b of ballasts) fs.rmSync(b, { force: true });
  ballasts = [];
  const freedAt = Date.now();
  notes.push(`ballasts deleted; free now ${mb(freeBytes(fsm.dir))}`);
  assert.ok(srv.running, `the server is not running any more (code=${srv.proc.exitCode} signal=${srv.proc.signalCode})`);
  const n0 = load.log.length;
  load.start();
  const resumed = () => load.log.slice(n0).find((r) => r.status === 200);
  let ok;
  try {
    while (!resumed() && Date.now() - freedAt < RESUME_S * 1000 && srv.running) await sleep(100);
    ok = resumed();
    if (ok) await sleep(1000); // some more ingest after the recovery
  } finally {
    await load.stop();
  }
  const seq = load.log.slice(n0).map((r) => r.status);
  const counts = tally(seq);
  notes.push(`after freeing: ${counts}; first 200 after ${ok ? ok.t - freedAt + ' ms' : 'never'}`);
  assert.ok(srv.running, `the server died after the space was freed (code=${srv.proc.exitCode} signal=${srv.proc.signalCode})`);
  assert.ok(ok, `ingest did not resume within ${RESUME_S} s after freeing the disk (statuses: ${counts})`);
  const other = seq.filter((s) => s !== 200 && s !== 503);
  assert.deepEqual(other.slice(0, 10), [], 'only 200 and 503 are acceptable');
  // Everything refused during the outage is delivered now (same messageIds, as a client retries).
  const seen = await load.drainUnacked({ budgetMs: 15_000 });
  assert.equal(load.unacked.length, 0, `batches still refused after recovery: ${seen.slice(-10).join(',')}`);
  const { stored, acked, sent } = await assertExactlyOnce(srv, load);
  notes.push(`live check: ${stored} stored, ${acked} acked, ${sent} sent`);
}));

test('graceful stop after the disk-full episode: exit 0, no sanitizer report', { skip, timeout: 60_000 }, () => withSrv(async () => {
  assert.ok(srv, 'setup failed');
  for (const b of ballasts) fs.rmSync(b, { force: true });
  ballasts = [];
  assertCleanExit(await srv.stop(), `graceful stop of the server that saw the full disk (pid ${pid0})`);
}));

test('restart on the same dir: every acknowledged event stored exactly once, store intact', { skip, timeout: 60_000 }, () => withSrv(async () => {
  assert.ok(srv && load, 'setup failed');
  if (srv.running) await srv.kill9(); // only when the previous test failed
  await srv.restart();
  // A store that was written while the disk filled must open and take writes again.
  const again = new IngestLoad({ port: srv.port, users, clients: 2, retry: true });
  again.sent = load.sent;
  again.acked = load.acked;
  again.unacked = load.unacked;
  await again.start(1500);
  const seen = await again.drainUnacked({ budgetMs: 10_000 });
  assert.deepEqual([...again.statuses.keys()].filter((s) => s !== 200), [], `ingest after restart: ${again.summary()} ${seen}`);
  const r = await assertExactlyOnce(srv, again);
  notes.push(`after restart: ${r.stored} stored, ${r.acked} acked, ${r.sent} sent, ${r.unackedStored} stored but never acked`);
  assert.equal(r.stored, r.sent, 'every event sent (all eventually acknowledged) is stored exactly once');
  assert.equal((await srv.get('/metrics')).status, 200, '/metrics after restart');
}));

test('final graceful stop: exit 0, no sanitizer report', { skip, timeout: 60_000 }, (t) => withSrv(async () => {
  assert.ok(srv, 'setup failed');
  for (const n of notes) t.diagnostic(n);
  assertCleanExit(await srv.stop());
}));
