// The web console (docs/CONSOLE.md) in headless Chromium (Debian `chromium`, driven by
// playwright-core): served by c360 itself, sign-in as each role with only that role's actions,
// search by name and by identifier, masked and revealed fields, live updates pushed within a
// second, an agent's note, a fraud analyst's order review, and a privacy officer's erasure with
// its confirmation step. Screenshots go to tests/e2e/artifacts/ (gitignored).
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after } from 'node:test';
import { chromium } from 'playwright-core';
import { useServer, assertCleanExit } from './lib/server.mjs';
import { assertAccepted, messageId, uid } from './lib/api.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const ARTIFACTS = path.join(here, 'artifacts');
const CHROMIUM = process.env.C360_CHROMIUM || '/usr/bin/chromium';

const fx = useServer();
const tag = uid();
const keys = {};
let browser, profileDir;

// two customers: Zelda (orders, card) and a second one to erase
const zelda = { user: `zelda-${tag}`, email: `zelda.${tag}@example.com`, phone: '+1 555 010 4242', name: `Zelda Quist${tag}` };
const erin = { user: `erin-${tag}`, email: `erin.${tag}@example.com`, name: `Erin Vale${tag}` };

async function shot(page, name) {
  await mkdir(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, `95-${name}.png`), fullPage: true });
}

// keys, customers and the browser, set up once by the first test (after the server is up)
let ready = null;
function setup(srv) {
  if (!ready) ready = doSetup(srv);
  return ready;
}

async function doSetup(srv) {
  for (const role of ['agent', 'fraud', 'marketing', 'privacy']) {
    const r = await srv.request('POST', '/v1/keys', { body: { name: `${role}-${tag}`, role }, auth: `Bearer ${srv.adminKey}` });
    assert.equal(r.status, 200, r.text);
    keys[role] = r.json.key;
  }
  keys.admin = srv.adminKey;
  for (const c of [zelda, erin]) {
    assertAccepted(await srv.ingest('/v1/identify', { userId: c.user, messageId: messageId(),
      traits: { email: c.email, phone: c.phone, name: c.name } }));
  }
  const now = Date.now();
  for (let i = 0; i < 3; i++) {
    assertAccepted(await srv.ingest('/v1/track', { userId: zelda.user, event: 'Product Viewed', messageId: messageId(),
      timestamp: new Date(now - (3 - i) * 86400000).toISOString(), properties: { product_id: `sku-${i}`, price: 2.5 } }));
  }
  assertAccepted(await srv.ingest('/v1/track', { userId: zelda.user, event: 'Order Completed', messageId: messageId(),
    timestamp: new Date(now - 86400000).toISOString(),
    properties: { order_id: `o-${tag}`, total: 42.5, revenue: 42.5, payment_method: 'card', card_type: 'visa',
      products: [{ product_id: 'sku-1', price: 2.5, quantity: 17 }] } }));
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing (scripts/install-deps installs Debian's chromium)`);
  profileDir = await mkdtemp(path.join(os.tmpdir(), 'c360-chromium-'));
  // a fresh user data dir (playwright passes it to chromium as --user-data-dir)
  browser = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
}

after(async () => {
  if (browser) await browser.close();
  if (profileDir) await rm(profileDir, { recursive: true, force: true });
});

// a fresh page signed in with `role`'s key; page errors fail the test
async function signIn(srv, role, { width = 1366, height = 900 } = {}) {
  // each tab has its own sessionStorage, so each page is its own sign-in
  const page = await browser.newPage();
  await page.setViewportSize({ width, height });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.errors = errors;
  await page.goto(`${srv.url}/`);
  await page.fill('#key', keys[role]);
  await page.click('#signin-submit');
  await page.waitForSelector('#role');
  assert.equal(await page.textContent('#role'), role);
  return page;
}

async function openProfile(page, srv, identifier) {
  await page.goto(`${srv.url}/#/profile/${encodeURIComponent(identifier)}`);
  await page.waitForSelector('#sec-traits h2');
  await page.waitForSelector('#live[data-state="live"]', { timeout: 10_000 });
  await page.waitForSelector('#timeline li');
}

fx.test('the console is served from the binary: types, ETag and 304, no key needed for files', async (srv) => {
  await setup(srv);
  const idx = await srv.request('GET', '/');
  assert.equal(idx.status, 200);
  assert.match(idx.headers.get('content-type'), /text\/html/);
  assert.match(idx.text, /c360 console/);
  const js = await srv.request('GET', '/console/js/app.js');
  assert.equal(js.status, 200);
  assert.match(js.headers.get('content-type'), /javascript/);
  const etag = js.headers.get('etag');
  assert.ok(etag, 'ETag header');
  assert.match(js.headers.get('cache-control'), /max-age/);
  const again = await srv.request('GET', '/console/js/app.js', { headers: { 'if-none-match': etag } });
  assert.equal(again.status, 304);
  assert.match((await srv.request('GET', '/console/console.css')).headers.get('content-type'), /text\/css/);
  assert.equal((await srv.request('GET', '/console/nope.js')).status, 404);
  assert.equal((await srv.request('GET', '/console/../Makefile')).status, 404);
  // the API still needs a key
  assert.equal((await srv.request('GET', '/v1/whoami')).status, 401);
});

fx.test('whoami names the role and its capabilities; search by name prefix is masked per role and fast', async (srv) => {
  await setup(srv);
  const who = await srv.get('/v1/whoami', { key: keys.agent });
  assert.equal(who.status, 200);
  assert.equal(who.json.role, 'agent');
  assert.ok(who.json.can.includes('reveal') && who.json.can.includes('add_note'));
  assert.ok(!who.json.can.includes('erase') && !who.json.can.includes('review_order'));
  const priv = await srv.get('/v1/whoami', { key: keys.privacy });
  assert.ok(priv.json.can.includes('erase') && priv.json.can.includes('export') && !priv.json.can.includes('add_note'));
  const ing = await srv.get('/v1/whoami', { key: srv.writeKey });
  assert.equal(ing.json.role, 'ingest');

  const t0 = performance.now();
  const a = await srv.get(`/v1/search?q=${encodeURIComponent('zelda')}`, { key: keys.agent });
  const ms = performance.now() - t0;
  assert.equal(a.status, 200, a.text);
  const hit = a.json.results.find((r) => r.user_id === zelda.user);
  assert.ok(hit, `Zelda found by first-name prefix: ${a.text}`);
  assert.ok(ms < 100, `search took ${ms} ms`);
  assert.match(hit.traits.email, /^z\*+@example\.com$/, 'agent sees a masked email');
  const byLast = await srv.get(`/v1/search?q=${encodeURIComponent(`quist${tag}`)}`, { key: keys.privacy });
  assert.equal(byLast.json.results.length, 1);
  assert.equal(byLast.json.results[0].traits.email, zelda.email, 'privacy sees it unmasked');
  const mk = await srv.get(`/v1/search?q=${encodeURIComponent(`quist${tag}`)}`, { key: keys.marketing });
  assert.equal(mk.json.results[0].traits.email, undefined, 'marketing sees no contact data');
  assert.equal(mk.json.results[0].traits.name, undefined);
  assert.equal((await srv.get('/v1/search?q=zelda', { key: srv.writeKey })).status, 403);
  assert.equal((await srv.get('/v1/search', { key: keys.agent })).status, 400);
});

fx.test('each role signs in and is offered only what it may do', async (srv) => {
  await setup(srv);
  const expect = {
    agent: { reveal: true, note: true, export: false, erase: false, review: false },
    fraud: { reveal: false, note: false, export: false, erase: false, review: true },
    marketing: { reveal: false, note: false, export: false, erase: false, review: false },
    privacy: { reveal: false, note: false, export: true, erase: true, review: false },
  };
  for (const [role, e] of Object.entries(expect)) {
    const page = await signIn(srv, role);
    await page.waitForSelector('#overview .stats');
    await openProfile(page, srv, `user_id:${zelda.user}`);
    await page.waitForSelector('#orders');
    const has = async (sel) => (await page.locator(sel).count()) > 0;
    assert.equal(await has('#reveal'), e.reveal, `${role}: reveal button`);
    assert.equal(await has('#note-form'), e.note, `${role}: note form`);
    assert.equal(await has('#export'), e.export, `${role}: export button`);
    assert.equal(await has('#erase'), e.erase, `${role}: erase button`);
    assert.equal(await has('button.review'), e.review, `${role}: order review button`);
    const email = page.locator('[data-trait="email"]');
    if (role === 'agent') assert.match(await email.textContent(), /^z\*+@example\.com$/);
    if (role === 'privacy') assert.equal(await email.textContent(), zelda.email);
    if (role === 'fraud' || role === 'marketing') assert.equal(await email.count(), 0, `${role} sees no email at all`);
    await shot(page, `profile-${role}`);
    assert.deepEqual(page.errors, [], `${role}: no script errors`);
    await page.close();
  }
});

fx.test('agent: finds a customer by name, sees masked traits, and a reveal shows them (audited)', async (srv) => {
  await setup(srv);
  const page = await signIn(srv, 'agent');
  await page.click('#nav-search');
  await page.selectOption('#search-by', 'name');
  await page.fill('#search-q', 'zeld');
  await page.press('#search-q', 'Enter');
  await page.waitForSelector('#results-table');
  await shot(page, 'search');
  await page.click('#results-table a.result-link >> nth=0');
  await page.waitForSelector('[data-trait="email"]');
  assert.match(await page.textContent('[data-trait="email"]'), /\*\*\*/);
  assert.match(await page.textContent('[data-trait="phone"]'), /^[^0-9]*4242$/, 'only the last digits of the phone');
  await page.click('#reveal');
  await page.waitForSelector('#revealed-note');
  assert.equal(await page.textContent('[data-trait="email"]'), zelda.email);
  assert.equal(await page.textContent('[data-trait="name"]'), zelda.name);
  assert.equal(await page.getAttribute('#reveal', 'aria-pressed'), 'true');
  await shot(page, 'revealed');
  const audit = await srv.get(`/v1/audit?subject=${encodeURIComponent(`user_id:${zelda.user}`)}`, { key: keys.privacy });
  assert.ok(audit.json.entries.some((e) => e.action === 'reveal' && e.key === `agent-${tag}` || (e.action === 'reveal' && JSON.stringify(e).includes(`agent-${tag}`))),
    `a reveal entry by the agent's key: ${audit.text.slice(0, 1500)}`);
  // exact identifier search opens the profile directly
  await page.click('#nav-search');
  await page.selectOption('#search-by', 'email');
  await page.fill('#search-q', zelda.email.toUpperCase());
  await page.press('#search-q', 'Enter');
  await page.waitForSelector('#sec-traits [data-trait="email"]');
  assert.match(page.url(), /#\/profile\/id%3Ac-/);
  assert.deepEqual(page.errors, []);
  await page.close();
});

fx.test('live: an event posted through the ingest API shows in the open view within a second', async (srv) => {
  await setup(srv);
  const page = await signIn(srv, 'agent');
  await openProfile(page, srv, `user_id:${zelda.user}`);
  const ordersBefore = await page.textContent('#f-orders');
  const mid = messageId();
  const t0 = Date.now();
  assertAccepted(await srv.ingest('/v1/track', { userId: zelda.user, event: 'Order Completed', messageId: mid,
    properties: { order_id: `o2-${tag}`, total: 10, revenue: 10, products: [{ product_id: 'sku-2', price: 10, quantity: 1 }] } }));
  await page.waitForSelector(`#timeline li[data-mid="${mid}"]`, { timeout: 1000 + 250 });
  const ms = Date.now() - t0;
  await page.waitForFunction((before) => document.querySelector('#f-orders')?.textContent !== before, ordersBefore, { timeout: 1000 });
  assert.ok(ms <= 1250, `the event appeared after ${ms} ms`);
  assert.equal(Number(await page.textContent('#f-orders')), Number(ordersBefore) + 1);
  await shot(page, 'live');
  // a tablet-width view of the same screen
  await page.setViewportSize({ width: 768, height: 1024 });
  await page.waitForTimeout(200);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `no horizontal scrolling at tablet width (overflow ${overflow}px)`);
  await shot(page, 'tablet');
  assert.deepEqual(page.errors, []);
  await page.close();
});

fx.test('agent adds a note: stored as a "Note Added" event, audited, shown live', async (srv) => {
  await setup(srv);
  const page = await signIn(srv, 'agent');
  await openProfile(page, srv, `user_id:${zelda.user}`);
  const text = `Called about a late delivery ${tag}`;
  await page.fill('#note-text', text);
  await page.click('#note-add');
  await page.waitForSelector(`#timeline li[data-event="Note Added"]:has-text("${tag}")`, { timeout: 3000 });
  assert.match(await page.textContent('#note-msg'), /Note added/);
  const ev = await srv.get(`/v1/profiles/user_id:${encodeURIComponent(zelda.user)}/events?limit=5`);
  const note = ev.json.events.find((e) => e.event === 'Note Added');
  assert.equal(note.properties.note, text);
  assert.equal(note.properties.by, `agent-${tag}`);
  const audit = await srv.get(`/v1/audit?subject=${encodeURIComponent(`user_id:${zelda.user}`)}`, { key: keys.privacy });
  assert.ok(audit.text.includes('"note"'), 'a note entry in the audit log');
  // a fraud analyst may not add notes
  const r = await srv.request('POST', `/v1/profiles/user_id:${encodeURIComponent(zelda.user)}/notes`, { body: { text: 'x' }, auth: `Bearer ${keys.fraud}` });
  assert.equal(r.status, 403);
  await page.close();
});

fx.test('fraud analyst marks an order reviewed', async (srv) => {
  await setup(srv);
  const page = await signIn(srv, 'fraud');
  await openProfile(page, srv, `user_id:${zelda.user}`);
  const row = page.locator(`#orders tr[data-order="o-${tag}"]`);
  await row.locator('button.review').click();
  await page.waitForSelector(`#orders tr[data-order="o-${tag}"]:has-text("reviewed by")`, { timeout: 3000 });
  const ev = await srv.get(`/v1/profiles/user_id:${encodeURIComponent(zelda.user)}/events?limit=10`);
  assert.ok(ev.json.events.some((e) => e.event === 'Order Reviewed' && e.properties.order_id === `o-${tag}`));
  const r = await srv.request('POST', `/v1/profiles/user_id:${encodeURIComponent(zelda.user)}/orders/o-1/review`, { auth: `Bearer ${keys.agent}` });
  assert.equal(r.status, 403, 'an agent may not review orders');
  await shot(page, 'fraud-reviewed');
  assert.deepEqual(page.errors, []);
  await page.close();
});

fx.test('privacy officer erases a customer after confirming; the customer is gone everywhere', async (srv) => {
  await setup(srv);
  const page = await signIn(srv, 'privacy');
  await openProfile(page, srv, `email:${erin.email}`);
  await page.click('#erase');
  await page.waitForSelector('#erase-dialog[open]');
  assert.equal(await page.isDisabled('#erase-confirm'), true, 'erase is disabled until the id is typed');
  await page.click('#erase-cancel');
  assert.equal(await page.locator('#erase-dialog').count(), 0);
  assert.equal((await srv.get(`/v1/profiles/email:${encodeURIComponent(erin.email)}`)).status, 200, 'cancel erased nothing');
  await page.click('#erase');
  const id = (await page.textContent('#p-meta')).match(/c-[0-9a-f]{16}/)[0];
  await page.fill('#erase-confirm-input', id);
  await shot(page, 'erase-confirm');
  await page.click('#erase-confirm');
  await page.waitForSelector('#erased');
  await shot(page, 'erased');
  assert.equal((await srv.get(`/v1/profiles/email:${encodeURIComponent(erin.email)}`)).status, 404);
  assert.equal((await srv.get(`/v1/profiles/user_id:${encodeURIComponent(erin.user)}`)).status, 404);
  const s = await srv.get(`/v1/search?q=${encodeURIComponent(`vale${tag}`)}`, { key: keys.privacy });
  assert.equal(s.json.results.length, 0, 'gone from the name index too');
  // searching for the erased customer in the console finds nobody
  await page.click('#nav-search');
  await page.fill('#search-q', `Erin Vale${tag}`);
  await page.press('#search-q', 'Enter');
  await page.waitForSelector('#results .empty');
  assert.deepEqual(page.errors, []);
  await page.close();
});

fx.test('a wrong key is refused at sign-in; signing out forgets the key', async (srv) => {
  await setup(srv);
  const page = await browser.newPage();
  await page.goto(`${srv.url}/`);
  await page.fill('#key', 'not-a-key');
  await page.click('#signin-submit');
  await page.waitForSelector('#signin-error:has-text("not valid")');
  await page.fill('#key', keys.marketing);
  await page.keyboard.press('Enter');
  await page.waitForSelector('#role');
  assert.ok(await page.evaluate(() => sessionStorage.getItem('c360.key')));
  // keyboard: the skip link is the first stop and focus is visible
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.className), 'skip');
  await page.click('#signout');
  await page.waitForSelector('#signin');
  assert.equal(await page.evaluate(() => sessionStorage.getItem('c360.key')), null);
  await page.close();
});

fx.test('overview shows rates, customers, sources, merges and alerts today, recent fraud alerts', async (srv) => {
  await setup(srv);
  // three large orders within the hour from a new account: the third one is an alert
  // (velocity_1h 25 + new_account_large_order 30 >= the default threshold 50)
  const t0 = Date.now() - 600_000;
  const risky = { user: `risky-${tag}`, email: `risky.${tag}@example.com` };
  assertAccepted(await srv.ingest('/v1/identify', { userId: risky.user, messageId: messageId(), timestamp: new Date(t0 - 1000).toISOString(),
    traits: { email: risky.email } }));
  for (let i = 0; i < 3; i++) {
    assertAccepted(await srv.ingest('/v1/track', { userId: risky.user, event: 'Order Completed', messageId: messageId(),
      timestamp: new Date(t0 + i * 60_000).toISOString(),
      properties: { order_id: `big-${i}-${tag}`, revenue: 1000, products: [{ product_id: 'tv', price: 1000, quantity: 1 }] } }));
  }
  const o = await srv.get('/v1/overview', { key: keys.agent });
  assert.equal(o.status, 200, o.text);
  assert.ok(o.json.customers >= 1);
  assert.ok(o.json.events_accepted >= 1);
  assert.ok(Array.isArray(o.json.sources) && o.json.sources[0].source === 'http');
  assert.equal(o.json.fraud_alerts_today, 1);
  assert.equal(typeof o.json.merges_today, 'number');
  const alert = o.json.recent_fraud_alerts[0];
  assert.deepEqual(alert.reasons.sort(), ['new_account_large_order', 'velocity_1h']);
  assert.ok(alert.email && alert.email !== risky.email, `the agent sees the email masked: ${alert.email}`);
  const page = await signIn(srv, 'fraud');
  await page.waitForSelector('#ov-customers');
  assert.match(await page.textContent('#ov-customers'), /\d/);
  assert.equal(await page.textContent('#ov-alerts .stat-value'), '1');
  assert.match(await page.textContent('#ov-merges .stat-value'), /^\d+$/);
  await page.waitForSelector('#ov-recent-alerts tbody tr');
  assert.match(await page.textContent('#ov-recent-alerts tbody tr'), /velocity_1h/);
  assert.equal(await page.locator('.na').count(), 0, 'everything on the overview is available');
  await shot(page, 'overview');
  // the alert links to the customer's 360 view
  await page.click('#ov-recent-alerts tbody tr a');
  await page.waitForSelector('#sec-traits h2');
  assert.match(page.url(), /#\/profile\/id%3Ac-/);
  await page.close();
});

fx.test('the server stops cleanly after the console session (no sanitizer report)', async (srv) => {
  await setup(srv);
  assertCleanExit(await srv.stop());
});
