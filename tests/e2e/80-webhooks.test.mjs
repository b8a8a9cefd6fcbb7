// Webhooks (POST /v1/webhooks/{source}, docs/SOURCES.md): HMAC-SHA256 signatures over the raw
// body (after a Content-Encoding such as gzip is undone) or, as Zendesk signs, over a timestamp
// header and the body; the built-in Zendesk mappings (a trigger's body; Zendesk's own ticket and
// user event payloads) and Mailchimp-style form-encoded list events
// (unsubscribe/cleaned reach the profile's consents), a configured source with its own mapping,
// header and base64 signature, and the refusals: 401 for a missing, wrong or stale signature,
// 404 for an unknown source, 400 for malformed bodies.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { after } from 'node:test';
import { useServer, assertCleanExit } from './lib/server.mjs';
import { assertAccepted, assertError, getAllEvents, getProfile, messageId, uid } from './lib/api.mjs';

const ZENDESK_SECRET = 'zd-secret-0123456789abcdef';
const MAILCHIMP_SECRET = 'mc-secret-0123456789abcdef';
const SHOP_SECRET = 'shop-secret-0123456789abcdef';
const NEWSLETTER_SECRET = 'nl+secret/0123456789&abcdef';

// a real Zendesk's webhook source (docs/SOURCES.md): its own signature scheme and payloads
const ZENDESK_SOURCE = `
      secret: ${ZENDESK_SECRET}
      mapping: [zendesk, zendesk_ticket_events, zendesk_user_events]
      signature_header: X-Zendesk-Webhook-Signature
      signature_prefix: ''
      signature_encoding: base64
      signature_timestamp_header: X-Zendesk-Webhook-Signature-Timestamp`;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'c360-webhooks-'));
const cfg = path.join(tmp, 'c360.yaml');
fs.writeFileSync(cfg, `
mappings:
  shop_orders:
    event: Order Completed
    identifiers: {user_id: customer.id, email: customer.email}
    time: {field: created_at, format: iso8601}
    message_id: {field: id, prefix: 'shop-'}
    properties:
      order_id: {field: id, as: string}
      revenue: {field: total, as: number}
      products: {field: skus, each: sku}
sources:
  webhooks:
    zendesk:
      secret: ${ZENDESK_SECRET}
    mailchimp:
      secret_env: C360_TEST_MC_SECRET
    helpdesk:${ZENDESK_SOURCE}
    helpdesk_any_age:${ZENDESK_SOURCE}
      signature_max_age: 0
    newsletter:
      secret: ${NEWSLETTER_SECRET}
      auth: url_secret
      mapping: [mailchimp, mailchimp_consent_revoked, mailchimp_consent_granted]
    shop:
      secret: ${SHOP_SECRET}
      mapping: shop_orders
      signature_header: X-Shop-Hmac-Sha256
      signature_prefix: ''
      signature_encoding: base64
`);
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const fx = useServer({ args: ['--config', cfg], env: { C360_TEST_MC_SECRET: MAILCHIMP_SECRET } });
const test = fx.test;

const sign = (secret, body, enc = 'hex') => createHmac('sha256', secret).update(body).digest(enc);

function post(srv, source, body, { secret, header = 'X-C360-Signature', prefix = 'sha256=', enc = 'hex', contentType = 'application/json', signature } = {}) {
  const headers = { 'content-type': contentType };
  if (signature !== null) headers[header] = signature ?? prefix + sign(secret, body, enc);
  return srv.request('POST', `/v1/webhooks/${source}`, { body, headers });
}

const ok = (res, n, what) => {
  assert.equal(res.status, 200, `${what}: ${res.status} ${res.text}`);
  assert.equal(res.json.success, true);
  if (n !== undefined) assert.equal(res.json.events, n, `${what}: events ${res.text}`);
};

test('zendesk ticket created / updated / solved with a good signature: 200, the profile shows the ticket', async (srv) => {
  const email = `${uid('ann')}@example.com`;
  const ticket = (type, status, t) => JSON.stringify({
    id: uid('evt-'), type, time: t,
    ticket: { id: 4711, subject: 'Parcel never arrived', status, priority: 'high', requester: { email, name: 'Ann' } },
  });
  ok(await post(srv, 'zendesk', ticket('ticket.created', 'open', '2026-10-01T08:00:00Z'), { secret: ZENDESK_SECRET }), 1, 'created');
  ok(await post(srv, 'zendesk', ticket('zen:event-type:ticket.updated', 'pending', '2026-10-01T09:00:00Z'), { secret: ZENDESK_SECRET }), 1, 'updated');
  ok(await post(srv, 'zendesk', ticket('ticket.solved', 'solved', '2026-10-01T10:00:00Z'), { secret: ZENDESK_SECRET }), 1, 'solved');
  const p = await getProfile(srv, 'email', email);
  assert.equal(p.counts.by_event['Ticket Created'], 1);
  assert.equal(p.counts.by_event['Ticket Updated'], 1);
  assert.equal(p.counts.by_event['Ticket Solved'], 1);
  const { events } = await getAllEvents(srv, 'email', email);
  const created = events.find((e) => e.event === 'Ticket Created');
  assert.ok(created, JSON.stringify(events));
  assert.deepEqual(created.properties, { ticket_id: '4711', subject: 'Parcel never arrived', status: 'open', priority: 'high' });
  assert.equal(created.timestamp, '2026-10-01T08:00:00.000Z');
  assert.equal(events[0].event, 'Ticket Solved', 'newest first');
  assert.equal(p.features.has_open_ticket.value, false, 'the ticket was solved');
  // a second requester with a ticket still open
  const other = `${uid('cy')}@example.com`;
  const open = JSON.stringify({ id: uid('evt-'), type: 'ticket.created', ticket: { id: 4712, subject: 'Refund?', status: 'open', priority: 'normal', requester: { email: other } } });
  ok(await post(srv, 'zendesk', open, { secret: ZENDESK_SECRET }), 1, 'created (other)');
  const q = await getProfile(srv, 'email', other);
  assert.equal(q.counts.by_event['Ticket Created'], 1);
  assert.equal(q.features.has_open_ticket.value, true, 'an open ticket');
});

// Zendesk's own webhooks: base64(HMAC-SHA256(secret, timestamp + body)) in
// X-Zendesk-Webhook-Signature, the timestamp in X-Zendesk-Webhook-Signature-Timestamp; event
// payloads name the ticket's requester by Zendesk id only, user events link that id to an email.
const zdTicket = (type, requester, ticketId, status, time, extra = {}) => JSON.stringify({
  account_id: 22129848, id: uid('zd-'), subject: `zen:ticket:${ticketId}`, time, type: `zen:event-type:${type}`,
  zendesk_event_version: '2022-11-06', event: extra,
  detail: { id: String(ticketId), requester_id: requester, submitter_id: requester, status, priority: 'LOW',
            subject: 'Where is my parcel?', created_at: '2026-10-01T08:00:00Z', via: { channel: 'web_service' } },
});
const zdUser = (requester, email, time, externalId = null, type = 'user.created') => JSON.stringify({
  account_id: 22129848, id: uid('zd-'), subject: `zen:user:${requester}`, time, type: `zen:event-type:${type}`,
  zendesk_event_version: '2022-11-06', event: {},
  detail: { id: requester, email, role: 'end-user', external_id: externalId, created_at: time },
});
// Zendesk's timestamp header: the time of sending, ISO 8601 without milliseconds
const zdNow = (offsetMs = 0) => new Date(Date.now() + offsetMs).toISOString().replace(/\.\d{3}Z$/, 'Z');
function postZendesk(srv, body, { secret = ZENDESK_SECRET, timestamp = zdNow(), signedTimestamp = timestamp, source = 'helpdesk' } = {}) {
  const headers = { 'content-type': 'application/json',
    'X-Zendesk-Webhook-Signature': createHmac('sha256', secret).update(signedTimestamp + body).digest('base64') };
  if (timestamp !== null) headers['X-Zendesk-Webhook-Signature-Timestamp'] = timestamp;
  return srv.request('POST', `/v1/webhooks/${source}`, { body, headers });
}

test("Zendesk's signature scheme (timestamp + body) and its event payloads: tickets by requester id, linked by user events", async (srv) => {
  const requester = String(8447388090000 + Math.floor(Math.random() * 1e5));
  const email = `${uid('zed')}@example.com`;
  const created = zdTicket('ticket.created', requester, 5158, 'OPEN', '2026-10-01T09:00:00.000Z');
  // the signature covers the timestamp header's value, then the body
  assertError(await postZendesk(srv, created, { signedTimestamp: '' }), 401, 'unauthorized', 'signed over the body alone');
  assertError(await postZendesk(srv, created, { timestamp: null }), 401, 'unauthorized', 'no timestamp header');
  assertError(await postZendesk(srv, created, { signedTimestamp: '2026-10-01T10:00:01Z' }), 401, 'unauthorized', 'another timestamp');
  assertError(await postZendesk(srv, created, { secret: SHOP_SECRET }), 401, 'unauthorized', 'wrong secret');
  // a correctly signed request whose signed time is not within signature_max_age (5 minutes) of
  // now is a replay (or delayed): refused, saying so; seconds since 1970 are a time too
  for (const [timestamp, what] of [[zdNow(-10 * 60e3), '10 minutes old'], [zdNow(10 * 60e3), '10 minutes ahead'],
    ['2026-10-01T10:00:00Z', 'two months old'], ['yesterday', 'not a time'], [String(Math.floor(Date.now() / 1000) - 3600), 'an hour old, in seconds']]) {
    const r = await postZendesk(srv, created, { timestamp });
    assertError(r, 401, 'unauthorized', `signed timestamp ${what}`);
    assert.match(r.json.message, /within 300 s of the server's clock/, r.text);
  }
  ok(await postZendesk(srv, zdUser(requester, `${uid('secs')}@example.com`, '2026-10-01T07:00:00.000Z'), { timestamp: String(Math.floor(Date.now() / 1000) - 60) }), 1,
    'a minute old, in seconds since 1970');
  ok(await postZendesk(srv, zdUser(requester, `${uid('anyage')}@example.com`, '2026-10-01T07:00:00.000Z'), { timestamp: '2026-10-01T10:00:00Z', source: 'helpdesk_any_age' }), 1,
    'signature_max_age: 0 accepts any signed time');
  ok(await postZendesk(srv, created), 1, 'ticket created (before the user is known by email)');
  ok(await postZendesk(srv, zdUser(requester, email, '2026-10-01T08:00:00.000Z')), 1, 'user created');
  let p = await getProfile(srv, 'email', email);
  assert.ok(p.identities.some((i) => i.type === 'zendesk_user_id' && i.value === requester), JSON.stringify(p.identities));
  assert.equal(p.counts.by_event['Ticket Created'], 1, JSON.stringify(p.counts));
  assert.equal(p.features.has_open_ticket.value, true, 'OPEN');
  const { events } = await getAllEvents(srv, 'email', email);
  const ev = events.find((e) => e.event === 'Ticket Created');
  assert.equal(ev.properties.ticket_id, '5158');
  assert.equal(ev.properties.status, 'OPEN');
  assert.equal(ev.timestamp, '2026-10-01T09:00:00.000Z');
  // solved in Zendesk's spelling
  ok(await postZendesk(srv, zdTicket('ticket.status_changed', requester, 5158, 'SOLVED', '2026-10-01T11:00:00.000Z',
    { current: 'SOLVED', previous: 'OPEN' })), 1, 'status changed');
  p = await getProfile(srv, 'email', email);
  assert.equal(p.counts.by_event['Ticket Updated'], 1, JSON.stringify(p.counts));
  assert.equal(p.features.has_open_ticket.value, false, 'SOLVED is not open');
  // a second ticket, then deleted while its status still says open
  ok(await postZendesk(srv, zdTicket('ticket.comment_added', requester, 5160, 'NEW', '2026-10-02T08:00:00.000Z')), 1, 'comment');
  p = await getProfile(srv, 'email', email);
  assert.equal(p.features.has_open_ticket.value, true, 'NEW is open');
  ok(await postZendesk(srv, zdTicket('ticket.soft_deleted', requester, 5160, 'NEW', '2026-10-02T09:00:00.000Z')), 1, 'deleted');
  p = await getProfile(srv, 'email', email);
  assert.equal(p.counts.by_event['Ticket Deleted'], 1, JSON.stringify(p.counts));
  assert.equal(p.features.has_open_ticket.value, false, 'a deleted ticket is not open');
  // other Zendesk events are accepted and ignored; a body of no known shape is refused
  ok(await postZendesk(srv, JSON.stringify({ id: uid('zd-'), type: 'zen:event-type:organization.created', detail: { id: '77' }, event: {} })), 0, 'organization event');
  assertError(await postZendesk(srv, JSON.stringify({ id: 'z', type: 'zen:event-type:ticket.created', ticket: { id: 1 } })), 400, 'invalid_event', 'no requester at all');
});

test('the built-in zendesk source takes both the trigger body and the event payloads', async (srv) => {
  const requester = String(9447388090000 + Math.floor(Math.random() * 1e5));
  const email = `${uid('zev')}@example.com`;
  ok(await post(srv, 'zendesk', zdUser(requester, email, '2026-10-03T08:00:00.000Z'), { secret: ZENDESK_SECRET }), 1, 'user event');
  ok(await post(srv, 'zendesk', zdTicket('ticket.created', requester, 6001, 'OPEN', '2026-10-03T09:00:00.000Z'), { secret: ZENDESK_SECRET }), 1, 'ticket event');
  const p = await getProfile(srv, 'email', email);
  assert.equal(p.counts.by_event['Ticket Created'], 1, JSON.stringify(p.counts));
  assert.equal(p.features.has_open_ticket.value, true);
});

test("a Zendesk user's external_id is the shop's user id: tickets join the profile the shop's events built", async (srv) => {
  // the shop knows the customer by user id and one email; Zendesk by another email
  const user = uid('shopper-'), shopEmail = `${uid('shop')}@example.com`, deskEmail = `${uid('desk')}@example.com`;
  assertAccepted(await srv.ingest('/v1/identify', { userId: user, traits: { email: shopEmail }, messageId: messageId() }));
  const trigger = JSON.stringify({ id: uid('evt-'), type: 'ticket.created',
    ticket: { id: 4801, subject: 'Wrong size', status: 'open', priority: 'normal', requester: { email: deskEmail, id: 5501, external_id: user } } });
  ok(await post(srv, 'zendesk', trigger, { secret: ZENDESK_SECRET }), 1, 'trigger body with external_id');
  let p = await getProfile(srv, 'user_id', user);
  assert.equal(p.counts.by_event['Ticket Created'], 1, JSON.stringify(p.counts));
  assert.ok(p.identities.some((i) => i.type === 'email' && i.value === deskEmail), JSON.stringify(p.identities));
  assert.ok(p.identities.some((i) => i.type === 'email' && i.value === shopEmail), JSON.stringify(p.identities));

  // Zendesk's event payloads: a user event with external_id links the Zendesk id to the shop's
  // user; the ticket events that name only the requester's Zendesk id then reach that profile
  const user2 = uid('shopper-'), requester = String(7447388090000 + Math.floor(Math.random() * 1e5));
  assertAccepted(await srv.ingest('/v1/track', { userId: user2, event: 'Product Viewed', properties: { product_id: 'p1' }, messageId: messageId() }));
  ok(await postZendesk(srv, zdUser(requester, `${uid('zd2')}@example.com`, '2026-10-04T08:00:00.000Z', user2)), 1, 'user event with external_id');
  ok(await postZendesk(srv, zdTicket('ticket.created', requester, 6101, 'OPEN', '2026-10-04T09:00:00.000Z')), 1, 'ticket event');
  p = await getProfile(srv, 'user_id', user2);
  assert.equal(p.counts.by_event['Ticket Created'], 1, JSON.stringify(p.counts));
  assert.equal(p.counts.by_event['Product Viewed'], 1, JSON.stringify(p.counts));
  assert.ok(p.identities.some((i) => i.type === 'zendesk_user_id' && i.value === requester), JSON.stringify(p.identities));
  assert.equal(p.features.has_open_ticket.value, true);

  // Zendesk sends "" for a user without one: no user id, the email and Zendesk id still link
  const requester3 = String(6447388090000 + Math.floor(Math.random() * 1e5)), email3 = `${uid('zd3')}@example.com`;
  ok(await postZendesk(srv, zdUser(requester3, email3, '2026-10-04T08:00:00.000Z', '')), 1, 'user event, empty external_id');
  p = await getProfile(srv, 'email', email3);
  assert.ok(!p.identities.some((i) => i.type === 'user_id'), JSON.stringify(p.identities));
  assert.ok(p.identities.some((i) => i.type === 'zendesk_user_id' && i.value === requester3), JSON.stringify(p.identities));

  // a Zendesk user without an email (a phone or social identity) is linked by external_id alone
  const user4 = uid('shopper-'), requester4 = String(5447388090000 + Math.floor(Math.random() * 1e5));
  assertAccepted(await srv.ingest('/v1/track', { userId: user4, event: 'Product Viewed', properties: { product_id: 'p2' }, messageId: messageId() }));
  ok(await postZendesk(srv, zdUser(requester4, null, '2026-10-05T08:00:00.000Z', user4, 'user.external_id_changed')), 1, 'user event, external_id, no email');
  ok(await postZendesk(srv, zdTicket('ticket.created', requester4, 6201, 'OPEN', '2026-10-05T09:00:00.000Z')), 1, 'ticket event (no email)');
  p = await getProfile(srv, 'user_id', user4);
  assert.equal(p.counts.by_event['Ticket Created'], 1, JSON.stringify(p.counts));
  assert.ok(p.identities.some((i) => i.type === 'zendesk_user_id' && i.value === requester4), JSON.stringify(p.identities));
  // neither an email nor an external_id, or an organization's external_id: accepted, ignored
  ok(await postZendesk(srv, zdUser(String(Number(requester4) + 1), null, '2026-10-05T08:00:00.000Z', '')), 0, 'user event, no email, empty external_id');
  ok(await postZendesk(srv, zdUser(String(Number(requester4) + 2), null, '2026-10-05T08:00:00.000Z')), 0, 'user event, no email, null external_id');
  ok(await postZendesk(srv, JSON.stringify({ id: uid('zd-'), type: 'zen:event-type:organization.created', time: '2026-10-05T08:00:00Z',
    detail: { id: '78', external_id: user4, name: 'Shop Ltd' }, event: {} })), 0, 'organization event with external_id');
  p = await getProfile(srv, 'user_id', user4);
  assert.equal(p.counts.total, 3, 'the view, the user event and the ticket: ' + JSON.stringify(p.counts));
});

test('a redelivered webhook (same body) is stored once', async (srv) => {
  const email = `${uid('dup')}@example.com`;
  const body = JSON.stringify({ id: uid('evt-'), type: 'ticket.created', ticket: { id: 1, subject: 's', status: 'open', priority: 'low', requester: { email } } });
  ok(await post(srv, 'zendesk', body, { secret: ZENDESK_SECRET }), 1, 'first');
  ok(await post(srv, 'zendesk', body, { secret: ZENDESK_SECRET }), 1, 'again');
  const p = await getProfile(srv, 'email', email);
  assert.equal(p.counts.total, 1);
});

test('mailchimp form-encoded subscribe, open, click, unsubscribe: engagement events and the unsubscribe in consents', async (srv) => {
  const email = `${uid('bo')}@example.com`;
  const form = (fields) => new URLSearchParams(fields).toString();
  const send = (fields) => post(srv, 'mailchimp', form(fields), { secret: MAILCHIMP_SECRET, contentType: 'application/x-www-form-urlencoded' });
  ok(await send({ type: 'subscribe', fired_at: '2026-10-01 08:00:00', 'data[email]': email, 'data[list_id]': 'a6b5da1054', 'data[merges][FNAME]': 'Bo' }), 2, 'subscribe');
  ok(await send({ type: 'open', fired_at: '2026-10-02 08:00:00', 'data[email]': email, 'data[campaign_id]': 'cb398d21d2' }), 1, 'open');
  ok(await send({ type: 'click', fired_at: '2026-10-02 08:01:00', 'data[email]': email, 'data[campaign_id]': 'cb398d21d2', 'data[url]': 'https://shop.example/sale' }), 1, 'click');
  let p = await getProfile(srv, 'email', email);
  assert.equal(p.consents.email.granted, true, JSON.stringify(p.consents));
  ok(await send({ type: 'unsubscribe', fired_at: '2026-10-03 08:00:00', 'data[email]': email, 'data[action]': 'unsub', 'data[reason]': 'manual' }), 2, 'unsubscribe');
  p = await getProfile(srv, 'email', email);
  assert.equal(p.counts.by_event['Email Subscribed'], 1);
  assert.equal(p.counts.by_event['Email Opened'], 1);
  assert.equal(p.counts.by_event['Email Link Clicked'], 1);
  assert.equal(p.counts.by_event['Email Unsubscribed'], 1);
  assert.equal(p.counts.by_event['Consent Updated'], 2);
  assert.equal(p.consents.email.granted, false, JSON.stringify(p.consents));
  assert.equal(p.consents.email.source, 'mailchimp', JSON.stringify(p.consents));
  const { events } = await getAllEvents(srv, 'email', email);
  const click = events.find((e) => e.event === 'Email Link Clicked');
  assert.equal(click.properties.url, 'https://shop.example/sale');
  assert.equal(click.timestamp, '2026-10-02T08:01:00.000Z');
});

test('mailchimp cleaned address revokes email consent; unknown types are accepted and ignored', async (srv) => {
  const email = `${uid('cl')}@example.com`;
  const body = new URLSearchParams({ type: 'cleaned', fired_at: '2026-10-05 10:00:00', 'data[email]': email, 'data[reason]': 'hard' }).toString();
  ok(await post(srv, 'mailchimp', body, { secret: MAILCHIMP_SECRET, contentType: 'application/x-www-form-urlencoded' }), 2, 'cleaned');
  const p = await getProfile(srv, 'email', email);
  assert.equal(p.consents.email.granted, false);
  const other = new URLSearchParams({ type: 'upemail', 'data[new_email]': email }).toString();
  ok(await post(srv, 'mailchimp', other, { secret: MAILCHIMP_SECRET, contentType: 'application/x-www-form-urlencoded' }), 0, 'upemail');
});

// Mailchimp does not sign its webhooks: the secret travels in the URL, and registering the URL
// makes Mailchimp GET it first.
test('a source with auth: url_secret (Mailchimp): the GET check, form posts with the secret in the query, 401 without it', async (srv) => {
  const q = `?secret=${encodeURIComponent(NEWSLETTER_SECRET)}`;
  const check = await srv.request('GET', `/v1/webhooks/newsletter${q}`);
  assert.equal(check.status, 200, check.text);
  assert.deepEqual(check.json, { success: true });
  assertError(await srv.request('GET', '/v1/webhooks/newsletter?secret=nl%2Bsecret%2F0123456789%26abcdeF'), 401, 'unauthorized', 'GET, wrong secret');
  assertError(await srv.request('GET', '/v1/webhooks/newsletter'), 401, 'unauthorized', 'GET, no secret');
  assertError(await srv.request('GET', `/v1/webhooks/nosuch${q}`), 404, 'not_found', 'GET, unknown source');
  const email = `${uid('nl')}@example.com`;
  const body = new URLSearchParams({ type: 'unsubscribe', fired_at: '2026-10-06 09:00:00', 'data[email]': email, 'data[list_id]': 'a6b5da1054' }).toString();
  const form = { 'content-type': 'application/x-www-form-urlencoded' };
  assertError(await srv.request('POST', '/v1/webhooks/newsletter', { body, headers: form }), 401, 'unauthorized', 'no secret');
  assertError(await srv.request('POST', `/v1/webhooks/newsletter?secret=${encodeURIComponent(NEWSLETTER_SECRET.slice(0, -1))}`, { body, headers: form }), 401, 'unauthorized', 'a prefix of the secret');
  assertError(await post(srv, 'newsletter', body, { secret: NEWSLETTER_SECRET, contentType: form['content-type'] }), 401, 'unauthorized', 'a signature instead of the URL secret');
  assertError(await srv.get(`/v1/profiles/email:${encodeURIComponent(email)}`), 404, 'profile_not_found', 'nothing stored');
  ok(await srv.request('POST', `/v1/webhooks/newsletter${q}`, { body, headers: form }), 2, 'unsubscribe with the URL secret');
  const p = await getProfile(srv, 'email', email);
  assert.equal(p.counts.by_event['Email Unsubscribed'], 1, JSON.stringify(p.counts));
  assert.equal(p.consents.email.granted, false, JSON.stringify(p.consents));
});

test('a configured source: own mapping, header and base64 signature', async (srv) => {
  const user = uid('u');
  const body = JSON.stringify({ id: 9001, created_at: '2026-09-30T12:00:00Z', total: '59.90', skus: ['A-1', 'B-2'], customer: { id: user, email: `${user}@example.com` } });
  ok(await post(srv, 'shop', body, { secret: SHOP_SECRET, header: 'X-Shop-Hmac-Sha256', prefix: '', enc: 'base64' }), 1, 'shop');
  const { events } = await getAllEvents(srv, 'user_id', user);
  assert.equal(events.length, 1);
  assert.equal(events[0].messageId, 'shop-9001');
  assert.deepEqual(events[0].properties, { order_id: '9001', revenue: 59.9, products: [{ sku: 'A-1' }, { sku: 'B-2' }] });
  // the default header is not what this source reads
  const res = await post(srv, 'shop', body, { secret: SHOP_SECRET });
  assertError(res, 401, 'unauthorized', 'signature in the wrong header');
});

test('bad, missing or foreign signatures: 401 and nothing stored', async (srv) => {
  const email = `${uid('bad')}@example.com`;
  const body = JSON.stringify({ id: uid('evt-'), type: 'ticket.created', ticket: { id: 2, subject: 's', status: 'open', priority: 'low', requester: { email } } });
  assertError(await post(srv, 'zendesk', body, { secret: 'not-the-secret-at-all' }), 401, 'unauthorized', 'wrong secret');
  assertError(await post(srv, 'zendesk', body, { signature: null }), 401, 'unauthorized', 'no signature');
  assertError(await post(srv, 'zendesk', body, { signature: 'sha256=zz' }), 401, 'unauthorized', 'not hex');
  assertError(await post(srv, 'zendesk', body, { signature: sign(ZENDESK_SECRET, body) }), 401, 'unauthorized', 'no prefix');
  assertError(await post(srv, 'zendesk', body, { secret: MAILCHIMP_SECRET }), 401, 'unauthorized', "another source's secret");
  const tampered = body.replace('"low"', '"urgent"');
  assertError(await post(srv, 'zendesk', tampered, { signature: 'sha256=' + sign(ZENDESK_SECRET, body) }), 401, 'unauthorized', 'tampered body');
  // an API key is no substitute for the signature
  const r = await srv.request('POST', '/v1/webhooks/zendesk', { body, headers: { authorization: `Bearer ${srv.adminKey}` } });
  assertError(r, 401, 'unauthorized', 'admin key without signature');
  const res = await srv.get(`/v1/profiles/email:${encodeURIComponent(email)}`);
  assertError(res, 404, 'profile_not_found', 'nothing stored');
});

test('malformed bodies with a valid signature: 400; unknown source: 404', async (srv) => {
  const bad = '{"type":"ticket.created",';
  assertError(await post(srv, 'zendesk', bad, { secret: ZENDESK_SECRET }), 400, 'invalid_json', 'truncated JSON');
  assertError(await post(srv, 'zendesk', '[1,2]', { secret: ZENDESK_SECRET }), 400, 'invalid_json', 'not an object');
  assertError(await post(srv, 'zendesk', Buffer.from([0x7b, 0xff, 0x7d]), { signature: 'sha256=' + createHmac('sha256', ZENDESK_SECRET).update(Buffer.from([0x7b, 0xff, 0x7d])).digest('hex') }), 400, 'invalid_utf8', 'bad UTF-8');
  const noEmail = JSON.stringify({ id: 'x', type: 'ticket.created', ticket: { id: 3 } });
  assertError(await post(srv, 'zendesk', noEmail, { secret: ZENDESK_SECRET }), 400, 'invalid_event', 'no requester');
  const badType = JSON.stringify({ id: 'y', type: 'ticket.exploded', ticket: { id: 3, requester: { email: 'x@example.com' } } });
  assertError(await post(srv, 'zendesk', badType, { secret: ZENDESK_SECRET }), 400, 'invalid_event', 'unknown ticket event');
  const badForm = 'type=unsubscribe&data%5Bemail%5D=%zz';
  assertError(await post(srv, 'mailchimp', badForm, { secret: MAILCHIMP_SECRET, contentType: 'application/x-www-form-urlencoded' }), 400, 'invalid_event', 'bad form escape');
  assertError(await post(srv, 'nosuch', '{}', { secret: ZENDESK_SECRET }), 404, 'not_found', 'unknown source');
  assertError(await srv.request('GET', '/v1/webhooks/zendesk'), 405, 'method_not_allowed', 'GET on a signed source');
});

test('a gzipped webhook: signed over the decoded body it is stored; signed over the compressed bytes, 401', async (srv) => {
  const email = `${uid('gz')}@example.com`;
  // with a long description the mapping does not take: 40 KB decoded, more than one tracking event may be
  const body = JSON.stringify({ id: uid('evt-'), type: 'ticket.created', time: '2026-10-02T08:00:00Z',
    ticket: { id: 4712, subject: 'Zipped', status: 'open', description: 'long '.repeat(8000), requester: { email } } });
  const gz = zlib.gzipSync(body);
  const send = (signature) => srv.request('POST', '/v1/webhooks/zendesk', {
    body: gz, headers: { 'content-type': 'application/json', 'content-encoding': 'gzip', 'X-C360-Signature': signature } });
  assertError(await send('sha256=' + sign(ZENDESK_SECRET, gz)), 401, 'unauthorized', 'signature over the compressed bytes');
  ok(await send('sha256=' + sign(ZENDESK_SECRET, body)), 1, 'signature over the decoded body');
  const p = await getProfile(srv, 'email', email);
  assert.equal(p.counts?.total, 1, JSON.stringify(p.counts));
});

test('graceful stop is clean', async (srv) => {
  assertCleanExit(await srv.stop());
});
