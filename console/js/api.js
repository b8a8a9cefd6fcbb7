// api.js -- calls to the c360 API with the signed-in key (Authorization: Bearer). The key lives
// in sessionStorage: it is gone when the tab closes and is never put in a URL.

const KEY = 'c360.key';

export function getKey() { return sessionStorage.getItem(KEY); }
export function setKey(k) { sessionStorage.setItem(KEY, k); }
export function dropKey() { sessionStorage.removeItem(KEY); sessionStorage.removeItem('c360.who'); }

export function getWho() {
  try { return JSON.parse(sessionStorage.getItem('c360.who') || 'null'); } catch { return null; }
}
export function setWho(w) { sessionStorage.setItem('c360.who', JSON.stringify(w)); }

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || `HTTP ${status}`);
    this.status = status;
    this.code = body && body.error;
  }
}

let onUnauthorized = () => {};
export function setUnauthorizedHandler(fn) { onUnauthorized = fn; }

export async function api(method, path, { body, key, signal, raw } = {}) {
  const k = key || getKey();
  const headers = { authorization: `Bearer ${k}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal, cache: 'no-store' });
  if (raw && r.ok) return r;
  const text = await r.text();
  let json;
  try { json = text ? JSON.parse(text) : undefined; } catch { json = undefined; }
  if (!r.ok) {
    if (r.status === 401 && !key) onUnauthorized();
    throw new ApiError(r.status, json);
  }
  return json;
}

// "email:ann@example.com" -> path segment
export function identPath(ident) {
  const i = ident.indexOf(':');
  return `${encodeURIComponent(ident.slice(0, i))}:${encodeURIComponent(ident.slice(i + 1))}`;
}

export function can(cap) {
  const w = getWho();
  return !!(w && w.can && w.can.includes(cap));
}
