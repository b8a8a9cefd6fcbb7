// Segment's browser library, analytics.js 2.0 (@segment/analytics-next, its published UMD bundle),
// in headless Chromium on a page of another origin, pointed at c360 as its API host: it posts each
// call to the short paths /v1/p, /v1/t, /v1/i, /v1/g, /v1/a as text/plain with the writeKey in
// the body, cross-origin. Every call is answered 200 with Access-Control-Allow-Origin, so the
// library reads the answer and sends each event once (it retries what it cannot read), and the
// anonymous browsing, the sign-in and the order end up in one profile. With `cors_origin` empty
// the same page cannot read the answers (the browser blocks them): the header is what makes it work.
import assert from 'node:assert/strict';
import http from 'node:http';
import https from 'node:https';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { after } from 'node:test';
import { chromium } from 'playwright-core';
import { useServer, startServer, eventually, WRITE_KEY, ADMIN_KEY } from './lib/server.mjs';
import { spawnServe, freePort } from './lib/privacy.mjs';
import { getProfile, uid } from './lib/api.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const UMD = path.join(here, 'node_modules', '@segment', 'analytics-next', 'dist', 'umd');
const CHROMIUM = process.env.C360_CHROMIUM || '/usr/bin/chromium';

const fx = useServer();
const tag = uid();
let browser, profileDir, site;

// the shop's web site: a page and the library's bundle (and its lazily loaded chunks)
function startSite() {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    if (url.pathname === '/') {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<!doctype html><title>shop</title><script src="/umd/index.js"></script><p>shop</p>');
      return;
    }
    if (url.pathname === '/favicon.ico') {
      res.writeHead(204);
      res.end();
      return;
    }
    const f = path.join(UMD, path.basename(url.pathname));
    if (url.pathname.startsWith('/umd/') && fs.existsSync(f)) {
      res.writeHead(200, { 'content-type': 'application/javascript' });
      fs.createReadStream(f).pipe(res);
      return;
    }
    res.writeHead(404);
    res.end();
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

async function setup() {
  if (browser) return;
  assert.ok(existsSync(path.join(UMD, 'index.js')), `${UMD}/index.js is missing (npm ci in tests/e2e)`);
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing (scripts/install-deps installs Debian's chromium)`);
  site = await startSite();
  profileDir = fs.mkdtempSync(path.join(os.tmpdir(), 'c360-ajs-'));
  browser = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    ignoreHTTPSErrors: true,   // the batching test's c360 has a self-signed certificate
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
}

after(async () => {
  if (browser) await browser.close();
  if (site) site.close();
  if (profileDir) fs.rmSync(profileDir, { recursive: true, force: true });
});

// Opens the shop's page and runs `calls` through analytics.js pointed at the c360 on `port`
// (`segmentio`: more settings of its Segment.io integration, e.g. the batching strategy).
// Returns what the library sent to c360 (method, path, status, CORS header) and the page's errors.
async function runPage(port, calls, { segmentio = {}, protocol = 'http', waitMs = 1500 } = {}) {
  const page = await browser.newPage();
  const sent = [], errors = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(`${m.text()} (${m.location()?.url})`); });
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('requestfinished', async (rq) => {
    const u = new URL(rq.url());
    if (u.port !== String(port)) return;
    const r = await rq.response();
    sent.push({ method: rq.method(), path: u.pathname, status: r?.status(), cors: r?.headers()['access-control-allow-origin'],
      type: rq.headers()['content-type'] });
  });
  page.on('requestfailed', (rq) => {
    const u = new URL(rq.url());
    if (u.port === String(port)) sent.push({ method: rq.method(), path: u.pathname, failed: rq.failure()?.errorText });
  });
  await page.goto(`http://127.0.0.1:${site.address().port}/`);
  const anonymousId = await page.evaluate(async ({ port, writeKey, calls, segmentio, protocol }) => {
    const [analytics] = await window.AnalyticsNext.AnalyticsBrowser.load(
      { writeKey, cdnSettings: { integrations: { 'Segment.io': { apiKey: writeKey, apiHost: `127.0.0.1:${port}/v1`, protocol, ...segmentio } } } },
      { disableClientPersistence: true, retryQueue: true });
    for (const [fn, ...args] of calls) await analytics[fn](...args);
    return analytics.user().anonymousId();
  }, { port, writeKey: WRITE_KEY, calls, segmentio, protocol });
  await new Promise((r) => setTimeout(r, waitMs));   // a retry (or a batch's timer) would come by then
  await page.close();
  return { sent, errors, anonymousId };
}

fx.test('analytics.js 2.0 in Chromium: browse, sign in, order -> one profile; each call sent once, 200 with CORS',
  { timeout: 120_000 }, async (srv) => {
    await setup();
    const user = `ajs-${tag}`, email = `AJS.${tag}@Example.com`;
    const { sent, errors, anonymousId } = await runPage(srv.port, [
      ['page', 'Shop', 'Home', { path: '/' }],
      ['track', 'Product Viewed', { product_id: 'sku-1', price: 4.5 }],
      ['identify', user, { email, name: 'Ajs Tester' }],
      ['track', 'Order Completed', { order_id: `o-${tag}`, revenue: 9, products: [{ product_id: 'sku-1', price: 4.5, quantity: 2 }] }],
      ['group', `g-${tag}`, { name: 'Acme' }],
    ]);
    assert.deepEqual(errors, [], 'no page errors');
    assert.deepEqual(sent.map((s) => `${s.method} ${s.path}`), ['POST /v1/p', 'POST /v1/t', 'POST /v1/i', 'POST /v1/t', 'POST /v1/g'],
      `requests: ${JSON.stringify(sent)}`);
    for (const s of sent) {
      assert.equal(s.status, 200, JSON.stringify(s));
      assert.equal(s.cors, '*', `Access-Control-Allow-Origin on ${s.path}`);
      assert.match(s.type, /text\/plain/, 'the library sends text/plain (no preflight)');
    }
    const p = await getProfile(srv, 'email', email.toLowerCase());
    assert.equal(p.counts?.total, 5, JSON.stringify(p.counts));
    assert.deepEqual(p.counts.by_type, { page: 1, track: 2, identify: 1, group: 1 });
    const ids = new Set(p.identities.map((i) => `${i.type}:${i.value}`));
    for (const want of [`user_id:${user}`, `anonymous_id:${anonymousId}`, `email:${email.toLowerCase()}`])
      assert.ok(ids.has(want), `${want} in ${[...ids].join(', ')}`);
    assert.equal(p.traits?.name, 'Ajs Tester');
  });

fx.test('analytics.js batching mode (it posts to https://HOST/v1/b): one request per batch, 200 with CORS, every event once',
  { timeout: 120_000 }, async () => {
    await setup();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'c360-ajs-tls-'));
    const cert = path.join(dir, 'cert.pem'), key = path.join(dir, 'key.pem');
    const ssl = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1']);
    assert.equal(ssl.status, 0, String(ssl.stderr));
    const port = await freePort();
    const ca = fs.readFileSync(cert);
    const s = await spawnServe(['--listen', `127.0.0.1:${port}`, '--data-dir', path.join(dir, 'data'), '--write-key', WRITE_KEY,
      '--admin-key', ADMIN_KEY, '--tls-cert', cert, '--tls-key', key],
    { ready: () => new Promise((resolve) => https.get(`https://127.0.0.1:${port}/readyz`, { ca }, (r) => { r.resume(); resolve(r.statusCode === 200); })
      .on('error', () => resolve(false))) });
    try {
      assert.ok(s.running, s.stderr);
      const user = `ajs-b-${tag}`;
      const { sent, errors } = await runPage(port, [
        ['track', 'Product Viewed', { product_id: 'sku-2' }],
        ['identify', user, { email: `ajsb.${tag}@example.com` }],
        ['track', 'Product Added', { product_id: 'sku-2' }],
        ['track', 'Order Completed', { order_id: `ob-${tag}`, revenue: 3 }],
      ], { protocol: 'https', segmentio: { deliveryStrategy: { strategy: 'batching', config: { size: 3, timeout: 300 } } }, waitMs: 2500 });
      assert.deepEqual(errors, [], 'no page errors');
      assert.deepEqual(sent.map((x) => `${x.method} ${x.path} ${x.status} ${x.cors}`), ['POST /v1/b 200 *', 'POST /v1/b 200 *'],
        `a batch of three, then the last event on the timer: ${JSON.stringify(sent)}`);
      const r = await new Promise((resolve, reject) => https.get(`https://127.0.0.1:${port}/v1/profiles/user_id:${user}`,
        { ca, headers: { authorization: `Bearer ${ADMIN_KEY}` } }, (res) => {
          let b = '';
          res.on('data', (d) => { b += d; });
          res.on('end', () => resolve({ status: res.statusCode, json: JSON.parse(b) }));
        }).on('error', reject));
      assert.equal(r.status, 200);
      assert.equal(r.json.counts.total, 4, JSON.stringify(r.json.counts));
    } finally {
      await s.stop().catch(() => {});
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

fx.test('CORS preflight on a tracking path: 204 with the allowed methods and headers; none on the profile API', async (srv) => {
  const pre = await srv.request('OPTIONS', '/v1/track', {
    headers: { origin: 'http://shop.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' } });
  assert.equal(pre.status, 204);
  assert.equal(pre.headers.get('access-control-allow-origin'), '*');
  assert.match(pre.headers.get('access-control-allow-methods'), /POST/);
  assert.match(pre.headers.get('access-control-allow-headers'), /Authorization/i);
  const batch = await srv.ingest('/v1/b', { batch: [{ type: 'track', userId: `ajs-b-${tag}`, event: 'Batched' }] });
  assert.equal(batch.status, 200, batch.text);
  assert.equal(batch.headers.get('access-control-allow-origin'), '*', '/v1/b (the batching path) too');
  await eventually(async () => assert.equal((await getProfile(srv, 'user_id', `ajs-b-${tag}`)).counts?.total, 1));
  const prof = await srv.get(`/v1/profiles/user_id:ajs-b-${tag}`);
  assert.equal(prof.headers.get('access-control-allow-origin'), null, 'the profile API is not for other origins');
  const opt = await srv.request('OPTIONS', `/v1/profiles/user_id:ajs-b-${tag}`);
  assert.equal(opt.status, 405);
});

fx.test('with cors_origin empty, the browser cannot read the answers: the library sees failures', { timeout: 120_000 }, async () => {
  await setup();
  const srv = await startServer({ args: ['--cors-origin', ''] });
  try {
    const { sent } = await runPage(srv.port, [['track', 'Blocked Read', { n: 1 }]]);
    assert.ok(sent.length >= 1, 'the library sent the call');
    assert.ok(sent.some((s) => s.failed), `the browser blocked reading the answer: ${JSON.stringify(sent)}`);
    assert.ok(sent.every((s) => s.cors === undefined));
  } finally {
    await srv.cleanup();
  }
});
