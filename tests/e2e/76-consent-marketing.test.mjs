// Segment member lists for the marketing role honour consent: a customer who refused marketing
// is left out for marketing (privacy and admin still see every member).
import assert from 'node:assert/strict';
import { useServer, assertCleanExit } from './lib/server.mjs';
import { assertAccepted, messageId, uid } from './lib/api.mjs';

const fx = useServer();
const tag = uid();

fx.test('marketing does not see members who refused marketing consent', async (srv) => {
  const mk = await srv.ingest('/v1/keys', { name: `mkt-${tag}`, role: 'marketing' }, { key: srv.adminKey });
  assert.equal(mk.status, 200, JSON.stringify(mk.json));
  const seg = `vip_${tag.replace(/[^a-z0-9]/gi, '')}`;
  const def = await srv.ingest('/v1/segments', { name: seg, where: `traits.tier == "vip-${tag}"` }, { key: srv.adminKey });
  assert.ok(def.status === 200 || def.status === 201, JSON.stringify(def.json));
  const yes = `yes-${tag}`, no = `no-${tag}`;
  for (const u of [yes, no])
    assertAccepted(await srv.ingest('/v1/identify', { userId: u, traits: { tier: `vip-${tag}` }, messageId: messageId() }));
  assertAccepted(await srv.ingest('/v1/track', {
    userId: no, event: 'Consent Updated', properties: { purpose: 'marketing', granted: false }, messageId: messageId() }));
  const ids = async (key) => {
    const r = await srv.get(`/v1/segments/${seg}/members?limit=100`, { key });
    assert.equal(r.status, 200, r.text);
    return r.json.members.map((m) => m.id);
  };
  const all = await ids(srv.adminKey);
  assert.equal(all.length, 2, `admin sees both members: ${JSON.stringify(all)}`);
  const forMarketing = await ids(mk.json.key);
  assert.equal(forMarketing.length, 1, `marketing sees only the consenting member: ${JSON.stringify(forMarketing)}`);
  const noId = (await srv.get(`/v1/profiles/user_id:${no}`, { key: srv.adminKey })).json.id;
  assert.ok(!forMarketing.includes(noId), 'the refusing customer is left out');
});

fx.test('graceful stop: exit 0, no sanitizer report', async (srv) => {
  assertCleanExit(await srv.stop());
});
