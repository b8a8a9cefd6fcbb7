// Backup and restore: `c360 backup --url` takes a consistent copy from a running server while
// ingest goes on flat out; `c360 restore` brings it back into a fresh data dir; every event
// acknowledged before the backup began is in the restored store, exactly once.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test, after } from 'node:test';
import { startServer, assertCleanExit, C360_BIN, ADMIN_KEY, SANITIZER_ENV } from './lib/server.mjs';
import { getAllEvents, messageId, uid } from './lib/api.mjs';

const run = promisify(execFile);
const tag = uid();
const USERS = 8;
const users = Array.from({ length: USERS }, (_, i) => `bk-${i}-${tag}`);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'c360-backup-'));
const servers = [];
after(async () => {
  for (const s of servers) await s.cleanup?.();
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('backup under load contains every event acknowledged before it began; restore brings it back', async () => {
  const srv = await startServer();
  servers.push(srv);
  const acked = []; // {mid, user, at}
  let stop = false;
  const client = async (c) => {
    let n = 0;
    while (!stop) {
      const batch = Array.from({ length: 10 }, () => {
        const user = users[(n++ + c) % USERS];
        return { type: 'track', userId: user, event: 'Backup Probe', messageId: messageId() };
      });
      const res = await srv.ingest('/v1/batch', { batch });
      if (res.status === 200) {
        const at = Date.now();
        for (const e of batch) acked.push({ mid: e.messageId, user: e.userId, at });
      }
    }
  };
  const clients = [0, 1, 2].map(client);
  await new Promise((r) => setTimeout(r, 400));
  const began = Date.now();
  const before = acked.filter((a) => a.at <= began);
  const dir = path.join(tmp, 'backup');
  const { stdout } = await run(C360_BIN, ['backup', '--url', srv.url, '--admin-key', ADMIN_KEY, dir],
    { env: { ...process.env, ...SANITIZER_ENV } });
  assert.match(stdout, /"dir"/, `backup output: ${stdout}`);
  await new Promise((r) => setTimeout(r, 200)); // ingest goes on after the backup
  stop = true;
  await Promise.all(clients);
  assert.ok(before.length > 0, 'some events were acknowledged before the backup');
  assert.ok(acked.length > before.length, 'ingest kept going while and after the backup was taken');
  assertCleanExit(await srv.stop());

  // a second backup into the same path is refused (no silent overwrite)
  await assert.rejects(run(C360_BIN, ['backup', '--url', 'http://127.0.0.1:1', '--admin-key', ADMIN_KEY, dir],
    { env: { ...process.env, ...SANITIZER_ENV } }), /already exists/);

  const restored = path.join(tmp, 'restored');
  await run(C360_BIN, ['restore', '--data-dir', restored, dir], { env: { ...process.env, ...SANITIZER_ENV } });
  const srv2 = await startServer({ dataDir: restored });
  servers.push(srv2);
  const stored = new Map();
  for (const u of users) {
    const { events } = await getAllEvents(srv2, 'user_id', u);
    for (const e of events) stored.set(e.messageId, (stored.get(e.messageId) || 0) + 1);
  }
  for (const a of before) assert.equal(stored.get(a.mid), 1, `event ${a.mid} acknowledged before the backup is missing or duplicated`);
  for (const [mid, n] of stored) assert.equal(n, 1, `event ${mid} stored ${n} times`);
  assertCleanExit(await srv2.stop());
});

test('restore refuses a non-empty data dir without --force, and a path that is not a backup', async () => {
  const target = path.join(tmp, 'nonempty');
  fs.mkdirSync(target);
  fs.writeFileSync(path.join(target, 'x'), 'y');
  await assert.rejects(run(C360_BIN, ['restore', '--data-dir', target, path.join(tmp, 'backup')],
    { env: { ...process.env, ...SANITIZER_ENV } }), /not empty/);
  await assert.rejects(run(C360_BIN, ['restore', '--data-dir', path.join(tmp, 'n2'), target],
    { env: { ...process.env, ...SANITIZER_ENV } }), /not a usable backup/);
});
