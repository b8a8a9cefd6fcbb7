// Helpers over the documented c360 API (docs/API.md).
import assert from 'node:assert/strict';
import { randomUUID, randomBytes } from 'node:crypto';

// A short random tag so identifiers never collide across tests or runs.
export function uid(prefix = '') {
  return prefix + randomBytes(6).toString('hex');
}

export function messageId() {
  return randomUUID();
}

function show(res) {
  return `HTTP ${res.status} ${res.text?.length > 2000 ? res.text.slice(0, 2000) + '…' : res.text}`;
}

// The success reply of an ingest endpoint: 200 {"success":true}.
export function assertAccepted(res, what = 'ingest') {
  assert.equal(res.status, 200, `${what}: expected 200 {"success":true}, got ${show(res)}`);
  assert.deepEqual(res.json, { success: true }, `${what}: unexpected body ${show(res)}`);
}

// A documented error reply: status, JSON body with string `error` == code and a non-empty `message`.
export function assertError(res, status, code, what = '') {
  const ctx = `${what ? what + ': ' : ''}expected ${status} ${code}, got ${show(res)}`;
  assert.equal(res.status, status, ctx);
  assert.ok(res.json && typeof res.json === 'object' && !Array.isArray(res.json), `${ctx}\nerror body is not a JSON object`);
  assert.equal(res.json.error, code, ctx);
  assert.equal(typeof res.json.message, 'string', `${ctx}\n"message" must be a string`);
  assert.ok(res.json.message.length > 0, `${ctx}\n"message" must not be empty`);
  if (res.headers) {
    const ct = res.headers.get('content-type') || '';
    assert.match(ct, /application\/json/i, `${ctx}\nContent-Type of an error must be application/json, got "${ct}"`);
  }
  return res.json;
}

// `TYPE:VALUE` path segment with the value URL-encoded.
export function ident(type, value) {
  return `${type}:${encodeURIComponent(value)}`;
}

export function profilePath(type, value, suffix = '') {
  return `/v1/profiles/${ident(type, value)}${suffix}`;
}

// GET a profile (admin key); asserts 200 and returns the JSON.
export async function getProfile(srv, type, value) {
  const res = await srv.get(profilePath(type, value));
  assert.equal(res.status, 200, `GET profile ${type}:${value}: ${show(res)}`);
  assert.equal(typeof res.json?.id, 'string', `profile has no string id: ${show(res)}`);
  return res.json;
}

export async function getSub(srv, type, value, sub) {
  const res = await srv.get(profilePath(type, value, `/${sub}`));
  assert.equal(res.status, 200, `GET ${sub} of ${type}:${value}: ${show(res)}`);
  return res.json;
}

// Walks the whole /events timeline with `limit` per page, following `next`.
// Returns {events, pages}. Asserts the documented page shape on every page.
export async function getAllEvents(srv, type, value, { limit = 1000, maxPages = 10_000 } = {}) {
  const events = [];
  let cursor = null;
  let pages = 0;
  for (;;) {
    let q = `?limit=${limit}`;
    if (cursor !== null) q += `&before=${encodeURIComponent(cursor)}`;
    const res = await srv.get(profilePath(type, value, '/events') + q);
    assert.equal(res.status, 200, `GET events of ${type}:${value}${q}: ${show(res)}`);
    assert.ok(Array.isArray(res.json?.events), `events page has no "events" array: ${show(res)}`);
    assert.ok('next' in res.json, `events page has no "next" key: ${show(res)}`);
    assert.ok(res.json.events.length <= limit, `page of ${res.json.events.length} events exceeds limit=${limit}`);
    pages++;
    events.push(...res.json.events);
    const next = res.json.next;
    if (next === null) break;
    assert.equal(typeof next, 'string', `"next" must be a string or null, got ${JSON.stringify(next)}`);
    assert.ok(res.json.events.length > 0, `a page with next=${next} must not be empty`);
    assert.notEqual(next, cursor, `"next" cursor did not advance (${next})`);
    cursor = next;
    assert.ok(pages < maxPages, `more than ${maxPages} pages; is paging looping?`);
  }
  return { events, pages };
}

export function ms(ts) {
  const t = Date.parse(ts);
  assert.ok(Number.isFinite(t), `not an ISO-8601 timestamp: ${JSON.stringify(ts)}`);
  return t;
}

// Asserts two timestamps denote the same instant (formats may differ: Z vs +00:00, ms digits).
export function assertSameInstant(actual, expected, what) {
  assert.equal(typeof actual, 'string', `${what}: expected a timestamp string, got ${JSON.stringify(actual)}`);
  assert.equal(ms(actual), ms(expected), `${what}: expected ${expected}, got ${actual}`);
}

// Asserts an events list is newest first by `timestamp`.
export function assertNewestFirst(events, what = 'timeline') {
  for (let i = 1; i < events.length; i++) {
    assert.ok(ms(events[i - 1].timestamp) >= ms(events[i].timestamp),
      `${what} not newest-first at index ${i}: ${events[i - 1].timestamp} before ${events[i].timestamp}`);
  }
}

// ---- Prometheus text exposition ---------------------------------------------

// Parses Prometheus text into [{name, labels, value}] plus {types}.
export function parseProm(text) {
  const samples = [];
  const types = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line) continue;
    if (line.startsWith('#')) {
      const m = /^#\s*TYPE\s+(\S+)\s+(\S+)/.exec(line);
      if (m) types[m[1]] = m[2];
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+\S+)?$/.exec(line);
    if (!m) throw new Error(`unparsable metrics line: ${JSON.stringify(raw)}`);
    const labels = {};
    if (m[3]) {
      const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
      let l;
      while ((l = re.exec(m[3])) !== null) labels[l[1]] = l[2];
    }
    const v = m[4] === '+Inf' ? Infinity : m[4] === '-Inf' ? -Infinity : Number(m[4]);
    samples.push({ name: m[1], labels, value: v });
  }
  return { samples, types };
}

// Sum of all samples of a metric (over all label sets).
export function metricSum(prom, name) {
  const s = prom.samples.filter((x) => x.name === name);
  return s.length ? s.reduce((a, x) => a + x.value, 0) : undefined;
}

// ---- Event builders -----------------------------------------------------------

export function isoAt(msSinceEpoch) {
  return new Date(msSinceEpoch).toISOString();
}
