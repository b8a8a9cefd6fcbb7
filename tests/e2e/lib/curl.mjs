// Runs the real curl binary against the server.
import { spawn } from 'node:child_process';

const MARK = '\n__C360_HTTP_CODE__:';

// curl(srv, 'POST', '/v1/track', {body, user: 'wk_test:', headers: [...]}) -> {status, text, json, stderr}
// `body` (object or string) is sent via stdin with --data-binary @-.
export function curl(srv, method, path, { body, user, headers = [] } = {}) {
  const args = ['-sS', '--max-time', '30', '-X', method, '-w', `${MARK}%{http_code}`];
  if (user !== undefined) args.push('-u', user);
  for (const h of headers) args.push('-H', h);
  if (body !== undefined) args.push('-H', 'Content-Type: application/json', '--data-binary', '@-');
  args.push(srv.url + path);
  return new Promise((resolve, reject) => {
    const p = spawn('curl', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out = [], err = [];
    p.stdout.on('data', (b) => out.push(b));
    p.stderr.on('data', (b) => err.push(b));
    p.on('error', (e) => reject(new Error(`cannot run curl: ${e.message}`)));
    p.on('close', (code) => {
      const s = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      const i = s.lastIndexOf(MARK);
      if (code !== 0 || i < 0) {
        reject(new Error(`curl ${args.join(' ')} exited ${code}: ${stderr}\n${s}`));
        return;
      }
      const text = s.slice(0, i);
      let json;
      try { json = JSON.parse(text); } catch { json = undefined; }
      resolve({ status: Number(s.slice(i + MARK.length)), text, json, stderr, headers: null });
    });
    if (body !== undefined) p.stdin.end(typeof body === 'string' ? body : JSON.stringify(body));
    else p.stdin.end();
  });
}
