// Helpers for the fault tests (50-*.test.mjs): a tmpfs to fill, ballast files, RSS sampling,
// a steady ingest load that records every acknowledgement, and the exactly-once check.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after } from 'node:test';
import { basicAuth, sleep, WRITE_KEY, ADMIN_KEY } from './server.mjs';
import { getAllEvents, messageId } from './api.mjs';

// ---- filesystems ----------------------------------------------------------------

// Mounts a tmpfs of `sizeMB` on a fresh temp dir. Returns {dir, unmount()}; unmount() is
// idempotent, retries while the mount is busy and falls back to a lazy unmount.
export function mountTmpfs(sizeMB, prefix = 'c360-tmpfs-') {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMB}m,mode=0700`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (e) {
    fs.rmdirSync(dir);
    throw new Error(`cannot mount a ${sizeMB} MB tmpfs on ${dir} (root and mount -t tmpfs are needed): ` +
      `${e.stderr?.toString().trim() || e.message}`);
  }
  let mounted = true;
  // Last resort if the test process ends without the after hook (e.g. interrupted).
  const onExit = () => {
    if (!mounted) return;
    try { execFileSync('umount', ['-l', dir], { stdio: 'ignore' }); fs.rmdirSync(dir); } catch { /* best effort */ }
  };
  process.on('exit', onExit);
  return {
    dir,
    async unmount() {
      process.off('exit', onExit);
      if (!mounted) return;
      let last;
      for (let i = 0; i < 20; i++) {
        try {
          execFileSync('umount', [dir], { stdio: 'pipe' });
          last = null;
          break;
        } catch (e) {
          last = e;
          await sleep(100);
        }
      }
      if (last) execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
      mounted = false;
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

// Free bytes on the filesystem holding `p` (for an unprivileged writer).
export function freeBytes(p) {
  const s = fs.statfsSync(p);
  return s.bavail * s.bsize;
}

// Writes `file` until `maxBytes` are written or the filesystem is full (ENOSPC).
// Returns {bytes, full}. The data is written with write(2) into tmpfs pages, so it really
// occupies the space.
export function writeBallast(file, maxBytes = Infinity) {
  const fd = fs.openSync(file, 'a');
  let bytes = 0, full = false;
  try {
    for (const size of [1 << 20, 64 << 10, 4096, 512]) {
      const chunk = Buffer.alloc(size, 0xa5);
      for (;;) {
        if (bytes + size > maxBytes) break;
        try {
          fs.writeSync(fd, chunk);
          bytes += size;
        } catch (e) {
          if (e.code !== 'ENOSPC') throw e;
          full = true;
          break;
        }
      }
    }
  } finally {
    fs.closeSync(fd);
  }
  return { bytes, full };
}

// ---- processes ----------------------------------------------------------------------

function procStatus(pid) {
  try {
    return fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return null;
  }
}

// Resident set size of `pid` in bytes (VmRSS), or null if the process is gone.
export function rssBytes(pid) {
  const s = procStatus(pid);
  const m = s && /^VmRSS:\s+(\d+)\s+kB/m.exec(s);
  return m ? Number(m[1]) * 1024 : null;
}

// True if the process has AddressSanitizer's runtime mapped (the build-san binary).
export function isAsan(pid) {
  try {
    return /libasan|asan_rtl/.test(fs.readFileSync(`/proc/${pid}/maps`, 'utf8'));
  } catch {
    return false;
  }
}

export const MB = 1024 * 1024;
export const mb = (b) => (b / MB).toFixed(1) + ' MB';

// Samples VmRSS of `pid` every `intervalMs`: {t (ms since start), rss (bytes)}.
export class RssSampler {
  constructor(pid, intervalMs = 1000) {
    this.pid = pid;
    this.intervalMs = intervalMs;
    this.samples = [];
    this.t0 = Date.now();
    this.timer = null;
  }
  sample() {
    const rss = rssBytes(this.pid);
    if (rss !== null) this.samples.push({ t: Date.now() - this.t0, rss });
    return rss;
  }
  start() {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref(); // a failed test must not keep the process alive
    return this;
  }
  stop() {
    clearInterval(this.timer);
    this.timer = null;
    this.sample();
    return this.samples;
  }
  max() { return Math.max(...this.samples.map((s) => s.rss)); }
  describe() { return this.samples.map((s) => `${(s.t / 1000).toFixed(1)}s:${(s.rss / MB).toFixed(0)}`).join(' '); }
}

// ---- HTTP ---------------------------------------------------------------------------

// One request on `agent`; resolves {status, text, json, ms} or rejects on a connection failure.
export function request(port, agent, method, p, { body, auth, timeoutMs = 30_000 } = {}) {
  const payload = body === undefined ? null : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
  const headers = {};
  if (auth) headers.authorization = auth;
  if (payload) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = payload.length;
  }
  const t0 = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: p, method, agent, headers, timeout: timeoutMs }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        let json;
        try { json = JSON.parse(text); } catch { json = undefined; }
        resolve({ status: res.statusCode, text, json, headers: res.headers, ms: Number(process.hrtime.bigint() - t0) / 1e6 });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`request timeout after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(payload);
  });
}

export const postIngest = (port, agent, p, body, o = {}) =>
  request(port, agent, 'POST', p, { body, auth: basicAuth(WRITE_KEY), ...o });
export const getAdmin = (port, agent, p, o = {}) =>
  request(port, agent, 'GET', p, { auth: `Bearer ${ADMIN_KEY}`, ...o });

// p-th percentile (0..100) of an array of numbers (nearest rank).
export function percentile(xs, p) {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

// An error reply as docs/API.md specifies it: JSON object with string `error` and `message`.
export function isJsonError(res, code) {
  return res.json && typeof res.json === 'object' && !Array.isArray(res.json) &&
    (code === undefined ? typeof res.json.error === 'string' : res.json.error === code) &&
    typeof res.json.message === 'string' && res.json.message.length > 0 &&
    /application\/json/i.test(res.headers?.['content-type'] || '');
}

// ---- ingest load --------------------------------------------------------------------

// Concurrent clients that POST /v1/batch back to back, each on its own keep-alive connection,
// with unique messageIds. Events carry only a userId (from `users`), so no merges happen and
// every event lands in exactly one known timeline. Records every sent event, every acknowledged
// one, each reply's status, and the batches not acknowledged (retried first when `retry`).
const loads = new Set();
// A load left running by a failed test must not keep the test process alive.
after(() => { for (const l of loads) l.running = false; });

export class IngestLoad {
  constructor({ port, users, batchSize = 20, padBytes = 200, clients = 4, pauseMs = 0, retry = true,
    failPauseMs = 20, timeoutMs = 30_000, eventName = 'Fault Test' }) {
    Object.assign(this, { port, users, batchSize, padBytes, clients, pauseMs, retry, failPauseMs, timeoutMs, eventName });
    this.sent = new Map();      // messageId -> userId
    this.acked = new Set();     // messageIds acknowledged with 200
    this.unacked = [];          // batches whose last attempt was not a 200
    this.statuses = new Map();  // status -> count ('ECONN...' for connection failures)
    this.bad = [];              // replies that are neither 200 nor a JSON error (first 20)
    this.errorBodies = new Map(); // `${status} ${error}` -> count
    this.log = [];              // {t, status, ms} per reply
    this.connErrors = [];
    this.seq = 0;
    this.running = false;
  }

  makeBatch() {
    const pad = 'x'.repeat(this.padBytes);
    return Array.from({ length: this.batchSize }, (_, i) => {
      const mid = messageId();
      const userId = this.users[(this.seq++) % this.users.length];
      this.sent.set(mid, userId);
      return i % 10 === 9
        ? { type: 'identify', userId, messageId: mid, traits: { plan: `p${this.seq % 7}`, pad } }
        : { type: 'track', userId, messageId: mid, event: this.eventName, properties: { i, pad } };
    });
  }

  count(status) { return this.statuses.get(status) || 0; }
  get total() { return [...this.statuses.values()].reduce((a, b) => a + b, 0); }
  summary() { return JSON.stringify(Object.fromEntries(this.statuses)); }
  // Events sent but never acknowledged (yet).
  unackedIds() { return [...this.sent.keys()].filter((m) => !this.acked.has(m)); }

  async _client(stopAt) {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      while (this.running && (!stopAt || Date.now() < stopAt)) {
        const batch = this.retry && this.unacked.length ? this.unacked.shift() : this.makeBatch();
        let res;
        try {
          res = await postIngest(this.port, agent, '/v1/batch', { batch }, { timeoutMs: this.timeoutMs });
        } catch (e) {
          const code = e.code || e.message;
          this.statuses.set(code, this.count(code) + 1);
          this.connErrors.push({ t: Date.now(), error: code });
          this.log.push({ t: Date.now(), status: code, ms: null });
          this.unacked.push(batch);
          await sleep(100);
          continue;
        }
        this.statuses.set(res.status, this.count(res.status) + 1);
        this.log.push({ t: Date.now(), status: res.status, ms: res.ms });
        if (res.status === 200) {
          if (res.json?.success !== true && this.bad.length < 20) this.bad.push(`200 ${res.text.slice(0, 200)}`);
          for (const e of batch) this.acked.add(e.messageId);
          if (this.pauseMs) await sleep(this.pauseMs);
        } else {
          if (!isJsonError(res)) {
            if (this.bad.length < 20) this.bad.push(`${res.status} ${res.headers['content-type']} ${res.text.slice(0, 200)}`);
          } else {
            const k = `${res.status} ${res.json.error}`;
            this.errorBodies.set(k, (this.errorBodies.get(k) || 0) + 1);
          }
          this.unacked.push(batch);
          await sleep(this.failPauseMs);
        }
      }
    } finally {
      agent.destroy();
    }
  }

  // Sends one new batch on a fresh connection; returns the reply.
  async sendOne() {
    const agent = new http.Agent({ keepAlive: false });
    const batch = this.makeBatch();
    const res = await postIngest(this.port, agent, '/v1/batch', { batch }, { timeoutMs: this.timeoutMs });
    this.statuses.set(res.status, this.count(res.status) + 1);
    if (res.status === 200) for (const e of batch) this.acked.add(e.messageId);
    else this.unacked.push(batch);
    return res;
  }

  // Starts the clients (optionally for `durationMs`); returns a promise of their end.
  start(durationMs) {
    loads.add(this);
    this.running = true;
    const stopAt = durationMs ? Date.now() + durationMs : 0;
    this.done = Promise.all(Array.from({ length: this.clients }, () => this._client(stopAt)));
    return this.done;
  }

  async stop() {
    this.running = false;
    await this.done;
  }

  // Retries every unacknowledged batch (same messageIds) on one connection until all are
  // acknowledged or `budgetMs` passes. Returns the statuses seen.
  async drainUnacked({ budgetMs = 20_000 } = {}) {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const seen = [];
    const deadline = Date.now() + budgetMs;
    try {
      while (this.unacked.length && Date.now() < deadline) {
        const batch = this.unacked.shift();
        let res;
        try {
          res = await postIngest(this.port, agent, '/v1/batch', { batch }, { timeoutMs: this.timeoutMs });
        } catch (e) {
          seen.push(e.code || e.message);
          this.unacked.push(batch);
          await sleep(200);
          continue;
        }
        seen.push(res.status);
        if (res.status === 200) for (const e of batch) this.acked.add(e.messageId);
        else {
          this.unacked.push(batch);
          await sleep(100);
        }
      }
    } finally {
      agent.destroy();
    }
    return seen;
  }
}

// Walks every user's timeline. Returns {count: Map messageId -> times stored, foreign: [...],
// totals: Map user -> counts.total}.
export async function readStored(srv, users) {
  const count = new Map();
  const foreign = [];
  const totals = new Map();
  for (const u of users) {
    const p = await srv.get(`/v1/profiles/user_id:${encodeURIComponent(u)}`);
    if (p.status === 404) continue; // nothing stored for this user (yet)
    assert.equal(p.status, 200, `GET profile user_id:${u}: ${p.status} ${p.text.slice(0, 300)}`);
    totals.set(u, p.json.counts?.total);
    const { events } = await getAllEvents(srv, 'user_id', u, { limit: 1000 });
    for (const e of events) {
      if (e.userId !== u) foreign.push(`${e.messageId} (userId ${e.userId}) in ${u}'s timeline`);
      count.set(e.messageId, (count.get(e.messageId) || 0) + 1);
    }
  }
  return { count, foreign, totals };
}

// The exactly-once check of a load: every acknowledged event is stored once, nothing is stored
// twice, nothing is stored that was not sent, and each profile's counts.total equals the
// number of events in its timeline. Events sent but never acknowledged may be stored (once)
// or not. Returns a short summary for diagnostics.
export async function assertExactlyOnce(srv, load, users = load.users) {
  const { count, foreign, totals } = await readStored(srv, users);
  const dups = [...count].filter(([, c]) => c > 1);
  assert.deepEqual(dups.slice(0, 10), [], `${dups.length} events are stored more than once`);
  assert.deepEqual(foreign.slice(0, 10), [], 'events in the wrong timeline');
  const unknown = [...count.keys()].filter((m) => !load.sent.has(m));
  assert.deepEqual(unknown.slice(0, 10), [], `${unknown.length} stored events were never sent`);
  const missing = [...load.acked].filter((m) => !count.has(m));
  assert.deepEqual(missing.slice(0, 10), [],
    `${missing.length} of ${load.acked.size} acknowledged events are missing from the timelines`);
  for (const [u, total] of totals) {
    const n = [...count].filter(([m]) => load.sent.get(m) === u).length;
    assert.equal(total, n, `user_id:${u}: counts.total=${total} but its timeline holds ${n} events`);
  }
  const unackedStored = [...count.keys()].filter((m) => !load.acked.has(m)).length;
  return { stored: count.size, acked: load.acked.size, sent: load.sent.size, unackedStored };
}

