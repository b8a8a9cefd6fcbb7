// Health, readiness and metrics endpoints.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useServer, startServer, assertCleanExit, eventually, WRITE_KEY } from './lib/server.mjs';
import { assertAccepted, assertError, parseProm, metricSum, messageId, uid } from './lib/api.mjs';

const fx = useServer();

async function metrics(srv) {
  const res = await srv.get('/metrics');
  assert.equal(res.status, 200, `GET /metrics with the admin key: HTTP ${res.status} ${res.text}`);
  return { text: res.text, prom: parseProm(res.text), res };
}

fx.test('/healthz is 200 {"status":"ok"} without auth', async (srv) => {
  const res = await srv.get('/healthz', { key: null });
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.json, { status: 'ok' });
});

fx.test('/readyz is 200 without auth', async (srv) => {
  const res = await srv.get('/readyz', { key: null });
  assert.equal(res.status, 200, res.text);
});

fx.test('/metrics: 401 without a key, 401 with an unknown key, 403 with the write key', async (srv) => {
  assertError(await srv.get('/metrics', { key: null }), 401, 'unauthorized', 'no key');
  assertError(await srv.get('/metrics', { key: 'nope' }), 401, 'unauthorized', 'unknown key');
  assertError(await srv.get('/metrics', { key: WRITE_KEY }), 403, 'forbidden', 'write key');
});

fx.test('/metrics with the admin key is Prometheus text with the documented metrics', async (srv) => {
  // Make at least one request that the duration histogram can record.
  await srv.get('/healthz');
  const { text, prom, res } = await metrics(srv);
  assert.match(res.headers.get('content-type') || '', /^text\/plain/, 'Prometheus text content type');
  assert.match(text, /^c360_events_accepted_total(\{[^}]*\})? \S+/m, 'c360_events_accepted_total sample');
  assert.match(text, /^c360_store_size_bytes(\{[^}]*\})? \S+/m, 'c360_store_size_bytes sample');
  assert.match(text, /^c360_http_request_duration_seconds_bucket\{/m, 'histogram _bucket{ lines');
  assert.match(text, /^c360_http_request_duration_seconds_bucket\{[^}]*le="\+Inf"[^}]*\} \S+/m, 'an le="+Inf" bucket');
  assert.match(text, /^c360_http_request_duration_seconds_count(\{[^}]*\})? \S+/m, 'histogram _count');
  assert.match(text, /^c360_http_request_duration_seconds_sum(\{[^}]*\})? \S+/m, 'histogram _sum');
  assert.equal(prom.types.c360_http_request_duration_seconds, 'histogram', '# TYPE ... histogram');
  assert.equal(prom.types.c360_events_accepted_total, 'counter', '# TYPE ... counter');
  const size = metricSum(prom, 'c360_store_size_bytes');
  assert.ok(Number.isFinite(size) && size >= 0, `c360_store_size_bytes = ${size}`);
  // Buckets are cumulative: within one label set, counts never decrease as le grows.
  const buckets = prom.samples.filter((s) => s.name === 'c360_http_request_duration_seconds_bucket');
  const series = new Map();
  for (const b of buckets) {
    const { le, ...rest } = b.labels;
    const k = JSON.stringify(rest);
    if (!series.has(k)) series.set(k, []);
    series.get(k).push({ le: le === '+Inf' ? Infinity : Number(le), v: b.value });
  }
  assert.ok(series.size > 0);
  for (const [k, bs] of series) {
    bs.sort((a, b) => a.le - b.le);
    for (let i = 1; i < bs.length; i++) {
      assert.ok(bs[i].v >= bs[i - 1].v, `non-cumulative buckets for ${k}: ${JSON.stringify(bs)}`);
    }
    assert.equal(bs[bs.length - 1].le, Infinity, `series ${k} lacks le="+Inf"`);
  }
});

fx.test('c360_events_accepted_total grows by exactly the number of events ingested', async (srv) => {
  const before = await metrics(srv);
  const acceptedBefore = metricSum(before.prom, 'c360_events_accepted_total');
  const countBefore = metricSum(before.prom, 'c360_http_request_duration_seconds_count');
  assert.ok(Number.isFinite(acceptedBefore), 'c360_events_accepted_total present');
  const user = uid('health-');
  // 2 single events + a batch of 5 = 7 events.
  assertAccepted(await srv.ingest('/v1/track', { userId: user, event: 'Ping', messageId: messageId() }));
  assertAccepted(await srv.ingest('/v1/identify', { userId: user, traits: { plan: 'x' }, messageId: messageId() }));
  const batch = Array.from({ length: 5 }, (_, i) => ({
    type: 'track', userId: user, event: `Batch ${i}`, messageId: messageId(),
  }));
  assertAccepted(await srv.ingest('/v1/batch', { batch }));
  const after = await metrics(srv);
  const acceptedAfter = metricSum(after.prom, 'c360_events_accepted_total');
  assert.equal(acceptedAfter - acceptedBefore, 7,
    `c360_events_accepted_total went ${acceptedBefore} -> ${acceptedAfter}, expected +7`);
  const countAfter = metricSum(after.prom, 'c360_http_request_duration_seconds_count');
  // 3 ingests + the first /metrics happened in between; allow one observation still in flight.
  assert.ok(countAfter >= countBefore + 3,
    `request-duration histogram _count went ${countBefore} -> ${countAfter}; expected at least +3 (3 ingests + 1 metrics)`);
  const size = metricSum(after.prom, 'c360_store_size_bytes');
  assert.ok(Number.isFinite(size) && size >= 0, `c360_store_size_bytes = ${size}`);
  // the store's memory: the events just written are in a memtable (nothing flushed them yet)
  const memtables = metricSum(after.prom, 'c360_store_memtable_bytes');
  assert.ok(memtables > 0 && memtables <= size, `c360_store_memtable_bytes = ${memtables} (store ${size})`);
  const readers = metricSum(after.prom, 'c360_store_table_reader_bytes');
  assert.ok(Number.isFinite(readers) && readers >= 0, `c360_store_table_reader_bytes = ${readers}`);
});

fx.test('threads carry their role in their name (top -H, ps -L, perf)', async (srv) => {
  const dir = `/proc/${srv.proc.pid}/task`;
  const names = readdirSync(dir).map((t) => readFileSync(`${dir}/${t}/comm`, 'utf8').trim());
  for (const want of ['c360-http', 'c360-writer', 'c360-ingest', 'c360-audit'])
    assert.ok(names.includes(want), `no thread named ${want} among ${JSON.stringify(names)}`);
  assert.equal(names.filter((n) => n === 'c360-http').length, 2, `one c360-http thread per event loop (threads: 2): ${JSON.stringify(names)}`);
});

// reads first (docs/ARCHITECTURE.md): RocksDB's flush thread runs at the lowest priority like its
// compaction threads (RocksDB lowers a pool thread when it takes its next job: a backup's
// checkpoint flushes the memtables)
fx.test("RocksDB's flush thread runs at nice 19 like its compaction threads (ingest_nice > 0)", async (srv) => {
  assertAccepted(await srv.ingest('/v1/track', { userId: uid('nice-'), event: 'Flushed', messageId: messageId() }));
  const backup = mkdtempSync(join(tmpdir(), 'c360-health-'));
  try {
    const res = await srv.request('POST', '/v1/admin/backup', { body: JSON.stringify({ dir: join(backup, 'b') }),
      headers: { 'content-type': 'application/json' }, auth: `Bearer ${srv.adminKey}` });
    assert.equal(res.status, 200, res.text);
  } finally {
    rmSync(backup, { recursive: true, force: true });
  }
  const dir = `/proc/${srv.proc.pid}/task`;
  const nice = (t) => Number(readFileSync(`${dir}/${t}/stat`, 'utf8').split(') ')[1].split(' ')[16]);
  const flush = readdirSync(dir).filter((t) => readFileSync(`${dir}/${t}/comm`, 'utf8').trim() === 'rocksdb:high');
  assert.equal(flush.length, 1, 'one flush thread');
  assert.equal(nice(flush[0]), 19, 'the flush thread after a flush');
});

fx.test('graceful stop: exit code 0, no sanitizer report', async (srv) => {
  assertCleanExit(await srv.stop());
});

// docs/CONFIG.md warm_cache: at start the store is read into the page and block caches in the
// background (logged, and seen in c360_block_cache_bytes), unless switched off
test('warm_cache: serve warms the caches at start; --warm-cache false does not', async () => {
  // a store with 2,000 customers in table files (a clean stop flushes them)
  const first = await startServer();
  const dataDir = first.dataDir;
  try {
    for (let b = 0; b < 20; b++) {
      const batch = Array.from({ length: 100 }, (_, i) => ({
        type: 'identify', userId: `warm-${b}-${i}`, traits: { email: `warm-${b}-${i}@example.com`, name: 'x'.repeat(200) },
        messageId: messageId(),
      }));
      assertAccepted(await first.ingest('/v1/batch', { batch }));
    }
    assertCleanExit(await first.stop());
    const cached = {};
    for (const [args, warms] of [[[], true], [['--warm-cache', 'false'], false]]) {
      const srv = await startServer({ args, dataDir });
      try {
        const ready = await srv.get('/readyz', { key: null });
        assert.equal(ready.status, 200, ready.text);
        if (warms) {
          await eventually(() => assert.match(srv.stderr, /"msg":"block cache warmed"/, 'no "block cache warmed" log line'));
          assert.match(srv.stderr, /"msg":"warming the page cache with the main column family"/);
        }
        cached[warms] = metricSum((await metrics(srv)).prom, 'c360_block_cache_bytes');
        const res = await srv.stop();
        assertCleanExit(res);
        if (!warms) assert.doesNotMatch(res.stderr, /warm/, `${args.join(' ')}: the log mentions warming`);
      } finally {
        await srv.cleanup();
      }
    }
    // the 2,000 profiles and their identities (1.2 MB when written) against what a start reads by itself (9 KB)
    assert.ok(cached[true] > 300_000, `c360_block_cache_bytes after warming: ${cached[true]}`);
    assert.ok(cached[false] < cached[true] / 4, `c360_block_cache_bytes without warming: ${cached[false]} (warmed: ${cached[true]})`);
  } finally {
    await first.cleanup();
  }
});
