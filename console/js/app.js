// app.js -- the console's shell: sign-in with an API key, the header with the key's role,
// and a hash router (#/overview, #/search, #/profile/TYPE:VALUE). Each page module renders into
// <main> and returns a cleanup function (timers, live streams).

import { api, getKey, setKey, dropKey, getWho, setWho, setUnauthorizedHandler, ApiError } from './api.js';
import { h, clear, announce } from './dom.js';
import { renderSearch } from './search.js';
import { renderOverview } from './overview.js';
import { renderProfile } from './profile.js';

const main = () => document.getElementById('main');
let cleanup = null;

function showSignIn(message) {
  document.getElementById('top').hidden = true;
  if (cleanup) { cleanup(); cleanup = null; }
  const err = h('p', { class: 'error', id: 'signin-error', role: 'alert' }, message || '');
  const input = h('input', { id: 'key', name: 'key', type: 'password', autocomplete: 'off', required: true, 'aria-describedby': 'key-help signin-error', spellcheck: 'false' });
  const form = h('form', { class: 'signin card', id: 'signin', 'aria-labelledby': 'signin-title', onsubmit: async (ev) => {
    ev.preventDefault();
    const k = input.value.trim();
    if (!k) return;
    err.textContent = '';
    try {
      const who = await api('GET', '/v1/whoami', { key: k });
      setKey(k);
      setWho(who);
      input.value = '';
      start();
    } catch (e) {
      err.textContent = e instanceof ApiError && e.status === 401 ? 'That key is not valid (unknown or revoked).' : `Cannot sign in: ${e.message}`;
      input.focus();
    }
  } },
  h('h1', { id: 'signin-title' }, 'c360 console'),
  h('p', {}, 'The live 360° view of a customer. Sign in with your API key; what you see and can do follows its role.'),
  h('label', { for: 'key' }, 'API key'),
  input,
  h('p', { id: 'key-help', class: 'hint' }, 'Kept in this browser tab only (session storage), sent as an Authorization header.'),
  err,
  h('button', { type: 'submit', id: 'signin-submit' }, 'Sign in'));
  clear(main()).appendChild(form);
  input.focus();
}

function renderHeader(who) {
  const el = clear(document.getElementById('who'));
  el.appendChild(h('span', { class: `role role-${who.role}`, id: 'role', 'data-role': who.role }, who.role));
  el.appendChild(h('span', { class: 'keyname' }, who.name));
  document.getElementById('top').hidden = false;
}

function route() {
  const who = getWho();
  if (!getKey() || !who) return showSignIn();
  renderHeader(who);
  if (cleanup) { cleanup(); cleanup = null; }
  const hash = location.hash || '#/overview';
  const m = main();
  clear(m);
  for (const a of document.querySelectorAll('nav a')) a.removeAttribute('aria-current');
  let page;
  if (hash.startsWith('#/profile/')) {
    page = renderProfile(m, decodeURIComponent(hash.slice('#/profile/'.length)));
  } else if (hash.startsWith('#/search')) {
    document.getElementById('nav-search').setAttribute('aria-current', 'page');
    const q = new URLSearchParams(hash.split('?')[1] || '');
    page = renderSearch(m, { by: q.get('by') || 'name', q: q.get('q') || '' });
  } else {
    document.getElementById('nav-overview').setAttribute('aria-current', 'page');
    page = renderOverview(m);
  }
  cleanup = page && page.cleanup;
  // move focus to the page heading for keyboard and screen-reader users
  const h1 = m.querySelector('h1');
  if (h1) { h1.setAttribute('tabindex', '-1'); h1.focus({ preventScroll: true }); announce(h1.textContent); }
}

function start() {
  route();
}

setUnauthorizedHandler(() => { dropKey(); showSignIn('Your key is no longer accepted. Sign in again.'); });
window.addEventListener('hashchange', route);
window.addEventListener('DOMContentLoaded', () => {
  document.getElementById('signout').addEventListener('click', () => {
    dropKey();
    location.hash = '';
    showSignIn('Signed out.');
  });
  route();
});
