// TLS (docs/PRIVACY.md "TLS"): with tls_cert and tls_key the server speaks HTTPS only. A
// self-signed certificate for 127.0.0.1 is made with the openssl CLI; the real curl talks to the
// server with --cacert; plain HTTP to the same port fails; a certificate with a key that does not
// belong to it is refused at start with a clear message.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { test, before, after } from 'node:test';
import { assertCleanExit, assertNoSanitizerReport, ADMIN_KEY, WRITE_KEY } from './lib/server.mjs';
import { messageId, uid } from './lib/api.mjs';
import { spawnServe, freePort, within } from './lib/privacy.mjs';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'c360-tls-'));
const cert = path.join(tmp, 'cert.pem'), key = path.join(tmp, 'key.pem'), otherKey = path.join(tmp, 'other-key.pem');
const procs = [];
after(async () => {
  for (const p of procs) await p.kill().catch(() => {});
  fs.rmSync(tmp, { recursive: true, force: true });
}, { timeout: 30_000 });

function run(cmd, args) {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 30_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

before(async () => {
  const r = await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1']);
  assert.equal(r.code, 0, `openssl req: ${r.stderr}`);
  const k = await run('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-out', otherKey]);
  assert.equal(k.code, 0, `openssl genpkey: ${k.stderr}`);
}, { timeout: 30_000 });

// GET over HTTPS with node, trusting the test CA: resolves the status.
function httpsStatus(url, ca) {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { ca, timeout: 2000 }, (res) => { res.resume(); resolve(res.statusCode); });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
  });
}

// curl: resolves {code, status, body}
async function curl(args) {
  const r = await run('curl', ['-sS', '--max-time', '10', '-w', '\n%{http_code}', ...args]);
  const i = r.stdout.lastIndexOf('\n');
  return { code: r.code, status: Number(r.stdout.slice(i + 1)), body: r.stdout.slice(0, i), stderr: r.stderr };
}

async function serveTls(extra) {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(tmp, 'data-'));
  const ca = fs.readFileSync(cert);
  const s = await spawnServe(['--listen', `127.0.0.1:${port}`, '--data-dir', dir, '--write-key', WRITE_KEY, '--admin-key', ADMIN_KEY, ...extra],
    { ready: async () => (await httpsStatus(`https://127.0.0.1:${port}/readyz`, ca)) === 200 });
  procs.push(s);
  return { s, port };
}

test('HTTPS: curl --cacert gets /healthz, posts an event (200) and reads it back; without the CA curl refuses the certificate', { timeout: 50_000 }, async () => {
  const { s, port } = await serveTls(['--tls-cert', cert, '--tls-key', key]);
  assert.ok(s.running, `the server did not start with TLS:\n${s.stderr}`);
  const base = `https://127.0.0.1:${port}`;
  const h = await curl(['--cacert', cert, `${base}/healthz`]);
  assert.equal(h.code, 0, `curl --cacert /healthz: exit ${h.code} ${h.stderr}`);
  assert.equal(h.status, 200);
  assert.deepEqual(JSON.parse(h.body), { status: 'ok' });

  const user = `tls-${uid()}`;
  const ev = JSON.stringify({ userId: user, event: 'Secure Checkout', messageId: messageId(), properties: { total: 12 } });
  const p = await curl(['--cacert', cert, '-u', `${WRITE_KEY}:`, '-H', 'Content-Type: application/json', '--data-binary', ev, `${base}/v1/track`]);
  assert.equal(p.code, 0, `curl POST: exit ${p.code} ${p.stderr}`);
  assert.equal(p.status, 200, `POST /v1/track over HTTPS: ${p.status} ${p.body}`);
  assert.deepEqual(JSON.parse(p.body), { success: true });
  const g = await curl(['--cacert', cert, '-H', `Authorization: Bearer ${ADMIN_KEY}`, `${base}/v1/profiles/user_id:${user}`]);
  assert.equal(g.status, 200, `GET profile over HTTPS: ${g.status} ${g.body}`);
  assert.equal(JSON.parse(g.body).counts.by_event['Secure Checkout'], 1);

  const untrusted = await curl([`${base}/healthz`]);
  assert.notEqual(untrusted.code, 0, 'curl without --cacert must refuse the self-signed certificate');

  // plain HTTP to the same port fails, and the server goes on serving HTTPS
  const plain = await curl([`http://127.0.0.1:${port}/healthz`]);
  assert.ok(plain.code !== 0 || plain.status !== 200, `plain HTTP must not be answered: exit ${plain.code} status ${plain.status} ${plain.body}`);
  const f = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(5000) }).then((r) => r.status, (e) => e);
  assert.ok(f instanceof Error || f !== 200, `plain HTTP with fetch: ${f}`);
  const again = await curl(['--cacert', cert, `${base}/healthz`]);
  assert.equal(again.status, 200, 'HTTPS still works after a plain-HTTP attempt');
  assertCleanExit(await s.stop());
});

async function refused(extra, what) {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(tmp, 'data-'));
  const s = await spawnServe(['--listen', `127.0.0.1:${port}`, '--data-dir', dir, '--write-key', WRITE_KEY, '--admin-key', ADMIN_KEY, ...extra]);
  procs.push(s);
  const r = await within(s.exited, 20_000);
  assert.ok(r !== 'timeout', `${what}: the server must refuse to start, but it is still running\n${s.stderr}`);
  assert.notEqual(r.code, 0, `${what}: exit status must be non-zero\n${s.stderr}`);
  assertNoSanitizerReport(s.stderr, what);
  return s.stderr;
}

test('a key that does not belong to the certificate, a missing key or a missing file: the server refuses to start and says why', { timeout: 50_000 }, async () => {
  const e1 = await refused(['--tls-cert', cert, '--tls-key', otherKey], 'mismatched cert and key');
  assert.match(e1, /cert/i, `the message names the certificate: ${e1}`);
  assert.ok(e1.includes(cert) || /key/i.test(e1), `the message names the files or the key: ${e1}`);
  const e2 = await refused(['--tls-cert', cert], 'certificate without key');
  assert.match(e2, /tls_key|tls-key|key/i, `the message says the key is missing: ${e2}`);
  const e3 = await refused(['--tls-cert', path.join(tmp, 'nope.pem'), '--tls-key', key], 'missing certificate file');
  assert.match(e3, /nope\.pem|cert/i, `the message names the certificate: ${e3}`);
});
