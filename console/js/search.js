// search.js -- find a customer: by name prefix (GET /v1/search) or by an exact identifier
// (GET /v1/profiles/TYPE:VALUE, which opens the profile at once).

import { api, identPath, ApiError } from './api.js';
import { h, clear, fmtTime, announce } from './dom.js';

const KINDS = [
  ['name', 'Name (prefix)'],
  ['email', 'Email'],
  ['phone', 'Phone'],
  ['user_id', 'User id'],
  ['anonymous_id', 'Anonymous id'],
  ['id', 'Customer id (c-…)'],
];

export function renderSearch(root, { by, q }) {
  const results = h('div', { id: 'results', 'aria-live': 'polite' });
  const select = h('select', { id: 'search-by', name: 'by' }, KINDS.map(([v, l]) => h('option', { value: v, selected: v === by }, l)));
  const input = h('input', { id: 'search-q', name: 'q', type: 'search', value: q, required: true, autocomplete: 'off', spellcheck: 'false' });
  const form = h('form', { class: 'search card', role: 'search', 'aria-label': 'Find a customer', onsubmit: (ev) => {
    ev.preventDefault();
    const v = input.value.trim();
    if (!v) return;
    const next = `#/search?by=${encodeURIComponent(select.value)}&q=${encodeURIComponent(v)}`;
    if (location.hash === next) run(select.value, v); else location.hash = next;
  } },
  h('div', { class: 'field' }, h('label', { for: 'search-by' }, 'Find by'), select),
  h('div', { class: 'field grow' }, h('label', { for: 'search-q' }, 'Value'), input),
  h('button', { type: 'submit', id: 'search-go' }, 'Search'));
  root.append(h('h1', {}, 'Find a customer'), form, results);

  let ctrl = null;
  async function run(kind, value) {
    if (ctrl) ctrl.abort();
    ctrl = new AbortController();
    clear(results).appendChild(h('p', { class: 'muted' }, 'Searching…'));
    const t0 = performance.now();
    try {
      if (kind !== 'name') {
        const p = await api('GET', `/v1/profiles/${identPath(`${kind}:${value}`)}`, { signal: ctrl.signal });
        location.hash = `#/profile/${encodeURIComponent(`id:${p.id}`)}`;
        return;
      }
      const r = await api('GET', `/v1/search?q=${encodeURIComponent(value)}&limit=25`, { signal: ctrl.signal });
      const ms = Math.round(performance.now() - t0);
      clear(results);
      if (!r.results.length) {
        results.appendChild(h('p', { class: 'empty' }, `No customer's name starts with “${value}”.`));
        announce('No results');
        return;
      }
      results.appendChild(h('p', { class: 'muted', id: 'results-count' }, `${r.total} found${r.total > r.results.length ? `, first ${r.results.length} shown` : ''} (${ms} ms)`));
      const rows = r.results.map((c) => h('tr', {},
        h('td', {}, h('a', { href: `#/profile/${encodeURIComponent(`id:${c.id}`)}`, class: 'result-link' }, (c.traits && c.traits.name) || c.id)),
        h('td', {}, (c.traits && c.traits.email) || '—'),
        h('td', {}, (c.traits && c.traits.phone) || '—'),
        h('td', {}, c.user_id || '—'),
        h('td', {}, fmtTime(c.last_seen))));
      results.appendChild(h('table', { class: 'list', id: 'results-table' },
        h('caption', { class: 'visually-hidden' }, 'Customers found'),
        h('thead', {}, h('tr', {}, ['Name', 'Email', 'Phone', 'User id', 'Last seen'].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, rows)));
      announce(`${r.total} customers found`);
    } catch (e) {
      if (e.name === 'AbortError') return;
      clear(results).appendChild(h('p', { class: 'empty', role: 'alert' },
        e instanceof ApiError && e.status === 404 ? 'No customer has that identifier.' : `Search failed: ${e.message}`));
    }
  }
  if (q) run(by, q);
  else input.focus();
  return { cleanup() { if (ctrl) ctrl.abort(); } };
}
