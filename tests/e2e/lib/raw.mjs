// Raw TCP exchanges for malformed-HTTP tests.
import net from 'node:net';

// Connects, writes each chunk of `parts` (Buffer|string), optionally half-closes or
// destroys, and collects whatever comes back until the peer closes or `waitMs` passes.
// Returns {data: Buffer, closedByPeer: boolean, error: string|null}.
// `until(data)` may end the exchange early once enough has arrived.
export function rawExchange(port, parts, { waitMs = 2000, end = false, destroyAfterWrite = false, until } = {}) {
  return new Promise((resolve) => {
    const chunks = [];
    let error = null;
    let closedByPeer = false;
    let done = false;
    const sock = net.connect({ host: '127.0.0.1', port });
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve({ data: Buffer.concat(chunks), closedByPeer, error });
    };
    const timer = setTimeout(finish, waitMs);
    sock.on('data', (b) => { chunks.push(b); if (until && until(Buffer.concat(chunks))) finish(); });
    sock.on('error', (e) => { error = e.code || e.message; });
    sock.on('end', () => { closedByPeer = true; });
    sock.on('close', () => { closedByPeer = closedByPeer || !done; finish(); });
    sock.on('connect', async () => {
      for (const p of parts) {
        if (sock.destroyed) break;
        const ok = sock.write(p);
        if (!ok) await new Promise((r) => { sock.once('drain', r); sock.once('close', r); });
      }
      if (destroyAfterWrite) { finish(); return; }
      if (end && !sock.destroyed) sock.end();
    });
  });
}

// Status codes of every HTTP/1.x response head found in `data`.
export function statusCodes(data) {
  const s = data.toString('latin1');
  return [...s.matchAll(/HTTP\/1\.[01] (\d{3})/g)].map((m) => Number(m[1]));
}
