// profile.js -- the 360° view of one customer on one screen: identities and merges, traits
// (masked by the server per role; agents may reveal, which the server audits), real-time and
// historical features, recommendations with the products behind them, fraud risk, segments,
// consents, charts and the timeline. It stays live: the profile stream (stream.js) pushes every
// committed change; each push re-renders the profile parts and re-reads the newest events and the
// recommendations. Actions are offered only to roles that may do them (whoami's "can").

import { api, identPath, can, ApiError } from './api.js';
import { h, clear, fmtTime, fmtAgo, fmtMoney, fmtNum, fmtValue, announce, notAvailable } from './dom.js';
import { barChart, byDay } from './charts.js';
import { openStream } from './stream.js';

const TIMELINE_PAGE = 50;

export function renderProfile(root, ident) {
  const st = {
    ident, profile: null, revealed: null, events: [], next: null, shown: TIMELINE_PAGE, filter: 'all',
    recs: null, merges: null, erased: false, stream: null, newIds: new Set(), refreshTimer: null, stopped: false,
  };
  const base = () => `/v1/profiles/${identPath(st.ident)}`;

  const title = h('h1', { id: 'p-title' }, 'Customer');
  const meta = h('p', { class: 'meta', id: 'p-meta' });
  const live = h('span', { class: 'live', id: 'live', role: 'status', 'aria-live': 'polite' }, 'connecting…');
  const actions = h('div', { class: 'actions', id: 'actions', role: 'toolbar', 'aria-label': 'Actions on this customer' });
  const sec = {};
  const section = (id, label) => (sec[id] = h('section', { class: 'card', id: `sec-${id}`, 'aria-labelledby': `h-${id}` }, h('h2', { id: `h-${id}` }, label)));
  const body = h('div', { class: 'grid', id: 'profile' },
    section('identities', 'Identities'), section('traits', 'Traits'),
    section('realtime', 'Right now'), section('history', 'History'),
    section('recs', 'Recommendations'), section('fraud', 'Fraud risk'),
    section('segments', 'Segments and consents'), section('charts', 'Activity'),
    section('timeline', 'Timeline'));
  sec.timeline.classList.add('wide');
  sec.charts.classList.add('wide');
  root.append(h('div', { class: 'phead' }, h('div', {}, title, meta), live), actions, body);

  // ---- loading ----

  async function loadAll() {
    try {
      const p = await api('GET', base());
      st.ident = `id:${p.id}`;   // stable across merges and whatever identifier found it
      history.replaceState(null, '', `#/profile/${encodeURIComponent(st.ident)}`);
      st.profile = p;
    } catch (e) {
      renderMissing(e);
      return;
    }
    renderAll();
    st.stream = openStream(`${base()}/stream`, {
      onProfile: (p) => { if (!st.stopped) { st.profile = p; renderProfileParts(); scheduleRefresh(); } },
      onErased: () => { if (!st.stopped) showErased(); },
      onState: (s) => { live.textContent = { live: '● live', connecting: 'connecting…', reconnecting: 'reconnecting…', ended: 'ended', gone: 'gone' }[s] || s; live.dataset.state = s; },
    });
    await Promise.all([loadEvents(), loadRecs(), loadMerges()]);
  }

  async function loadEvents() {
    try {
      const r = await api('GET', `${base()}/events?limit=1000`);
      st.events = r.events;
      st.next = r.next;
    } catch (e) {
      st.events = [];
      st.eventsError = e.message;
    }
    renderTimeline();
    renderCharts();
    renderFraud();
  }

  async function loadOlder() {
    if (!st.next) return;
    const r = await api('GET', `${base()}/events?limit=200&before=${encodeURIComponent(st.next)}`);
    st.events = st.events.concat(r.events);
    st.next = r.next;
    st.shown += TIMELINE_PAGE;
    renderTimeline();
  }

  async function loadRecs() {
    try { st.recs = await api('GET', `${base()}/recommendations?limit=6`); } catch (e) { st.recs = { error: e }; }
    renderRecs();
  }

  async function loadMerges() {
    try { st.merges = await api('GET', `${base()}/merges`); } catch (e) { st.merges = { error: e }; }
    renderIdentities();
  }

  // a push arrived: newest events and recommendations (coalesced)
  function scheduleRefresh() {
    if (st.refreshTimer) return;
    st.refreshTimer = setTimeout(async () => {
      st.refreshTimer = null;
      if (st.stopped || st.erased) return;
      try {
        const r = await api('GET', `${base()}/events?limit=${TIMELINE_PAGE}`);
        const known = new Set(st.events.map((e) => e.messageId));
        const fresh = r.events.filter((e) => !known.has(e.messageId));
        if (fresh.length) {
          fresh.forEach((e) => st.newIds.add(e.messageId));
          st.events = fresh.concat(st.events);
          st.events.sort((a, b) => (a.timestamp < b.timestamp ? 1 : a.timestamp > b.timestamp ? -1 : 0));
          renderTimeline();
          renderCharts();
          renderFraud();
          announce(fresh.length === 1 ? `New event: ${eventTitle(fresh[0])}` : `${fresh.length} new events`);
        }
      } catch { /* the next push retries */ }
      loadRecs();
      loadMerges();
    }, 100);
  }

  // ---- rendering ----

  function fv(name) {
    const f = st.profile && st.profile.features;
    return f && f[name] ? f[name].value : undefined;
  }

  function trait(p, k) {
    const v = p && p.traits ? p.traits[k] : undefined;
    return typeof v === 'string' ? v : undefined;
  }

  function renderAll() {
    renderActions();
    renderProfileParts();
  }

  function renderProfileParts() {
    const p = st.profile;
    const shown = st.revealed || p;
    const name = trait(shown, 'name') || [trait(shown, 'first_name'), trait(shown, 'last_name')].filter(Boolean).join(' ');
    title.textContent = name || p.id;
    clear(meta).append(`Customer ${p.id} · first seen ${fmtTime(p.first_seen)} · last seen ${fmtTime(p.last_seen)} · ${fmtNum(p.counts && p.counts.total)} events`);
    renderIdentities();
    renderTraits();
    renderFeatures();
    renderFraud();
    renderSegments();
  }

  function renderIdentities() {
    const el = clearSection('identities');
    const ids = ((st.revealed || st.profile) || {}).identities || [];
    if (!ids.length) el.appendChild(h('p', { class: 'muted' }, 'No identifiers visible to this role.'));
    else el.appendChild(h('table', { class: 'list', id: 'identities' },
      h('thead', {}, h('tr', {}, ['Type', 'Value', 'Linked', 'By event'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, ids.map((i) => h('tr', {}, h('td', {}, i.type), h('td', { class: 'val' }, i.value), h('td', {}, fmtTime(i.first_seen)), h('td', { class: 'mono' }, i.event || '—'))))));
    const m = st.merges;
    if (m && !m.error) {
      const items = (m.merges || []).map((x) => h('li', {}, `${fmtTime(x.at)}: merged ${x.merged_profile} through ${(x.identifiers || []).map((i) => `${i.type}:${i.value}`).join(', ')} (event ${x.event})`))
        .concat((m.dropped || []).map((x) => h('li', {}, `${fmtTime(x.at)}: not linked (${x.reason}): ${(x.identifiers || []).map((i) => `${i.type}:${i.value}`).join(', ')}`)));
      el.appendChild(h('h3', {}, 'Merges'));
      el.appendChild(items.length ? h('ul', { id: 'merges' }, items) : h('p', { class: 'muted' }, 'No merges: every identifier arrived on this profile.'));
    }
  }

  function renderTraits() {
    const el = clearSection('traits');
    const t = ((st.revealed || st.profile) || {}).traits || {};
    const keys = Object.keys(t);
    if (st.revealed) el.appendChild(h('p', { class: 'notice', id: 'revealed-note' }, 'Revealed: this reveal was recorded in the audit log.'));
    if (!keys.length) { el.appendChild(h('p', { class: 'muted' }, 'No traits visible to this role.')); return; }
    el.appendChild(h('dl', { class: 'kv', id: 'traits' }, keys.map((k) => [h('dt', {}, k), h('dd', { 'data-trait': k }, fmtValue(t[k]))])));
  }

  function renderFeatures() {
    const rt = clearSection('realtime'), hi = clearSection('history');
    if (!st.profile.features) {
      rt.appendChild(notAvailable('Computed features'));
      hi.appendChild(notAvailable('Computed features'));
      return;
    }
    const cart = fv('cart') || [];
    const lastSeen = new Date(st.profile.last_seen).getTime();
    const since = isNaN(lastSeen) ? fv('time_since_last_event_s') : (Date.now() - lastSeen) / 1000;
    const tickets = fv('has_open_ticket');
    rt.appendChild(h('dl', { class: 'kv', id: 'realtime' },
      h('dt', {}, 'Pages this session'), h('dd', { id: 'f-session' }, fmtNum(fv('session_page_views'))),
      h('dt', {}, 'Cart'), h('dd', { id: 'f-cart' }, cart.length ? `${cart.length} item${cart.length > 1 ? 's' : ''}` : 'empty'),
      h('dt', {}, 'Open support ticket'), h('dd', { id: 'f-ticket' }, tickets === undefined ? 'not available' : tickets ? 'yes' : 'no'),
      h('dt', {}, 'Last activity'), h('dd', { id: 'f-last' }, fmtAgo(since))));
    if (cart.length) rt.appendChild(h('ul', { class: 'cart' }, cart.map((c) => h('li', {}, typeof c === 'string' ? c : `${c.name || c.product_id || ''}${c.quantity ? ` × ${c.quantity}` : ''}`))));
    const rfm = fv('rfm');
    hi.appendChild(h('dl', { class: 'kv', id: 'history' },
      h('dt', {}, 'Lifetime spend'), h('dd', { id: 'f-spend' }, fmtMoney(fv('lifetime_spend'))),
      h('dt', {}, 'Orders'), h('dd', { id: 'f-orders' }, fmtNum(fv('order_count'))),
      h('dt', {}, 'Last purchase'), h('dd', { id: 'f-lastbuy' }, fmtTime(fv('last_purchase_at'))),
      h('dt', {}, 'Average order value'), h('dd', { id: 'f-aov' }, fmtMoney(fv('average_order_value'))),
      rfm ? [h('dt', {}, 'RFM score'), h('dd', {}, `${rfm.score} (recency ${rfm.r}, frequency ${rfm.f}, monetary ${rfm.m})`)] : null));
    const shown = new Set(['cart', 'session_page_views', 'has_open_ticket', 'time_since_last_event_s', 'lifetime_spend', 'order_count', 'last_purchase_at', 'average_order_value', 'rfm']);
    const rest = Object.entries(st.profile.features).filter(([k]) => !shown.has(k));
    if (rest.length) hi.appendChild(h('details', {}, h('summary', {}, `All features (${rest.length} more)`),
      h('dl', { class: 'kv' }, rest.map(([k, v]) => [h('dt', {}, k), h('dd', {}, fmtValue(v && typeof v === 'object' && 'value' in v ? v.value : v))]))));
  }

  function renderRecs() {
    const el = clearSection('recs');
    const r = st.recs;
    if (!r) return;
    if (r.error) { el.appendChild(r.error.status === 404 ? notAvailable('Recommendations') : h('p', { class: 'error' }, r.error.message)); return; }
    if (r.products_of_interest && r.products_of_interest.length) el.appendChild(h('p', { class: 'muted' }, `Interested in: ${r.products_of_interest.join(', ')}`));
    if (!r.recommendations.length) { el.appendChild(h('p', { class: 'muted' }, 'Nothing to recommend yet.')); return; }
    el.appendChild(h('ol', { class: 'recs', id: 'recs' }, r.recommendations.map((x) => h('li', {},
      h('span', { class: 'rec-name' }, x.name || x.product_id), x.price !== undefined ? h('span', { class: 'muted' }, ` ${fmtMoney(x.price)}`) : null,
      h('div', { class: 'hint' }, x.source === 'co_purchase' && x.because && x.because.length
        ? `bought together with ${x.because.join(', ')}` : x.source === 'popular' ? 'popular in the shop' : x.source)))));
  }

  function orders() {
    const reviewed = new Map();
    for (const e of st.events) if (e.event === 'Order Reviewed' && e.properties) reviewed.set(e.properties.order_id, e);
    return st.events.filter((e) => e.event === 'Order Completed' && e.properties && e.properties.order_id)
      .map((e) => ({ id: e.properties.order_id, total: e.properties.total ?? e.properties.revenue, at: e.timestamp, reviewed: reviewed.get(e.properties.order_id) }));
  }

  function renderFraud() {
    const el = clearSection('fraud');
    const f = st.profile && st.profile.fraud;
    if (!f) el.appendChild(notAvailable('Fraud scoring'));
    else {
      const lo = f.last_order;
      el.appendChild(h('dl', { class: 'kv', id: 'fraud' },
        h('dt', {}, 'Last order risk'), h('dd', { id: 'risk-score', class: lo && lo.score >= f.threshold ? 'risk-high' : '' }, lo ? `${fmtNum(lo.score)} of 100 (alert at ${fmtNum(f.threshold)})` : 'no orders scored'),
        lo ? [h('dt', {}, 'Reasons'), h('dd', { id: 'risk-reasons' }, lo.reasons && lo.reasons.length ? lo.reasons.map((r) => r.replace(/_/g, ' ')).join(', ') : 'none')] : null,
        lo ? [h('dt', {}, 'Order'), h('dd', {}, `${lo.order_id || '—'} at ${fmtTime(lo.at)}`)] : null));
      if (f.alerts && f.alerts.length) el.appendChild(h('div', { class: 'alerts', role: 'group', 'aria-label': 'Fraud alerts' }, h('h3', {}, 'Alerts'),
        h('ul', {}, f.alerts.map((a) => h('li', { class: 'risk-high' }, `${a.order_id || 'order'}: score ${fmtNum(a.score)} (${(a.reasons || []).join(', ')}) at ${fmtTime(a.at)}`)))));
    }
    const os = orders().slice(0, 8);
    if (os.length) {
      el.appendChild(h('h3', {}, 'Recent orders'));
      el.appendChild(h('table', { class: 'list', id: 'orders' },
        h('thead', {}, h('tr', {}, ['Order', 'Total', 'When', 'Review'].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, os.map((o) => h('tr', { 'data-order': o.id }, h('td', { class: 'mono' }, o.id), h('td', {}, fmtMoney(o.total)), h('td', {}, fmtTime(o.at)),
          h('td', {}, o.reviewed ? h('span', { class: 'ok' }, `reviewed by ${(o.reviewed.properties && o.reviewed.properties.by) || '—'}`)
            : can('review_order') ? h('button', { type: 'button', class: 'small review', 'aria-label': `Mark order ${o.id} reviewed`, onclick: (ev) => review(o.id, ev.currentTarget) }, 'Mark reviewed')
              : h('span', { class: 'muted' }, 'not reviewed')))))));
    }
  }

  function renderSegments() {
    const el = clearSection('segments');
    const segs = st.profile.segments;
    el.appendChild(h('h3', {}, 'Segments'));
    if (!segs) el.appendChild(notAvailable('Segments'));
    else if (!segs.length) el.appendChild(h('p', { class: 'muted', id: 'segments' }, 'In no segment.'));
    else el.appendChild(h('ul', { class: 'tags', id: 'segments' }, segs.map((x) => h('li', {}, typeof x === 'string' ? x : `${x.name}${x.since ? ` (since ${fmtTime(x.since)})` : ''}`))));
    el.appendChild(h('h3', {}, 'Consents'));
    const c = st.profile.consents;
    const keys = c ? Object.keys(c) : [];
    if (!c) el.appendChild(notAvailable('Consents'));
    else if (!keys.length) el.appendChild(h('p', { class: 'muted', id: 'consents' }, 'No consent recorded.'));
    else el.appendChild(h('dl', { class: 'kv', id: 'consents' }, keys.map((k) => {
      const v = c[k];
      const granted = typeof v === 'object' && v !== null ? v.granted : v;
      return [h('dt', {}, k), h('dd', { class: granted ? 'ok' : 'risk-high' }, `${granted ? 'granted' : 'refused'}${v && v.updated_at ? ` · ${fmtTime(v.updated_at)}` : ''}${v && v.source ? ` · ${v.source}` : ''}`)];
    })));
  }

  function renderCharts() {
    const el = clearSection('charts');
    const ev = st.events;
    // from the oldest loaded event to today: 14 to 90 days
    const oldest = ev.length ? new Date(ev[ev.length - 1].timestamp).getTime() : Date.now();
    const CHART_DAYS = Math.min(90, Math.max(14, Math.ceil((Date.now() - oldest) / 86400000) + 1));
    const spend = byDay(ev.filter((e) => e.event === 'Order Completed'), CHART_DAYS, (e) => Number((e.properties && (e.properties.total ?? e.properties.revenue)) || 0));
    const act = byDay(ev, CHART_DAYS, () => 1);
    const spendTotal = spend.reduce((a, b) => a + b.value, 0), actTotal = act.reduce((a, b) => a + b.value, 0);
    el.appendChild(h('div', { class: 'charts' },
      barChart({ title: `Spend per day, last ${CHART_DAYS} days`, bars: spend, fmt: (v) => fmtMoney(v).replace(/\.00$/, ''), summary: `${fmtMoney(spendTotal)} spent in the last ${CHART_DAYS} days` }),
      barChart({ title: `Events per day, last ${CHART_DAYS} days`, bars: act, fmt: (v) => fmtNum(v), summary: `${actTotal} events in the last ${CHART_DAYS} days` })));
    if (st.next) el.appendChild(h('p', { class: 'hint' }, 'Charts use the newest 1000 events.'));
  }

  function eventTitle(e) {
    if (e.type === 'track') return e.event || 'track';
    if (e.type === 'page') return `Page: ${e.name || (e.properties && e.properties.path) || ''}`;
    if (e.type === 'screen') return `Screen: ${e.name || ''}`;
    return e.type.charAt(0).toUpperCase() + e.type.slice(1);
  }

  function eventDetail(e) {
    const p = e.properties || {};
    switch (e.event) {
      case 'Product Viewed': case 'Product Added': case 'Product Removed':
        return `${p.name || p.product_id || ''}${p.price !== undefined ? ` · ${fmtMoney(p.price)}` : ''}${p.quantity ? ` × ${p.quantity}` : ''}`;
      case 'Order Completed': case 'Order Refunded':
        return `${p.order_id || ''} · ${fmtMoney(p.total ?? p.revenue)}${p.products ? ` · ${p.products.length} product${p.products.length > 1 ? 's' : ''}` : ''}`;
      case 'Note Added': return `${p.note !== undefined ? `“${p.note}”` : '(note hidden for this role)'} — ${p.by || ''}`;
      case 'Order Reviewed': return `${p.order_id || ''}${p.outcome ? ` · ${p.outcome}` : ''} — ${p.by || ''}`;
      default:
        if (e.type === 'identify') return Object.keys(e.traits || {}).join(', ');
        if (e.type === 'page') return p.path || p.url || '';
        return Object.keys(p).slice(0, 4).join(', ');
    }
  }

  function typeKey(e) { return e.type === 'track' ? `track:${e.event}` : e.type; }

  function renderTimeline() {
    const el = clearSection('timeline');
    if (st.eventsError) { el.appendChild(h('p', { class: 'error' }, st.eventsError)); return; }
    const kinds = new Map();
    for (const e of st.events) { const k = typeKey(e); kinds.set(k, (kinds.get(k) || 0) + 1); }
    const select = h('select', { id: 'tl-filter', onchange: () => { st.filter = select.value; st.shown = TIMELINE_PAGE; renderTimeline(); document.getElementById('tl-filter').focus(); } },
      h('option', { value: 'all' }, `All events (${st.events.length}${st.next ? '+' : ''})`),
      [...kinds.entries()].sort((a, b) => b[1] - a[1]).map(([k, n]) => h('option', { value: k, selected: k === st.filter }, `${k.startsWith('track:') ? k.slice(6) : k} (${n})`)));
    if (st.filter === 'all') select.value = 'all';
    el.appendChild(h('div', { class: 'field inline' }, h('label', { for: 'tl-filter' }, 'Show'), select));
    const list = st.events.filter((e) => st.filter === 'all' || typeKey(e) === st.filter);
    const ul = h('ol', { class: 'timeline', id: 'timeline', 'aria-label': 'Events, newest first' },
      list.slice(0, st.shown).map((e) => h('li', { class: st.newIds.has(e.messageId) ? 'new' : '', 'data-event': e.event || e.type, 'data-mid': e.messageId },
        h('time', { datetime: e.timestamp }, fmtTime(e.timestamp)),
        h('span', { class: `ev ev-${e.type}` }, eventTitle(e)),
        h('span', { class: 'detail' }, eventDetail(e)))));
    el.appendChild(ul);
    if (!list.length) el.appendChild(h('p', { class: 'muted' }, 'No events of this kind loaded.'));
    if (list.length > st.shown) el.appendChild(h('button', { type: 'button', class: 'secondary', id: 'tl-more', onclick: () => { st.shown += TIMELINE_PAGE; renderTimeline(); } }, 'Show more'));
    else if (st.next) el.appendChild(h('button', { type: 'button', class: 'secondary', id: 'tl-older', onclick: () => loadOlder().catch((e) => announce(e.message)) }, 'Load older events'));
    setTimeout(() => st.newIds.clear(), 3000);
  }

  function clearSection(id) {
    const el = sec[id];
    while (el.childNodes.length > 1) el.removeChild(el.lastChild);
    return el;
  }

  // ---- actions ----

  function renderActions() {
    clear(actions);
    if (can('reveal')) {
      actions.appendChild(h('button', { type: 'button', id: 'reveal', 'aria-pressed': st.revealed ? 'true' : 'false', onclick: toggleReveal },
        st.revealed ? 'Mask personal data' : 'Reveal personal data'));
    }
    if (can('export')) actions.appendChild(h('button', { type: 'button', id: 'export', onclick: doExport }, 'Export (JSON)'));
    if (can('erase')) actions.appendChild(h('button', { type: 'button', id: 'erase', class: 'danger', onclick: confirmErase }, 'Erase customer…'));
    if (can('add_note')) {
      const ta = h('textarea', { id: 'note-text', rows: 2, maxlength: 4000, required: true });
      const msg = h('span', { class: 'hint', id: 'note-msg', role: 'status' });
      actions.appendChild(h('form', { class: 'note', id: 'note-form', onsubmit: async (ev) => {
        ev.preventDefault();
        const text = ta.value.trim();
        if (!text) return;
        msg.textContent = 'Saving…';
        try {
          await api('POST', `${base()}/notes`, { body: { text } });
          ta.value = '';
          msg.textContent = 'Note added.';
        } catch (e) { msg.textContent = `Could not add the note: ${e.message}`; }
      } }, h('label', { for: 'note-text' }, 'Add a note'), ta, h('button', { type: 'submit', id: 'note-add' }, 'Add note'), msg));
    }
  }

  async function toggleReveal() {
    if (st.revealed) { st.revealed = null; renderAll(); document.getElementById('reveal').focus(); return; }
    try {
      st.revealed = await api('GET', `${base()}?reveal=all`);
      renderAll();
      document.getElementById('reveal').focus();
      announce('Personal data revealed; the reveal is audited.');
    } catch (e) { announce(`Reveal failed: ${e.message}`); }
  }

  async function review(orderId, btn) {
    btn.disabled = true;
    btn.textContent = 'Saving…';
    try {
      await api('POST', `${base()}/orders/${encodeURIComponent(orderId)}/review`, { body: { outcome: 'reviewed' } });
      btn.textContent = 'Reviewed';
      announce(`Order ${orderId} marked reviewed`);
    } catch (e) {
      btn.disabled = false;
      btn.textContent = 'Mark reviewed';
      announce(`Review failed: ${e.message}`);
    }
  }

  async function doExport() {
    const btn = document.getElementById('export');
    btn.disabled = true;
    try {
      const r = await api('GET', `/v1/privacy/export/${identPath(st.ident)}`, { raw: true });
      const blob = await r.blob();
      const url = URL.createObjectURL(blob);
      const a = h('a', { href: url, download: `c360-export-${st.profile.id}.json`, id: 'export-link' }, 'Download the export');
      a.click();
      const note = document.getElementById('export-note') || actions.appendChild(h('p', { id: 'export-note', class: 'notice', role: 'status' }));
      clear(note).append('Export ready (recorded in the audit log): ', a);
      setTimeout(() => URL.revokeObjectURL(url), 60000);
    } catch (e) { announce(`Export failed: ${e.message}`); }
    btn.disabled = false;
  }

  function confirmErase() {
    const id = st.profile.id;
    const input = h('input', { id: 'erase-confirm-input', autocomplete: 'off', spellcheck: 'false', 'aria-describedby': 'erase-help' });
    const go = h('button', { type: 'submit', class: 'danger', id: 'erase-confirm', disabled: true }, 'Erase for good');
    const err = h('p', { class: 'error', role: 'alert' });
    const dlg = h('dialog', { id: 'erase-dialog', 'aria-labelledby': 'erase-title' },
      h('form', { method: 'dialog', onsubmit: async (ev) => {
        ev.preventDefault();
        if (input.value.trim() !== id) return;
        go.disabled = true;
        go.textContent = 'Erasing…';
        try {
          const r = await api('POST', '/v1/privacy/erase', { body: { identifier: `id:${id}` } });
          dlg.close();
          dlg.remove();
          showErased(r);
        } catch (e) { err.textContent = `Erasure failed: ${e.message}`; go.disabled = false; go.textContent = 'Erase for good'; }
      } },
      h('h2', { id: 'erase-title' }, 'Erase this customer?'),
      h('p', {}, `Everything c360 holds about ${id} — every identifier, trait, event, merge and consent record — is deleted and purged from the store. This cannot be undone. The erasure is recorded in the audit log.`),
      h('label', { for: 'erase-confirm-input' }, `Type the customer id (${id}) to confirm`),
      input,
      h('p', { id: 'erase-help', class: 'hint' }, 'Esc or Cancel closes without erasing.'),
      err,
      h('div', { class: 'buttons' },
        h('button', { type: 'button', class: 'secondary', id: 'erase-cancel', onclick: () => { dlg.close(); dlg.remove(); document.getElementById('erase').focus(); } }, 'Cancel'),
        go)));
    input.addEventListener('input', () => { go.disabled = input.value.trim() !== id; });
    dlg.addEventListener('cancel', () => setTimeout(() => dlg.remove(), 0));
    document.body.appendChild(dlg);
    dlg.showModal();
    input.focus();
  }

  function showErased(report) {
    if (st.erased) return;
    st.erased = true;
    if (st.stream) st.stream.close();
    live.textContent = 'erased';
    clear(actions);
    clear(body);
    body.appendChild(h('section', { class: 'card wide', id: 'erased', role: 'alert' },
      h('h2', {}, 'This customer was erased'),
      h('p', {}, report ? `Erased ${report.erased}: ${report.identifiers} identifiers and ${report.events} events${report.suppressed ? '; later events carrying these identifiers will be dropped' : ''}.` : 'The customer no longer exists in c360.'),
      h('p', {}, h('a', { href: '#/search' }, 'Find another customer'))));
    announce('Customer erased');
  }

  function renderMissing(e) {
    title.textContent = 'Customer not found';
    live.textContent = '';
    clear(body).appendChild(h('section', { class: 'card wide', role: 'alert', id: 'missing' },
      h('p', {}, e instanceof ApiError && e.status === 404 ? 'No customer has this identifier (it may have been erased).' : `Cannot load the customer: ${e.message}`),
      h('p', {}, h('a', { href: '#/search' }, 'Find a customer'))));
  }

  // relative times tick while the view is open
  const ticker = setInterval(() => {
    if (!st.profile || st.erased) return;
    const el = document.getElementById('f-last');
    const t = new Date(st.profile.last_seen).getTime();
    if (el && !isNaN(t)) el.textContent = fmtAgo((Date.now() - t) / 1000);
  }, 1000);

  loadAll();
  return {
    cleanup() {
      st.stopped = true;
      clearInterval(ticker);
      clearTimeout(st.refreshTimer);
      if (st.stream) st.stream.close();
      document.getElementById('erase-dialog')?.remove();
    },
  };
}
