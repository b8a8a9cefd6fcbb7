// Kafka helpers for the e2e tests (tests/e2e/90-kafka-*.test.mjs): a librdkafka mock cluster
// (tests/kafka/mock_cluster.c, built on demand with tests/kafka/Makefile) and kcat as the
// independent producer and consumer.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const OUT = process.env.C360_KAFKA_HELPERS || path.join(os.tmpdir(), 'c360-kafka-helpers');
export const MOCK_BIN = path.join(OUT, 'mock_cluster');

export function haveKcat() {
  return spawnSync('kcat', ['-V'], { stdio: 'ignore' }).status === 0;
}

export function buildMock() {
  const r = spawnSync('make', ['-s', '-C', here, `OUT=${OUT}`], { encoding: 'utf8' });
  if (r.status !== 0 || !existsSync(MOCK_BIN)) throw new Error(`cannot build mock_cluster: ${r.stderr}${r.stdout}`);
}

// Starts a mock cluster with `brokers` brokers and the topics {name: partitions}.
export async function startCluster({ brokers = 3, topics = {} } = {}) {
  buildMock();
  const args = ['--brokers', String(brokers)];
  for (const [t, p] of Object.entries(topics)) args.push('--topic', `${t}:${p}`);
  const proc = spawn(MOCK_BIN, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let buf = '';
  const waiters = [];
  proc.stdout.on('data', (d) => {
    buf += d.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      const w = waiters.shift();
      if (w) w(line);
    }
  });
  const nextLine = () => new Promise((r) => waiters.push(r));
  const first = await nextLine();
  if (!first.startsWith('BOOTSTRAP ')) throw new Error(`mock_cluster: ${first}`);
  const cluster = {
    bootstrap: first.slice(10).trim(),
    async cmd(line) {
      const p = nextLine();
      proc.stdin.write(line + '\n');
      const r = await p;
      if (r !== 'ok') throw new Error(`mock_cluster ${line}: ${r}`);
    },
    down(id) { return this.cmd(`down ${id}`); },
    up(id) { return this.cmd(`up ${id}`); },
    async stop() {
      if (proc.exitCode !== null) return;
      const closed = new Promise((r) => proc.on('close', r));
      proc.stdin.end('quit\n');
      const t = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      await closed;
      clearTimeout(t);
    },
  };
  return cluster;
}

function run(args, input) {
  return new Promise((resolve, reject) => {
    const p = spawn('kcat', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '', err = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { err += d; });
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`kcat ${args.join(' ')} exited ${code}: ${err}`))));
    p.stdin.end(input ?? '');
  });
}

// Produces messages [{key, value}] (value a string or an object) to a topic with kcat.
export async function produce(bootstrap, topic, messages) {
  const lines = messages.map((m) => {
    const v = typeof m.value === 'string' ? m.value : JSON.stringify(m.value);
    if (v.includes('\n') || (m.key ?? '').includes('\u0001')) throw new Error('message contains a delimiter');
    return `${m.key ?? ''}\u0001${v}`;
  });
  await run(['-P', '-b', bootstrap, '-t', topic, '-K', '\\x01', '-X', 'enable.idempotence=true'], lines.join('\n') + '\n');
}

// Reads a whole topic with kcat: [{key, value (string or null), headers: {...}, partition, offset}].
export async function consumeAll(bootstrap, topic) {
  const out = await run(['-C', '-b', bootstrap, '-t', topic, '-o', 'beginning', '-e', '-J', '-q']);
  return out.split('\n').filter(Boolean).map((l) => {
    const j = JSON.parse(l);
    // kcat -J writes headers as a flat array [name, value, name, value, ...]
    let headers = j.headers || {};
    if (Array.isArray(headers)) {
      const h = {};
      for (let i = 0; i + 1 < headers.length; i += 2) h[headers[i]] = headers[i + 1];
      headers = h;
    }
    return { key: j.key, value: j.payload, headers, partition: j.partition, offset: j.offset };
  });
}

// Value of a Prometheus series in /metrics text (sum of every line that matches the prefix).
export function metric(text, prefix) {
  let sum = 0, seen = false;
  for (const l of text.split('\n')) {
    if (l.startsWith(prefix + ' ') || l.startsWith(prefix + '{')) {
      if (!l.startsWith(prefix + '{') && !l.startsWith(prefix + ' ')) continue;
      sum += Number(l.slice(l.lastIndexOf(' ') + 1));
      seen = true;
    }
  }
  return seen ? sum : undefined;
}
