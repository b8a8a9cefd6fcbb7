// Helpers for the privacy and access tests (70-79): API keys and roles, the c360 CLI, a
// distinctive test person, and a byte-level scanner of a data dir.
//
// scanDataDir() looks for byte strings in every file under a directory, recursively:
//  - the raw bytes of every file (Buffer.indexOf), exactly as they are on disk;
//  - the payload of RocksDB log-format files (*.log write-ahead logs, MANIFEST-*), with the
//    7/11-byte record headers of each 32 KB block removed, so a string split by a block
//    boundary is still found;
//  - the decompressed blocks of every RocksDB table file (*.sst). c360 compresses tables with
//    LZ4 (upper levels) and ZSTD (bottom level), so a raw scan alone could miss a string that is
//    still readable through RocksDB. LZ4 and Snappy are decoded here; ZSTD through the `zstd`
//    command-line tool. A table that cannot be decoded is reported in `errors` (callers fail).
import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { randomBytes } from 'node:crypto';
import { C360_BIN, ADMIN_KEY, SANITIZER_ENV, freePort, sleep, findSanitizerReport } from './server.mjs';

export const ROLES = ['ingest', 'agent', 'fraud', 'marketing', 'privacy', 'admin'];

export function bearer(key) {
  return `Bearer ${key}`;
}

// A request with a Bearer key (key null: no Authorization header).
export function call(srv, method, p, key, body) {
  return srv.request(method, p, { auth: key == null ? undefined : bearer(key), body });
}

export function show(res) {
  const t = res.text ?? '';
  return `HTTP ${res.status} ${t.length > 1500 ? t.slice(0, 1500) + '…' : t}`;
}

// POST /v1/keys with the admin key; returns the secret.
export async function createKey(srv, name, role, adminKey = ADMIN_KEY) {
  const res = await call(srv, 'POST', '/v1/keys', adminKey, { name, role });
  assert.equal(res.status, 200, `POST /v1/keys {"name":"${name}","role":"${role}"}: ${show(res)}`);
  assert.equal(res.json?.name, name, `key name in reply: ${show(res)}`);
  assert.equal(res.json?.role, role, `key role in reply: ${show(res)}`);
  assert.equal(typeof res.json?.key, 'string', `reply has no "key" string: ${show(res)}`);
  assert.ok(res.json.key.length >= 16, `key too short: ${res.json.key}`);
  return res.json.key;
}

// Runs the c360 binary with args; never throws on a non-zero exit. Returns {code, signal, stdout, stderr}.
export function runCli(args, { env = {}, input, timeoutMs = 60_000 } = {}) {
  return new Promise((resolve) => {
    const child = execFile(C360_BIN, args, {
      env: { ...process.env, ...SANITIZER_ENV, ...env }, timeout: timeoutMs, maxBuffer: 64 << 20,
    }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, signal: err?.signal ?? null, stdout, stderr });
    });
    if (input !== undefined) child.stdin.end(input);
  });
}

export function cliShow(r) {
  return `exit code ${r.code} signal ${r.signal}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`;
}

// Asserts a CLI run exited 0 without a sanitizer report.
export function assertCliOk(r, what) {
  const san = findSanitizerReport(r.stderr);
  assert.ok(!san, `${what}: sanitizer report in stderr:\n${san?.excerpt}`);
  assert.equal(r.code, 0, `${what}: ${cliShow(r)}`);
}

// ---- a distinctive person -------------------------------------------------------------------

const LETTERS = 'bcdfghjklmnpqrstvwxz';
function letters(n) {
  const b = randomBytes(n);
  let s = '';
  for (const x of b) s += LETTERS[x % LETTERS.length];
  return s;
}
function digits(n) {
  const b = randomBytes(n);
  let s = '';
  for (const x of b) s += String(x % 10);
  return s;
}

// Random, unique personal values. Every string in `needles` must never be found after erasure.
export function person(tag = '') {
  const hex = randomBytes(6).toString('hex');
  const local = `zq7x${hex}${tag}`;
  const email = `${local}@example.com`;
  const area = `4${digits(2)}`, exch = `${2 + (randomBytes(1)[0] % 8)}${digits(2)}`, line = digits(4);
  const phone = `(${area}) ${exch}-${line}`;                 // as sent: a national number
  const phoneDigits = `${area}${exch}${line}`;               // the digits as sent
  const phoneNorm = `1${phoneDigits}`;                       // normalised (country code 1)
  const first = `Zy${letters(7)}`.replace(/^./, (c) => c.toUpperCase());
  const last = `Qu${letters(8)}`.replace(/^./, (c) => c.toUpperCase());
  const name = `${first} ${last}`;
  const address = `${digits(3)} ${`Xo${letters(8)}`} Road`;
  const card = `4${digits(15)}`;
  const note = `note-${letters(10)} prefers quiet deliveries`;
  const userId = `u-${hex}${tag}`;
  const anonymousId = `anon-${randomBytes(8).toString('hex')}`;
  return {
    email, local, phone, phoneDigits, phoneNorm, first, last, name, address, card, note, userId, anonymousId,
    // the erasure scan looks for these
    needles: { email, emailLocal: local, phone, phoneDigits, phoneNorm, name, first, last },
  };
}

// ---- scanning a data dir --------------------------------------------------------------------

export function listFiles(dir) {
  const out = [];
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out.push(p);
    }
  };
  walk(dir);
  return out.sort();
}

function varint(buf, pos) {
  let result = 0, mul = 1, b;
  do {
    if (pos >= buf.length) throw new Error('truncated varint');
    b = buf[pos++];
    result += (b & 0x7f) * mul;
    mul *= 128;
  } while (b & 0x80);
  return [result, pos];
}

// LZ4 block format.
export function lz4Decompress(src, outLen) {
  const dst = Buffer.alloc(outLen);
  let s = 0, d = 0;
  while (s < src.length) {
    const token = src[s++];
    let lit = token >> 4;
    if (lit === 15) { let b; do { b = src[s++]; lit += b; } while (b === 255); }
    if (d + lit > outLen || s + lit > src.length) throw new Error('lz4: literal run out of bounds');
    src.copy(dst, d, s, s + lit);
    s += lit; d += lit;
    if (s >= src.length) break;
    const off = src[s] | (src[s + 1] << 8);
    s += 2;
    let ml = token & 15;
    if (ml === 15) { let b; do { b = src[s++]; ml += b; } while (b === 255); }
    ml += 4;
    if (off === 0 || off > d || d + ml > outLen) throw new Error('lz4: bad match');
    for (let i = 0; i < ml; i++) dst[d + i] = dst[d - off + i];
    d += ml;
  }
  return dst.subarray(0, d);
}

// Snappy raw format.
export function snappyDecompress(src) {
  let [len, s] = varint(src, 0);
  const dst = Buffer.alloc(len);
  let d = 0;
  while (s < src.length) {
    const tag = src[s++];
    const type = tag & 3;
    if (type === 0) {
      let n = tag >> 2;
      if (n >= 60) {
        const nb = n - 59;
        n = 0;
        for (let i = 0; i < nb; i++) n |= src[s++] << (8 * i);
      }
      n += 1;
      src.copy(dst, d, s, s + n);
      s += n; d += n;
      continue;
    }
    let n, off;
    if (type === 1) { n = ((tag >> 2) & 7) + 4; off = ((tag >> 5) << 8) | src[s++]; }
    else if (type === 2) { n = (tag >> 2) + 1; off = src[s] | (src[s + 1] << 8); s += 2; }
    else { n = (tag >> 2) + 1; off = src.readUInt32LE(s); s += 4; }
    if (off === 0 || off > d) throw new Error('snappy: bad copy');
    for (let i = 0; i < n; i++) dst[d + i] = dst[d - off + i];
    d += n;
  }
  return dst.subarray(0, d);
}

let zstdAvailable;
function haveZstd() {
  if (zstdAvailable === undefined) {
    const r = spawnSync('zstd', ['--version'], { encoding: 'utf8' });
    zstdAvailable = r.status === 0;
  }
  return zstdAvailable;
}

function zstdDecompressFrames(frames) {
  if (!frames.length) return [];
  if (!haveZstd()) throw new Error('ZSTD-compressed table blocks found but the `zstd` command is not installed (apt-get install zstd): cannot look inside them');
  const r = spawnSync('zstd', ['-d', '-c', '-q'], { input: Buffer.concat(frames), maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`zstd -d failed: ${r.stderr?.toString()}`);
  return [r.stdout];
}

const BLOCK_TRAILER = 5;
const MAGIC_BBT = 0x88e241b785f4cff7n;
const MAGIC_BBT_LEGACY = 0xdb4775248b80fb57n;

function readHandle(buf, pos) {
  const [offset, p1] = varint(buf, pos);
  const [size, p2] = varint(buf, p1);
  return [{ offset, size }, p2];
}

// Block entries: [{key, value}] (keys delta-decoded). valueDelta: the index-block encoding of
// format_version >= 4 (no value length; a full handle where shared == 0, else a size delta).
function blockEntries(block, { valueDelta = false } = {}) {
  if (block.length < 4) return [];
  const numRestarts = block.readUInt32LE(block.length - 4) & 0x7fffffff;
  const end = block.length - 4 - 4 * numRestarts;
  const out = [];
  let pos = 0, key = Buffer.alloc(0), prev = null;
  while (pos < end) {
    let shared, nonShared, vlen;
    [shared, pos] = varint(block, pos);
    [nonShared, pos] = varint(block, pos);
    if (!valueDelta) [vlen, pos] = varint(block, pos);
    key = Buffer.concat([key.subarray(0, shared), block.subarray(pos, pos + nonShared)]);
    pos += nonShared;
    if (valueDelta) {
      let h;
      if (shared === 0 || !prev) {
        [h, pos] = readHandle(block, pos);
      } else {
        let zz;
        [zz, pos] = varint(block, pos);
        const delta = (zz % 2) ? -((zz + 1) / 2) : zz / 2;
        h = { offset: prev.offset + prev.size + BLOCK_TRAILER, size: prev.size + delta };
      }
      prev = h;
      out.push({ key, handle: h });
    } else {
      out.push({ key, value: block.subarray(pos, pos + vlen) });
      pos += vlen;
    }
  }
  return out;
}

// Reads one block of an SST: returns {type, data} with data decompressed (zstd: frame kept aside).
function readBlock(file, h, zstdFrames) {
  if (h.offset + h.size + BLOCK_TRAILER > file.length) throw new Error(`block ${h.offset}+${h.size} beyond the end of the file`);
  const raw = file.subarray(h.offset, h.offset + h.size);
  const type = file[h.offset + h.size];
  switch (type) {
    case 0: return { type: 'none', data: raw };
    case 1: return { type: 'snappy', data: snappyDecompress(raw) };
    case 2: { const [, p] = varint(raw, 0); return { type: 'zlib', data: zlib.inflateRawSync(raw.subarray(p)) }; }
    case 4: case 5: { const [n, p] = varint(raw, 0); return { type: 'lz4', data: lz4Decompress(raw.subarray(p), n) }; }
    case 7: case 0x40: {
      const [, p] = varint(raw, 0);
      if (zstdFrames) { zstdFrames.push(raw.subarray(p)); return { type: 'zstd', data: null }; }
      return { type: 'zstd', data: zstdDecompressFrames([raw.subarray(p)])[0] };
    }
    default: throw new Error(`unsupported block compression type ${type}`);
  }
}

// Decodes every block of a RocksDB block-based table. Returns {blocks: [Buffer], types: {type: n}}.
export function decodeSst(file) {
  const len = file.length;
  const magic = file.readBigUInt64LE(len - 8);
  let metaH, indexH, version = 0;
  if (magic === MAGIC_BBT) {
    version = file.readUInt32LE(len - 12);
    if (version > 5) throw new Error(`table format_version ${version} is not supported by this scanner`);
    let p = len - 53 + 1;
    [metaH, p] = readHandle(file, p);
    [indexH] = readHandle(file, p);
  } else if (magic === MAGIC_BBT_LEGACY) {
    let p = len - 48;
    [metaH, p] = readHandle(file, p);
    [indexH] = readHandle(file, p);
  } else {
    throw new Error('not a block-based table (bad magic)');
  }
  const types = {};
  const blocks = [];
  const zframes = [];
  const take = (h) => {
    const b = readBlock(file, h, zframes);
    types[b.type] = (types[b.type] || 0) + 1;
    if (b.data) blocks.push(b.data);
    return b;
  };
  // meta blocks (properties, range deletions, filters)
  const meta = take(metaH).data;
  let deltaIndex = false;
  for (const e of blockEntries(meta)) {
    const [h] = readHandle(e.value, 0);
    const b = take(h);
    if (e.key.toString() === 'rocksdb.properties' && b.data) {
      for (const pe of blockEntries(b.data)) {
        if (pe.key.toString() === 'rocksdb.index.value.is.delta.encoded') deltaIndex = varint(pe.value, 0)[0] !== 0;
      }
    }
  }
  const index = take(indexH).data;
  if (!index) throw new Error('compressed index block with zstd: not supported');
  for (const e of blockEntries(index, { valueDelta: deltaIndex })) {
    const h = deltaIndex ? e.handle : readHandle(e.value, 0)[0];
    take(h);
  }
  blocks.push(...zstdDecompressFrames(zframes));
  return { blocks, types };
}

// RocksDB log format (WAL, MANIFEST): the record payloads without the block/record headers.
export function logPayload(buf) {
  const parts = [];
  const BLOCK = 32768;
  let pos = 0;
  while (pos < buf.length) {
    const blockEnd = Math.min(buf.length, (Math.floor(pos / BLOCK) + 1) * BLOCK);
    if (blockEnd - pos < 7) { pos = blockEnd; continue; }
    const n = buf.readUInt16LE(pos + 4);
    const type = buf[pos + 6];
    const hdr = type >= 5 ? 11 : 7;
    if (type === 0 && n === 0) { pos = blockEnd; continue; }  // zero padding / preallocated space
    if (pos + hdr + n > blockEnd) break;                      // torn tail
    parts.push(buf.subarray(pos + hdr, pos + hdr + n));
    pos += hdr + n;
  }
  return Buffer.concat(parts);
}

// Scans every file under dir for each needle. Returns
//   {files, hits: [{file, needle, where}], errors: [{file, error}], decoded: {sst, blocks, types}}
// where `where` is 'raw', 'log-payload' or 'sst-block'.
export function scanDataDir(dir, needles) {
  const entries = Object.entries(needles).map(([k, v]) => [k, Buffer.from(v, 'utf8')]);
  const files = listFiles(dir);
  const hits = [], errors = [];
  const decoded = { sst: 0, blocks: 0, types: {} };
  const look = (file, where, buf) => {
    for (const [k, n] of entries) if (buf.indexOf(n) >= 0) hits.push({ file: path.relative(dir, file), needle: k, where });
  };
  const vanished = [];
  for (const f of files) {
    let buf;
    try {
      buf = fs.readFileSync(f);
    } catch (e) {
      if (e.code === 'ENOENT') { vanished.push(f); continue; }  // deleted by RocksDB while we looked
      throw e;
    }
    look(f, 'raw', buf);
    const base = path.basename(f);
    if (/\.log$/.test(base) || /^MANIFEST-/.test(base)) {
      look(f, 'log-payload', logPayload(buf));
    }
    if (/\.sst$/.test(base)) {
      try {
        const { blocks, types } = decodeSst(buf);
        decoded.sst++;
        decoded.blocks += blocks.length;
        for (const [t, n] of Object.entries(types)) decoded.types[t] = (decoded.types[t] || 0) + n;
        for (const b of blocks) look(f, 'sst-block', b);
      } catch (e) {
        errors.push({ file: path.relative(dir, f), error: e.message });
      }
    }
  }
  // one hit per (file, needle) is enough
  const seen = new Set();
  const uniq = hits.filter((h) => { const k = `${h.file}\0${h.needle}`; if (seen.has(k)) return false; seen.add(k); return true; });
  return { files: files.filter((f) => !vanished.includes(f)).map((f) => path.relative(dir, f)), hits: uniq, errors, decoded };
}

export function describeScan(s) {
  return `files: ${s.files.join(', ')}\n` +
    `tables decoded: ${s.decoded.sst} (${s.decoded.blocks} blocks; ${JSON.stringify(s.decoded.types)})\n` +
    `hits: ${s.hits.length ? s.hits.map((h) => `${h.needle} in ${h.file} (${h.where})`).join('; ') : 'none'}\n` +
    `errors: ${s.errors.length ? s.errors.map((e) => `${e.file}: ${e.error}`).join('; ') : 'none'}`;
}

// Resolves what `p` resolves, or 'timeout' after ms (the timer never outlives the race).
export async function within(p, ms) {
  let timer;
  const t = new Promise((resolve) => { timer = setTimeout(() => resolve('timeout'), ms); });
  try { return await Promise.race([p, t]); } finally { clearTimeout(timer); }
}

// ---- a server spawned by hand (for HTTPS, which lib/server.mjs does not speak) ---------------

// Spawns `c360 serve ARGS` and waits until `ready()` resolves true (or the process exits).
// Returns {proc, port, stderr(), stop(), kill(), exited} — stop() is SIGTERM and resolves
// {code, signal, stderr} for assertCleanExit.
export async function spawnServe(args, { ready, env = {}, timeoutMs = 20_000 } = {}) {
  const proc = spawn(C360_BIN, ['serve', ...args], {
    env: { ...process.env, ...SANITIZER_ENV, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '', out = '';
  proc.stderr.on('data', (b) => { err += b; });
  proc.stdout.on('data', (b) => { out += b; });
  const exited = new Promise((resolve) => proc.on('close', (code, signal) => resolve({ code, signal })));
  let done = null;
  exited.then((r) => { done = r; });
  process.on('exit', () => { try { proc.kill('SIGKILL'); } catch { /* gone */ } });
  const h = {
    proc,
    exited,
    get stderr() { return err; },
    get stdout() { return out; },
    get running() { return done === null; },
    async stop(timeout = 30_000) {
      if (done === null) proc.kill('SIGTERM');
      const r = await within(exited, timeout);
      if (r === 'timeout') { proc.kill('SIGKILL'); await exited; throw new Error(`c360 did not stop within ${timeout} ms\n${err}`); }
      return { code: r.code, signal: r.signal, stderr: err, stdout: out };
    },
    async kill() { if (done === null) proc.kill('SIGKILL'); await exited; },
  };
  if (!ready) return h;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (done !== null) return h; // exited: the caller looks at the status
    try { if (await ready()) return h; } catch { /* not yet */ }
    await sleep(100);
  }
  await h.kill();
  throw new Error(`c360 serve ${args.join(' ')} not ready within ${timeoutMs} ms\n--- stderr ---\n${err}`);
}

export { freePort };
