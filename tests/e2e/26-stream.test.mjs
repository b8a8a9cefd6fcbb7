// Live updates: GET /v1/profiles/{id}/stream (Server-Sent Events) sends the current profile at
// once, then the fresh profile within a second of each committed change; masking follows the
// caller's role; a merge is followed; an erasure ends the stream.
import assert from 'node:assert/strict';
import http from 'node:http';
import { useServer, assertCleanExit, basicAuth, ADMIN_KEY } from './lib/server.mjs';
import { assertAccepted, messageId, uid } from './lib/api.mjs';

const fx = useServer();
const tag = uid();

// opens the stream; returns {events, next(timeoutMs), close()}
function openStream(srv, path, key) {
  const events = [];
  const waiters = [];
  let buf = '';
  const req = http.get({ host: '127.0.0.1', port: srv.port, path, headers: { authorization: basicAuth(key) } });
  const ready = new Promise((resolve, reject) => {
    req.on('response', (res) => {
      resolve(res);
      res.setEncoding('utf8');
      res.on('data', (d) => {
        buf += d;
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const ev = { event: 'message', data: '' };
          for (const line of block.split('\n')) {
            if (line.startsWith('event: ')) ev.event = line.slice(7);
            else if (line.startsWith('data: ')) ev.data += line.slice(6);
            else if (line.startsWith('id: ')) ev.id = line.slice(4);
          }
          if (ev.data) ev.json = JSON.parse(ev.data);
          events.push(ev);
          while (waiters.length) waiters.shift()();
        }
      });
    });
    req.on('error', reject);
  });
  const next = async (pred, timeoutMs = 1500) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = events.find(pred);
      if (hit) return hit;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no matching stream event within ${timeoutMs} ms; got ${JSON.stringify(events.map((e) => e.event))}`);
      await new Promise((r) => { waiters.push(r); setTimeout(r, left); });
    }
  };
  return { ready, events, next, close: () => req.destroy() };
}

fx.test('the stream starts with the current profile and pushes each change within a second', async (srv) => {
  const user = `live-${tag}`;
  assertAccepted(await srv.ingest('/v1/identify', { userId: user, traits: { email: `live.${tag}@example.com` }, messageId: messageId() }));
  const s = openStream(srv, `/v1/profiles/user_id:${user}/stream`, ADMIN_KEY);
  const res = await s.ready;
  assert.equal(res.statusCode, 200);
  assert.match(res.headers['content-type'], /text\/event-stream/);
  const first = await s.next((e) => e.event === 'profile');
  assert.equal(first.json.counts.total, 1);
  for (let i = 2; i <= 4; i++) {
    const t0 = Date.now();
    assertAccepted(await srv.ingest('/v1/track', { userId: user, event: 'Product Viewed', messageId: messageId() }));
    const ev = await s.next((e) => e.event === 'profile' && e.json.counts.total === i, 1000);
    assert.ok(Date.now() - t0 < 1000, `update ${i} took ${Date.now() - t0} ms`);
    assert.equal(ev.json.counts.by_event['Product Viewed'], i - 1);
  }
  s.close();
});

fx.test('a merge is followed, an erasure ends the stream', async (srv) => {
  const anon = `anon-live-${tag}`, user = `merge-live-${tag}`;
  assertAccepted(await srv.ingest('/v1/track', { anonymousId: anon, event: 'Page', messageId: messageId() }));
  assertAccepted(await srv.ingest('/v1/track', { userId: user, event: 'Login', messageId: messageId() }));
  const s = openStream(srv, `/v1/profiles/anonymous_id:${anon}/stream`, ADMIN_KEY);
  await s.ready;
  const first = await s.next((e) => e.event === 'profile');
  // link the anonymous profile to the user's (older) profile: the anonymous one is merged away
  assertAccepted(await srv.ingest('/v1/identify', { userId: user, anonymousId: anon, messageId: messageId() }));
  const merged = await s.next((e) => e.event === 'profile' && e.json.counts.total === 3);
  assert.ok(merged.json.identities.some((i) => i.type === 'user_id' && i.value === user));
  assert.notEqual(first.json.id, undefined);
  const er = await srv.ingest('/v1/privacy/erase', { identifier: `user_id:${user}` }, { key: ADMIN_KEY });
  assert.equal(er.status, 200, JSON.stringify(er.json));
  await s.next((e) => e.event === 'erased', 5000);
  s.close();
});

fx.test('graceful stop with a stream open: exit 0, no sanitizer report', async (srv) => {
  const user = `stop-${tag}`;
  assertAccepted(await srv.ingest('/v1/track', { userId: user, event: 'X', messageId: messageId() }));
  const s = openStream(srv, `/v1/profiles/user_id:${user}/stream`, ADMIN_KEY);
  await s.ready;
  await s.next((e) => e.event === 'profile');
  const stopped = srv.stop();
  assertCleanExit(await stopped);
  s.close();
});
