// CDC straight from PostgreSQL (logical replication, pgoutput; docs/SOURCES.md): a real
// PostgreSQL 15 on loopback, tables customers and orders in a publication, c360 subscribed
// through its own replication slot.
//  - customers rows become profiles (lookup by user id and email), traits are upserted, a
//    delete clears what the row contributed; orders become one "Order Completed" each, counted
//    once however often the row changes;
//  - kill -9 while rows change, more changes while c360 is down, restart: nothing lost;
//  - with deduplication off (--dedup-window 0), kill -9 in the middle of streams of
//    transactions, and PostgreSQL restarted under the stream: order counts and lifetime spend
//    match the database exactly, so only the commit LSN stored with the state stands between a
//    replay and a double count;
//  - with postgres.cdc_delete erase, deleting a customers row erases the customer;
//  - the initial snapshot: rows from before the slot arrive; a kill -9 in the middle of it
//    starts it over; with rows changing meanwhile and dedup off, every row is read by the
//    snapshot or streamed, exactly one of the two; a restart takes no second snapshot.
import assert from 'node:assert/strict';
import { test, before, after } from 'node:test';
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, chownSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer, assertCleanExit, assertNoSanitizerReport, eventually, freePort } from './lib/server.mjs';
import { getProfile, uid } from './lib/api.mjs';

const PGBIN = '/usr/lib/postgresql/15/bin';
const asRoot = process.getuid?.() === 0;
function pgUser() {
  if (!asRoot) return null;
  const r = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  return r.status === 0 ? { uid: Number(r.stdout.trim()), gid: Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim()) } : null;
}
const pgu = pgUser();
const skip = !existsSync(`${PGBIN}/postgres`) || !existsSync(`${PGBIN}/psql`)
  ? `PostgreSQL 15 binaries are not installed in ${PGBIN} (apt-get install postgresql-15)`
  : asRoot && !pgu ? 'running as root and there is no postgres user to run PostgreSQL as' : false;

const tag = uid().replace(/[^a-z0-9]/gi, '').toLowerCase();
let dir, port, pgStarted = false;

// a PostgreSQL program, as the postgres user when we are root (initdb and postgres refuse root)
function asPg(bin, args, opts = {}) {
  return asRoot ? ['runuser', ['-u', 'postgres', '--', `${PGBIN}/${bin}`, ...args], opts] : [`${PGBIN}/${bin}`, args, opts];
}

function pgCtl(...args) {
  const [cmd, argv] = asPg('pg_ctl', ['-D', path.join(dir, 'data'), ...args]);
  return spawnSync(cmd, argv, { encoding: 'utf8', timeout: 60_000 });
}

function psql(sql, db = 'shop') {
  return execFileSync(`${PGBIN}/psql`, ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-h', '127.0.0.1', '-p', String(port),
    '-U', 'c360', '-d', db, '-c', sql], { encoding: 'utf8', timeout: 60_000 }).trim();
}

// runs a script through psql in the background (every statement its own transaction)
function psqlAsync(script) {
  const p = spawn(`${PGBIN}/psql`, ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-h', '127.0.0.1', '-p', String(port), '-U', 'c360', '-d', 'shop'],
    { stdio: ['pipe', 'ignore', 'pipe'] });
  let err = '';
  p.stderr.on('data', (d) => { err += d; });
  p.stdin.end(script);
  return new Promise((resolve, reject) => p.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`psql: ${err}`)))));
}

function stopPg() {
  if (pgStarted) pgCtl('-m', 'immediate', 'stop');
  pgStarted = false;
}
process.on('exit', stopPg);

before(async () => {
  if (skip) return;
  dir = mkdtempSync(path.join(os.tmpdir(), 'c360-pg-'));
  if (pgu) chownSync(dir, pgu.uid, pgu.gid);
  port = await freePort();
  const [cmd, argv] = asPg('initdb', ['-D', path.join(dir, 'data'), '-A', 'trust', '-U', 'c360', '-E', 'UTF8', '--no-locale']);
  const init = spawnSync(cmd, argv, { encoding: 'utf8', timeout: 120_000 });
  assert.equal(init.status, 0, `initdb failed: ${init.stderr}${init.stdout}`);
  const opts = [`-c wal_level=logical -c max_replication_slots=10 -c max_wal_senders=10 -c listen_addresses=127.0.0.1`,
    `-p ${port} -k ${dir} -c fsync=off -c synchronous_commit=off -c wal_sender_timeout=30s`].join(' ');
  const st = pgCtl('-w', '-t', '60', '-l', path.join(dir, 'server.log'), '-o', opts, 'start');
  assert.equal(st.status, 0, `pg_ctl start failed: ${st.stderr}${st.stdout}`);
  pgStarted = true;
  psql('CREATE DATABASE shop', 'postgres');
  psql(`CREATE TABLE customers (id bigint PRIMARY KEY, email text, name text, plan text);
        CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint NOT NULL, total numeric(10,2), status text, line_items jsonb);
        CREATE TABLE audit_log (id serial PRIMARY KEY, note text);
        CREATE PUBLICATION c360 FOR TABLE customers, orders, audit_log;`);
}, { timeout: 180_000 });

after(() => {
  stopPg();
  if (dir && !process.env.C360_E2E_KEEP) rmSync(dir, { recursive: true, force: true });
});

const conninfo = () => `host=127.0.0.1 port=${port} user=c360 dbname=shop`;

async function slotReady(slot) {
  await eventually(() => {
    assert.equal(psql(`SELECT active FROM pg_replication_slots WHERE slot_name = '${slot}'`), 't', `slot ${slot} active`);
  }, { timeoutMs: 30_000, intervalMs: 100 });
}

function metric(text, name) {
  const m = text.match(new RegExp(`^${name} (\\d+)$`, 'm'));
  return m ? Number(m[1]) : NaN;
}

const items = (...ps) => JSON.stringify(ps.map(([id, price, qty]) => ({ product_id: `${id}-${tag}`, price, quantity: qty })));

test('customers and orders tables stream into profiles; kill -9 while rows change loses nothing', { skip, timeout: 240_000 }, async (t) => {
  const A = 1, B = 2, C = 3, D = 4;
  const email = (n) => `cust${n}-${tag}@example.com`;
  const srv = await startServer({ args: ['--postgres', conninfo(), '--postgres-slot', `c360_a_${tag}`.slice(0, 60),
    '--postgres-publication', 'c360'] });
  t.after(() => srv.cleanup());
  await slotReady(`c360_a_${tag}`.slice(0, 60));

  psql(`INSERT INTO customers VALUES (${A}, '${email(A)}', 'Ann', 'free'), (${B}, '${email(B)}', 'Bob', 'free');
        INSERT INTO audit_log (note) VALUES ('not a configured table');
        INSERT INTO orders VALUES (100, ${A}, 25.50, 'new', '${items(['milk', 10, 1], ['bread', 7.75, 2])}');`);
  await eventually(async () => {
    const p = await getProfile(srv, 'email', email(A));
    assert.equal(p.traits.name, 'Ann');
    assert.equal(p.traits.plan, 'free');
    assert.equal(p.features.order_count.value, 1);
    assert.equal(p.features.lifetime_spend.value, 25.5);
    const byId = await getProfile(srv, 'user_id', String(A));
    assert.equal(byId.id, p.id, 'user id and email resolve to the same customer');
  }, { timeoutMs: 30_000, intervalMs: 200 });

  // upsert: one trait changes, the others stay; an order row that changes still counts once
  psql(`UPDATE customers SET plan = 'gold' WHERE id = ${A};
        UPDATE orders SET status = 'shipped' WHERE id = 100;
        INSERT INTO customers VALUES (${C}, '${email(C)}', 'Cy', 'free');`);
  await eventually(async () => (await getProfile(srv, 'user_id', String(C))), { timeoutMs: 30_000, intervalMs: 200 });
  let p = await getProfile(srv, 'user_id', String(A));
  assert.equal(p.traits.plan, 'gold');
  assert.equal(p.traits.name, 'Ann');
  assert.equal(p.features.order_count.value, 1, 'an updated order row counts once');
  assert.equal(p.features.lifetime_spend.value, 25.5);

  // a delete (REPLICA IDENTITY DEFAULT: only the key is sent) clears what the row contributed
  psql(`DELETE FROM customers WHERE id = ${B}`);
  await eventually(async () => {
    const b = await getProfile(srv, 'user_id', String(B));
    assert.ok(b.traits.name == null && b.traits.plan == null, `traits of a deleted row: ${JSON.stringify(b.traits)}`);
  }, { timeoutMs: 30_000, intervalMs: 200 });
  assert.equal((await getProfile(srv, 'user_id', String(A))).traits.plan, 'gold', 'other customers untouched');

  // (psql -c runs its statements as one transaction: three so far)
  await eventually(async () => {
    const m = (await srv.get('/metrics')).text;
    const show = m.match(/^c360_postgres.*/gm)?.join('\n');
    assert.equal(metric(m, 'c360_postgres_changes_total'), 8, show);
    assert.equal(metric(m, 'c360_postgres_transactions_total'), 3, show);
    assert.equal(metric(m, 'c360_postgres_rejected_total'), 0, show);
    assert.ok(metric(m, 'c360_postgres_confirmed_lsn') > 0, show);
  }, { timeoutMs: 15_000, intervalMs: 100 });
  // the console's overview lists the source with its lag
  const pgRow = (await srv.get('/v1/overview')).json.sources.find((x) => x.source === 'postgres');
  assert.ok(pgRow, 'the overview lists the PostgreSQL source');
  assert.equal(pgRow.changes, 8);
  assert.equal(pgRow.transactions, 3);
  assert.ok(Number.isInteger(pgRow.lag_bytes) && pgRow.lag_bytes >= 0, JSON.stringify(pgRow));

  // kill -9 right after more changes, and change rows while c360 is down
  psql(`INSERT INTO orders VALUES (101, ${A}, 10.00, 'new', '${items(['jam', 10, 1])}')`);
  const res = await srv.kill9();
  assertNoSanitizerReport(res.stderr);
  psql(`UPDATE orders SET status = 'delivered' WHERE id = 100;
        UPDATE customers SET plan = 'platinum' WHERE id = ${A};
        INSERT INTO customers VALUES (${D}, '${email(D)}', 'Di', 'free');
        INSERT INTO orders VALUES (102, ${D}, 4.25, 'new', '${items(['milk', 4.25, 1])}');
        INSERT INTO orders VALUES (103, ${A}, 1.00, 'new', '[]');`);
  await srv.restart();
  await eventually(async () => {
    const a = await getProfile(srv, 'email', email(A));
    assert.equal(a.traits.plan, 'platinum');
    assert.equal(a.features.order_count.value, 3);
    assert.equal(a.features.lifetime_spend.value, 36.5);
    const d = await getProfile(srv, 'email', email(D));
    assert.equal(d.traits.name, 'Di');
    assert.equal(d.features.order_count.value, 1);
    assert.equal(d.features.lifetime_spend.value, 4.25);
  }, { timeoutMs: 60_000, intervalMs: 250 });

  // a clean stop confirms the applied position to the server
  const lsnBefore = psql('SELECT pg_current_wal_lsn()');
  psql(`UPDATE customers SET name = 'Cyril' WHERE id = ${C}`);
  await eventually(async () => assert.equal((await getProfile(srv, 'user_id', String(C))).traits.name, 'Cyril'),
    { timeoutMs: 30_000, intervalMs: 200 });
  assertCleanExit(await srv.stop());
  assert.equal(psql(`SELECT confirmed_flush_lsn > '${lsnBefore}'::pg_lsn FROM pg_replication_slots WHERE slot_name = '${`c360_a_${tag}`.slice(0, 60)}'`), 't',
    'the slot is confirmed past the last applied transaction');
});

test('kill -9 in the middle of streams, PostgreSQL restarts, dedup off: orders and spend exact', { skip, timeout: 400_000 }, async (t) => {
  const slot = `c360_b_${tag}`.slice(0, 60);
  const srv = await startServer({ args: ['--postgres', conninfo(), '--postgres-slot', slot, '--dedup-window', '0'] });
  t.after(() => srv.cleanup());
  await slotReady(slot);
  const USERS = 8, base = 5000;
  let next = 10_000;
  // one INSERT per transaction (psql autocommit), spread over USERS customers
  function script(n) {
    let s = '';
    for (let i = 0; i < n; i++, next++) s += `INSERT INTO orders VALUES (${next}, ${base + (next % USERS)}, ${((next % 17) + 0.25).toFixed(2)}, 'new', '[]');\n`;
    return s;
  }
  // the database is the truth: every customer's orders and spend must match it exactly
  const check = async () => {
    const rows = psql(`SELECT customer_id, count(*), (sum(total) * 100)::bigint FROM orders
                       WHERE customer_id >= ${base} AND customer_id < ${base + USERS} GROUP BY 1 ORDER BY 1`);
    const truth = rows.split('\n').map((l) => l.split('|').map(Number));
    assert.equal(truth.length, USERS);
    for (const [u, orders, cents] of truth) {
      const p = await getProfile(srv, 'user_id', String(u));
      assert.equal(p.features.order_count.value, orders, `orders of ${u}`);
      assert.equal(Math.round(p.features.lifetime_spend.value * 100), cents, `spend of ${u}`);
      assert.equal(p.counts.total, orders, `events of ${u}`);
    }
  };
  const applied = async () => metric((await srv.get('/metrics')).text, 'c360_postgres_transactions_total');
  const t0 = Date.now(), el = () => `${((Date.now() - t0) / 1000).toFixed(1)} s`;

  // kill -9 while c360 is part-way through a stream, more rows while it is down, restart
  for (let round = 0; round < 3; round++) {
    const at = await applied();
    const running = psqlAsync(script(400));
    await eventually(async () => assert.ok((await applied()) > at + 20 + round * 40, 'streaming'), { timeoutMs: 60_000, intervalMs: 10 });
    const res = await srv.kill9();
    assertNoSanitizerReport(res.stderr);
    await running;
    await psqlAsync(script(100));
    await srv.restart();
    await eventually(check, { timeoutMs: 120_000, intervalMs: 300 });
    const m = (await srv.get('/metrics')).text;
    t.diagnostic(`${el()} round ${round}: transactions since restart ${metric(m, 'c360_postgres_transactions_total')}, ` +
      `replayed and skipped ${metric(m, 'c360_postgres_skipped_total')}`);
  }

  // PostgreSQL goes away in the middle of a stream (fast shutdown ends the client too) and comes back
  const at = await applied();
  const running = psqlAsync(script(400)).catch(() => 'psql ended by the shutdown');
  await eventually(async () => assert.ok((await applied()) > at + 20, 'streaming'), { timeoutMs: 60_000, intervalMs: 10 });
  const rs = pgCtl('-w', '-t', '60', '-m', 'fast', '-l', path.join(dir, 'server.log'), 'restart');
  assert.equal(rs.status, 0, `pg_ctl restart failed: ${rs.stderr}${rs.stdout}`);
  t.diagnostic(`${el()} PostgreSQL restarted`);
  await running;
  await psqlAsync(script(100));
  await eventually(check, { timeoutMs: 120_000, intervalMs: 300 });
  assert.ok(metric((await srv.get('/metrics')).text, 'c360_postgres_reconnects_total') >= 1, 'c360 reconnected');
  t.diagnostic(`${el()} exact after the PostgreSQL restart`);
  assertCleanExit(await srv.stop(), 'stop after PostgreSQL came back');

  // and a clean stop and restart with more rows: still exact
  await psqlAsync(script(40));
  await srv.restart();
  await eventually(check, { timeoutMs: 60_000, intervalMs: 300 });
  assertCleanExit(await srv.stop());
});

test('postgres.cdc_delete erase: deleting a customers row erases the customer', { skip, timeout: 120_000 }, async (t) => {
  const slot = `c360_c_${tag}`.slice(0, 60);
  const srv = await startServer({ args: ['--postgres', conninfo(), '--postgres-slot', slot, '--postgres-cdc-delete', 'erase'] });
  t.after(() => srv.cleanup());
  await slotReady(slot);
  const email = `erase-${tag}@example.com`;
  psql(`INSERT INTO customers VALUES (900, '${email}', 'Eve', 'free');
        INSERT INTO orders VALUES (9000, 900, 12.00, 'new', '[]');`);
  await eventually(async () => assert.equal((await getProfile(srv, 'email', email)).features.order_count.value, 1),
    { timeoutMs: 30_000, intervalMs: 200 });
  psql('DELETE FROM customers WHERE id = 900');
  await eventually(async () => {
    assert.equal((await srv.get(`/v1/profiles/email:${encodeURIComponent(email)}`)).status, 404, 'erased by email');
    assert.equal((await srv.get('/v1/profiles/user_id:900')).status, 404, 'erased by user id');
  }, { timeoutMs: 30_000, intervalMs: 200 });
  assertCleanExit(await srv.stop());
});

test('initial snapshot: rows from before the slot, then the stream, with no gap and no overlap', { skip, timeout: 400_000 }, async (t) => {
  // own tables and publication, so the counts are this test's alone
  const C = `snap_customers_${tag}`.slice(0, 60), O = `snap_orders_${tag}`.slice(0, 60), pub = `c360snap_${tag}`.slice(0, 60);
  const CUST = 200, base = 70_000;
  psql(`CREATE TABLE ${C} (id bigint PRIMARY KEY, email text, name text);
        CREATE TABLE ${O} (id bigint PRIMARY KEY, customer_id bigint NOT NULL, total numeric(10,2), line_items jsonb);
        INSERT INTO ${C} SELECT ${base} + g, 'snap' || g || '-${tag}@example.com', 'name ' || g FROM generate_series(0, ${CUST - 1}) g;
        INSERT INTO ${O} SELECT g, ${base} + g % ${CUST}, (g % 13) + 0.5, '[]' FROM generate_series(1, 20000) g;
        CREATE PUBLICATION ${pub} FOR TABLE ${C}, ${O}, audit_log;`);
  let next = 20_001;
  const moreOrders = (n) => {   // one transaction each
    let s = '';
    for (let i = 0; i < n; i++, next++) s += `INSERT INTO ${O} VALUES (${next}, ${base + (next % CUST)}, ${(next % 7) + 0.25}, '[]');\n`;
    return s;
  };
  const check = async () => {
    const rows = psql(`SELECT customer_id, count(*), (sum(total) * 100)::bigint FROM ${O} GROUP BY 1 ORDER BY 1`);
    const truth = rows.split('\n').map((l) => l.split('|').map(Number));
    assert.equal(truth.length, CUST);
    for (const [u, orders, cents] of truth) {
      const p = await getProfile(srv, 'user_id', String(u));
      assert.equal(p.features.order_count.value, orders, `orders of ${u}`);
      assert.equal(Math.round(p.features.lifetime_spend.value * 100), cents, `spend of ${u}`);
      assert.equal(p.traits.name, `name ${u - base}`);
    }
  };
  const metrics = async () => (await srv.get('/metrics')).text;
  const slot = `c360_s_${tag}`.slice(0, 60);
  const args = ['--postgres', conninfo(), '--postgres-slot', slot, '--postgres-publication', pub,
    '--postgres-tables', `${C}=customers,${O}=orders`];
  const srv = await startServer({ args });
  t.after(() => srv.cleanup());

  // kill -9 in the middle of the snapshot: nothing of it is stored, so the restart drops the
  // slot and takes the snapshot again (orders count once by their messageId)
  await eventually(async () => assert.ok(metric(await metrics(), 'c360_postgres_snapshot_rows_total') > 500, 'snapshot under way'),
    { timeoutMs: 60_000, intervalMs: 10 });
  const killed = await srv.kill9();
  assertNoSanitizerReport(killed.stderr);
  const finished = /postgres snapshot finished/.test(killed.stderr);
  t.diagnostic(finished ? 'the snapshot had finished before the kill' : 'killed in the middle of the snapshot');
  await srv.restart();
  if (!finished) {
    await eventually(() => assert.match(srv.stderr, /snapshot starts over/), { timeoutMs: 30_000, intervalMs: 100 });
  }
  await slotReady(slot);
  await eventually(check, { timeoutMs: 180_000, intervalMs: 500 });
  assertCleanExit(await srv.stop());

  // a fresh data dir (no stored position), rows changing while the snapshot is taken, and
  // deduplication off: every row is read by the snapshot or streamed, exactly one of the two
  const fresh = await startServer({ args: [...args.map((a) => (a === slot ? `${slot}_2`.slice(0, 63) : a)), '--dedup-window', '0'] });
  t.after(() => fresh.cleanup());
  const writing = psqlAsync(moreOrders(300));
  await slotReady(`${slot}_2`.slice(0, 63));
  await writing;
  await eventually(async () => {
    const rows = Number(psql(`SELECT (SELECT count(*) FROM ${C}) + (SELECT count(*) FROM ${O})`));
    const m = (await fresh.get('/metrics')).text;
    const snap = metric(m, 'c360_postgres_snapshot_rows_total'), changes = metric(m, 'c360_postgres_changes_total');
    assert.equal(snap + changes, rows, `snapshot ${snap} + streamed ${changes} = rows ${rows}`);
  }, { timeoutMs: 120_000, intervalMs: 300 });
  for (const [u, orders, cents] of psql(`SELECT customer_id, count(*), (sum(total) * 100)::bigint FROM ${O} GROUP BY 1 ORDER BY 1`)
    .split('\n').map((l) => l.split('|').map(Number))) {
    const p = await getProfile(fresh, 'user_id', String(u));
    assert.equal(p.features.order_count.value, orders, `orders of ${u} (dedup off)`);
    assert.equal(Math.round(p.features.lifetime_spend.value * 100), cents, `spend of ${u} (dedup off)`);
  }
  // a restart keeps the stored position: no second snapshot
  assertCleanExit(await fresh.stop());
  await fresh.restart();
  psql(`INSERT INTO ${O} VALUES (${next++}, ${base}, 1.00, '[]')`);
  await eventually(async () => {
    const m = (await fresh.get('/metrics')).text;
    assert.equal(metric(m, 'c360_postgres_changes_total'), 1);
  }, { timeoutMs: 30_000, intervalMs: 200 });
  assert.equal(metric((await fresh.get('/metrics')).text, 'c360_postgres_snapshot_rows_total'), 0, 'no snapshot after a restart');
  assertCleanExit(await fresh.stop());

  // the stored position alone says the snapshot is complete: a snapshot followed by no change
  // at all, a clean stop and a restart take no second snapshot either
  const quiet = await startServer({ args: args.map((a) => (a === slot ? `${slot}_3`.slice(0, 63) : a)) });
  t.after(() => quiet.cleanup());
  await slotReady(`${slot}_3`.slice(0, 63));
  assert.equal(metric((await quiet.get('/metrics')).text, 'c360_postgres_snapshot_rows_total'), Number(
    psql(`SELECT (SELECT count(*) FROM ${C}) + (SELECT count(*) FROM ${O})`)));
  assertCleanExit(await quiet.stop());
  await quiet.restart();
  await slotReady(`${slot}_3`.slice(0, 63));
  assert.equal(metric((await quiet.get('/metrics')).text, 'c360_postgres_snapshot_rows_total'), 0, 'no snapshot after a restart');
  assert.doesNotMatch(quiet.stderr, /snapshot started/);
  assertCleanExit(await quiet.stop());
  for (const s of [slot, `${slot}_2`, `${slot}_3`]) psql(`SELECT pg_drop_replication_slot('${s.slice(0, 63)}')`);
});
