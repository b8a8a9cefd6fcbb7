// End-to-end harness for the c360 binary.
//
// startServer() spawns `$C360_BIN serve ...` on a free loopback port with a fresh
// temporary data dir, waits for GET /readyz == 200 and returns a handle with
// helpers for ingest (Basic auth, write key) and reads (Bearer, admin key).
//
// useServer() wires a server into a node:test file: it starts it in `before`,
// always cleans it up in `after` (even when tests fail), and its `test()` wrapper
// appends the server's stderr tail to every failure message.
//
// Environment:
//   C360_BIN           binary to test (default: <repo>/build-san/c360)
//   C360_E2E_KEEP=1    keep temp data dirs (their paths are printed)
//   C360_E2E_LOG_DIR   if set, every server's full stdout/stderr is written there

import { spawn } from 'node:child_process';
import { mkdtemp, rm, mkdir, writeFile } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { before, after, test as nodeTest } from 'node:test';

const here = path.dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = path.resolve(here, '..', '..', '..');
export const C360_BIN = process.env.C360_BIN || path.join(REPO_ROOT, 'build-san', 'c360');

export const WRITE_KEY = 'wk_test';
export const ADMIN_KEY = 'ak_test';

const READY_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 30_000; // leak checking under ASan can take a while
const MAX_CAPTURE = 8 * 1024 * 1024; // bytes of stdout/stderr kept per process (tail)

// Leak suppressions cover third-party library internals only (see tests/lsan.supp).
const LSAN_SUPP = new URL('../../lsan.supp', import.meta.url).pathname;
export const SANITIZER_ENV = {
  ASAN_OPTIONS: 'detect_leaks=1:abort_on_error=0',
  UBSAN_OPTIONS: 'print_stacktrace=1:halt_on_error=1',
  LSAN_OPTIONS: `suppressions=${LSAN_SUPP}`,
};

// Every live child, so that an abrupt end of the test process never leaks servers.
const live = new Set();
process.on('exit', () => {
  for (const p of live) {
    try { p.kill('SIGKILL'); } catch { /* already gone */ }
  }
});

export function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

// A free port below the kernel's ephemeral range. A port from that range (listen(0)) can be
// taken by any outgoing connection before c360 binds it, and while nothing listens on it a
// readiness poll can even be connected to itself (TCP self-connect).
function ephemeralStart() {
  try {
    const lo = parseInt(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8'), 10);
    if (lo > 12000) return lo;
  } catch { /* not Linux: keep the default */ }
  return 32768;
}
const EPHEMERAL_START = ephemeralStart();

function tryListen(port) {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.unref();
    s.on('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

export async function freePort() {
  for (;;) {
    const port = 10000 + Math.floor(Math.random() * (EPHEMERAL_START - 10000));
    if (await tryListen(port)) return port;
  }
}

export function basicAuth(key) {
  return 'Basic ' + Buffer.from(`${key}:`).toString('base64');
}

function tailLines(text, n) {
  const lines = text.split('\n');
  if (lines.length && lines[lines.length - 1] === '') lines.pop();
  return lines.slice(-n).join('\n');
}

// A bounded capture buffer keeping the tail of a stream.
class Capture {
  constructor() { this.chunks = []; this.size = 0; this.dropped = 0; }
  push(buf) {
    this.chunks.push(buf);
    this.size += buf.length;
    while (this.size > MAX_CAPTURE && this.chunks.length > 1) {
      const c = this.chunks.shift();
      this.size -= c.length;
      this.dropped += c.length;
    }
  }
  toString() {
    const s = Buffer.concat(this.chunks).toString('utf8');
    return this.dropped ? `[... ${this.dropped} bytes dropped ...]\n${s}` : s;
  }
}

const SANITIZER_MARKERS = ['ERROR: AddressSanitizer', 'runtime error:', 'LeakSanitizer'];

// Returns the first sanitizer marker found in `stderr`, or null.
export function findSanitizerReport(stderr) {
  for (const m of SANITIZER_MARKERS) {
    const i = stderr.indexOf(m);
    if (i >= 0) return { marker: m, excerpt: stderr.slice(Math.max(0, i - 200), i + 4000) };
  }
  return null;
}

// Asserts a stop() result: exit code 0 after SIGTERM and no sanitizer report.
export function assertCleanExit(res, what = 'graceful stop (SIGTERM)') {
  const san = findSanitizerReport(res.stderr);
  if (san) {
    const e = new Error(`${what}: sanitizer report ("${san.marker}") in server stderr:\n${san.excerpt}`);
    e.c360Annotated = true;
    throw e;
  }
  if (res.code !== 0) {
    const e = new Error(
      `${what}: expected exit code 0, got code=${res.code} signal=${res.signal}\n` +
      `--- c360 stderr (tail) ---\n${tailLines(res.stderr, 60)}`);
    e.c360Annotated = true;
    throw e;
  }
}

// Asserts that a process stopped any way (e.g. kill -9) printed no sanitizer report.
export function assertNoSanitizerReport(stderr, what = 'server') {
  const san = findSanitizerReport(stderr);
  if (san) throw new Error(`${what}: sanitizer report ("${san.marker}") in stderr:\n${san.excerpt}`);
}

function parseBody(text) {
  if (text === '') return undefined;
  try { return JSON.parse(text); } catch { return undefined; }
}

class C360Server {
  constructor(opts) {
    this.args = opts.args || [];
    this.extraEnv = opts.env || {};
    this.dataDir = opts.dataDir;
    this.ownsDataDir = opts.ownsDataDir;
    this.port = opts.port;
    this.writeKey = WRITE_KEY;
    this.adminKey = ADMIN_KEY;
    this.proc = null;
    this.starts = 0;
    this.history = []; // {pid, code, signal, stderr} of previous processes
  }

  get url() { return `http://127.0.0.1:${this.port}`; }

  get running() { return this.proc !== null && this.proc.exitCode === null && this.proc.signalCode === null; }

  get stderr() { return this._stderr ? this._stderr.toString() : ''; }
  get stdout() { return this._stdout ? this._stdout.toString() : ''; }

  tail(n = 40) { return tailLines(this.stderr, n); }

  // A human-readable description of the server state for failure messages.
  describe(n = 40) {
    let s = `c360 ${this.url} data-dir=${this.dataDir} pid=${this.proc?.pid}`;
    if (this.proc && !this.running) {
      s += `\n!!! server process exited: code=${this.proc.exitCode} signal=${this.proc.signalCode}`;
    }
    s += `\n--- c360 stderr (last ${n} lines) ---\n${this.tail(n) || '(empty)'}`;
    return s;
  }

  async _spawn() {
    if (!existsSync(C360_BIN)) {
      throw new Error(`c360 binary not found at ${C360_BIN} (set C360_BIN or run "make SAN=1")`);
    }
    const argv = ['serve', '--listen', `127.0.0.1:${this.port}`, '--data-dir', this.dataDir,
      '--write-key', WRITE_KEY, '--admin-key', ADMIN_KEY, ...this.args];
    this._stderr = new Capture();
    this._stdout = new Capture();
    const proc = spawn(C360_BIN, argv, {
      env: { ...process.env, ...SANITIZER_ENV, ...this.extraEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.proc = proc;
    this.starts++;
    live.add(proc);
    const stderr = this._stderr, stdout = this._stdout;
    proc.stderr.on('data', (b) => stderr.push(b));
    proc.stdout.on('data', (b) => stdout.push(b));
    proc.closed = new Promise((resolve) => {
      proc.on('close', (code, signal) => { live.delete(proc); resolve({ code, signal }); });
    });
    proc.spawnError = null;
    proc.on('error', (e) => { proc.spawnError = e; });

    const deadline = Date.now() + READY_TIMEOUT_MS;
    let last = 'no response yet';
    while (Date.now() < deadline) {
      if (proc.spawnError) throw new Error(`cannot spawn ${C360_BIN}: ${proc.spawnError.message}`);
      if (!this.running) {
        await proc.closed;
        throw new Error(`c360 exited before becoming ready (code=${proc.exitCode} signal=${proc.signalCode})\n` +
          `argv: ${argv.join(' ')}\n--- c360 stderr ---\n${tailLines(this.stderr, 80)}`);
      }
      try {
        const r = await fetch(`${this.url}/readyz`, { signal: AbortSignal.timeout(2000) });
        await r.arrayBuffer();
        if (r.status === 200) return this;
        last = `GET /readyz -> ${r.status}`;
      } catch (e) {
        last = `GET /readyz failed: ${e.cause?.code || e.message}`;
      }
      await sleep(50);
    }
    const tailText = tailLines(this.stderr, 80);
    await this.kill9().catch(() => {});
    throw new Error(`c360 not ready within ${READY_TIMEOUT_MS} ms (${last})\nargv: ${argv.join(' ')}\n` +
      `--- c360 stderr ---\n${tailText}`);
  }

  async _waitExit(signal, timeoutMs) {
    const proc = this.proc;
    if (!proc) throw new Error('server was never started');
    if (this.running) proc.kill(signal);
    let timer;
    const timeout = new Promise((resolve) => { timer = setTimeout(() => resolve('timeout'), timeoutMs); });
    const r = await Promise.race([proc.closed, timeout]);
    clearTimeout(timer);
    if (r === 'timeout') {
      proc.kill('SIGKILL');
      await proc.closed;
      throw new Error(`c360 did not exit within ${timeoutMs} ms after ${signal}; killed with SIGKILL\n${this.describe(60)}`);
    }
    const res = { code: r.code, signal: r.signal, stderr: this.stderr, stdout: this.stdout };
    this.history.push({ pid: proc.pid, ...res });
    return res;
  }

  // Graceful stop: SIGTERM, wait for exit. Returns {code, signal, stderr, stdout}.
  stop() { return this._waitExit('SIGTERM', STOP_TIMEOUT_MS); }

  // Hard crash: SIGKILL, wait for exit. If a sanitizer is already printing a report,
  // let it finish (the process exits by itself) so that the report is complete.
  async kill9() {
    if (this.running && findSanitizerReport(this.stderr)) {
      const t = new Promise((r) => setTimeout(r, 5_000));
      await Promise.race([this.proc.closed, t]);
    }
    return this._waitExit('SIGKILL', 10_000);
  }

  // Starts the server again on the same data dir (and the same port unless newPort).
  async restart({ newPort = false } = {}) {
    if (this.running) throw new Error('restart(): server is still running; stop() or kill9() it first');
    if (newPort) this.port = await freePort();
    return this._spawn();
  }

  // Kills the process if still running and removes the temp data dir (if ours).
  async cleanup() {
    if (this.proc && this.running) {
      this.proc.kill('SIGKILL');
      await this.proc.closed;
    }
    if (process.env.C360_E2E_LOG_DIR && this.proc) {
      const dir = process.env.C360_E2E_LOG_DIR;
      await mkdir(dir, { recursive: true });
      const base = path.join(dir, `c360-${this.port}-${this.proc.pid}`);
      await writeFile(`${base}.stderr.log`, this.stderr);
      await writeFile(`${base}.stdout.log`, this.stdout);
    }
    if (this.ownsDataDir) {
      if (process.env.C360_E2E_KEEP) {
        console.error(`# kept c360 data dir: ${this.dataDir}`);
      } else {
        await rm(this.dataDir, { recursive: true, force: true });
      }
    }
  }

  // ---- HTTP helpers -------------------------------------------------------

  async request(method, p, { body, headers = {}, auth, timeoutMs = 30_000 } = {}) {
    const h = { ...headers };
    if (auth) h.authorization = auth;
    let payload;
    if (body !== undefined) {
      payload = (typeof body === 'string' || Buffer.isBuffer(body) || body instanceof Uint8Array)
        ? body : JSON.stringify(body);
      if (!Object.keys(h).some((k) => k.toLowerCase() === 'content-type')) h['content-type'] = 'application/json';
    }
    let r;
    try {
      r = await fetch(this.url + p, { method, headers: h, body: payload, signal: AbortSignal.timeout(timeoutMs) });
    } catch (e) {
      const err = new Error(`${method} ${p} failed: ${e.message} (${e.cause?.code || e.cause?.message || ''})\n${this.describe()}`);
      err.c360Annotated = true;
      throw err;
    }
    const text = await r.text();
    return { status: r.status, headers: r.headers, text, json: parseBody(text) };
  }

  // POST an ingest body with Basic auth (key defaults to the write key).
  // key: null sends no Authorization header. bearer: true uses Bearer instead of Basic.
  ingest(p, body, { key = WRITE_KEY, bearer = false, headers } = {}) {
    const auth = key === null ? undefined : (bearer ? `Bearer ${key}` : basicAuth(key));
    return this.request('POST', p, { body, auth, headers });
  }

  // GET with Bearer auth (key defaults to the admin key). key: null sends no auth.
  get(p, { key = ADMIN_KEY, headers } = {}) {
    return this.request('GET', p, { auth: key === null ? undefined : `Bearer ${key}`, headers });
  }
}

// Starts a c360 server. Options: args (extra CLI args), env (extra env), dataDir
// (reuse an existing dir; otherwise a fresh temp dir is made and owned), port.
export async function startServer({ args = [], env = {}, dataDir, port } = {}) {
  const ownsDataDir = !dataDir;
  if (!dataDir) dataDir = await mkdtemp(path.join(os.tmpdir(), 'c360-e2e-'));
  const srv = new C360Server({ args, env, dataDir, ownsDataDir, port: port || await freePort() });
  try {
    await srv._spawn();
  } catch (e) {
    await srv.cleanup().catch(() => {});
    throw e;
  }
  return srv;
}

// Adds the server's state (and stderr tail) to an error thrown by a test.
export function annotate(err, srv) {
  if (!srv || !(err instanceof Error) || err.c360Annotated) return err;
  err.c360Annotated = true;
  try {
    err.message += `\n\n${srv.describe()}`;
  } catch { /* message not writable */ }
  return err;
}

// Binds a server to a test file. Returns a fixture {srv, test(name, [opts], fn)}
// whose test() passes the server to fn and annotates failures with its stderr.
export function useServer(opts = {}) {
  const fx = { srv: null, startError: null };
  before(async () => {
    fx.srv = await startServer(opts);
  }, { timeout: READY_TIMEOUT_MS + 15_000 });
  after(async () => {
    if (fx.srv) await fx.srv.cleanup();
  }, { timeout: STOP_TIMEOUT_MS + 15_000 });
  fx.test = (name, o, fn) => {
    if (typeof o === 'function') { fn = o; o = {}; }
    return nodeTest(name, { timeout: 60_000, ...o }, async (t) => {
      if (!fx.srv) throw new Error('server did not start (see the before hook failure)');
      try {
        await fn(fx.srv, t);
      } catch (e) {
        throw annotate(e, fx.srv);
      }
    });
  };
  return fx;
}

// Retries an async assertion until it passes or timeoutMs elapses (the API does
// not promise read-your-writes between an ingest 200 and a profile read).
export async function eventually(fn, { timeoutMs = 10_000, intervalMs = 50 } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (Date.now() >= deadline) throw e;
      await sleep(intervalMs);
    }
  }
}
