// stream.js -- live updates of one profile: GET .../stream (Server-Sent Events), read with
// fetch() so that the key travels in the Authorization header (EventSource cannot set headers,
// and a key in the URL would end up in logs and history). Reconnects after the server's
// `retry:` delay (backoff up to 30 s) and sends Last-Event-ID; the server starts a resumed
// stream with the current profile, which is all a view needs. An `erased` event ends it.

import { getKey } from './api.js';

export function openStream(path, { onProfile, onErased, onState }) {
  let stopped = false;
  let ctrl = null;
  let lastId = null;
  let retry = 2000;
  let failures = 0;
  let timer = null;

  async function connect() {
    if (stopped) return;
    ctrl = new AbortController();
    onState && onState('connecting');
    try {
      const headers = { authorization: `Bearer ${getKey()}`, accept: 'text/event-stream' };
      if (lastId) headers['last-event-id'] = lastId;
      const r = await fetch(path, { headers, signal: ctrl.signal, cache: 'no-store' });
      if (r.status === 404) { onState && onState('gone'); onErased && onErased(); return; }
      if (!r.ok || !r.body) throw new Error(`HTTP ${r.status}`);
      onState && onState('live');
      failures = 0;
      const reader = r.body.getReader();
      const dec = new TextDecoder();
      let buf = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += dec.decode(value, { stream: true });
        let i;
        while ((i = buf.search(/\r?\n\r?\n/)) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i).replace(/^\r?\n\r?\n/, '');
          const ev = { event: 'message', data: [] };
          for (const line of block.split(/\r?\n/)) {
            if (line.startsWith(':')) continue;
            const c = line.indexOf(':');
            const f = c < 0 ? line : line.slice(0, c);
            const v = c < 0 ? '' : line.slice(c + 1).replace(/^ /, '');
            if (f === 'event') ev.event = v;
            else if (f === 'data') ev.data.push(v);
            else if (f === 'id') lastId = v;
            else if (f === 'retry' && /^\d+$/.test(v)) retry = Number(v);
          }
          if (ev.event === 'erased') {
            stopped = true;
            onState && onState('ended');
            onErased && onErased();
            return;
          }
          if (ev.event === 'profile' && ev.data.length) {
            try { onProfile(JSON.parse(ev.data.join('\n'))); } catch { /* a bad frame: wait for the next */ }
          }
        }
      }
    } catch (e) {
      if (stopped || (e && e.name === 'AbortError')) return;
    }
    if (stopped) return;
    failures++;
    onState && onState('reconnecting');
    timer = setTimeout(connect, Math.min(30000, retry * Math.max(1, failures)));
  }

  connect();
  return {
    close() {
      stopped = true;
      clearTimeout(timer);
      if (ctrl) ctrl.abort();
    },
  };
}
