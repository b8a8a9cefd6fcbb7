// overview.js -- the overview page: GET /v1/overview every 2 s (events per second, ingest lag
// per source, customers, merges today, fraud alerts today and the latest ones, segment sizes). What the server does not expose is
// shown as "not available", never as a made-up zero.

import { api } from './api.js';
import { h, clear, fmtNum, notAvailable } from './dom.js';
import { sparkline } from './charts.js';

// one row of the ingest-lag table; each source reports what it can measure
function sourceRow(s) {
  const row = (name, lag, detail) => h('tr', {}, h('td', {}, name), h('td', {}, lag), h('td', {}, detail));
  if (s.source === 'http') return row('HTTP (Segment API)', `${fmtNum(s.queued_events)} events queued for the writer`, `commit ${fmtNum(s.commit_ms_avg, 2)} ms on average`);
  if (s.source === 'kafka') return row('Kafka', s.lag_messages === null ? 'not available' : `${fmtNum(s.lag_messages)} messages behind`, `${fmtNum(s.messages)} consumed`);
  if (s.source === 'postgres') return row('PostgreSQL (logical replication)', `${fmtNum(s.lag_bytes)} bytes of WAL not yet durable`, `${fmtNum(s.changes)} row changes, ${fmtNum(s.transactions)} transactions`);
  const { source, ...rest } = s;
  return row(source, s.lag_ms !== undefined ? `${fmtNum(s.lag_ms)} ms behind` : 'not available',
    Object.entries(rest).filter(([k]) => k !== 'lag_ms').map(([k, v]) => `${k.replace(/_/g, ' ')}: ${v}`).join(' · '));
}

export function renderOverview(root) {
  const body = h('div', { id: 'overview', 'aria-busy': 'true' }, h('p', { class: 'muted' }, 'Loading…'));
  root.append(h('h1', {}, 'Overview'), body);
  let timer = null, stopped = false;

  function stat(id, label, value, extra) {
    return h('div', { class: 'stat card', id }, h('div', { class: 'stat-label' }, label), h('div', { class: 'stat-value' }, value), extra);
  }

  async function tick() {
    try {
      const o = await api('GET', '/v1/overview');
      if (stopped) return;
      clear(body).setAttribute('aria-busy', 'false');
      const series = (o.rate_series || []).map((p) => p.rate);
      body.appendChild(h('div', { class: 'stats' },
        stat('ov-rate', 'Events per second (last minute)', fmtNum(o.events_per_second, 1), sparkline(series, 'events per second, last minute')),
        stat('ov-accepted', 'Events accepted since start', fmtNum(o.events_accepted)),
        stat('ov-customers', 'Customers', fmtNum(o.customers)),
        stat('ov-merges', 'Merges today (UTC)', o.merges_today === undefined ? 'not available' : fmtNum(o.merges_today), h('div', { class: 'hint' }, `${fmtNum(o.merges_since_start)} since server start`)),
        stat('ov-alerts', 'Fraud alerts today (UTC)', o.fraud_alerts_today === null || o.fraud_alerts_today === undefined ? 'not available' : fmtNum(o.fraud_alerts_today),
          o.fraud_alerts_since_start === null || o.fraud_alerts_since_start === undefined ? null : h('div', { class: 'hint' }, `${fmtNum(o.fraud_alerts_since_start)} since server start`)),
        stat('ov-scored', 'Orders scored since start', o.orders_scored_since_start === undefined ? 'not available' : fmtNum(o.orders_scored_since_start))));

      const src = h('section', { class: 'card', 'aria-labelledby': 'lag-h' }, h('h2', { id: 'lag-h' }, 'Ingest lag per source'),
        h('table', { class: 'list' },
          h('thead', {}, h('tr', {}, ['Source', 'Waiting / lag', 'Detail'].map((t) => h('th', { scope: 'col' }, t)))),
          h('tbody', {}, (o.sources || []).map(sourceRow))));

      const segs = h('section', { class: 'card', 'aria-labelledby': 'seg-h' }, h('h2', { id: 'seg-h' }, 'Segment sizes'));
      if (!o.segments) segs.appendChild(notAvailable('Segments'));
      else if (!o.segments.length) segs.appendChild(h('p', { class: 'muted' }, 'No segments are defined.'));
      else segs.appendChild(h('table', { class: 'list' },
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Segment'), h('th', { scope: 'col' }, 'Members'))),
        h('tbody', {}, o.segments.map((s) => h('tr', {}, h('td', {}, s.segment), h('td', {}, fmtNum(s.members)))))));

      const fr = h('section', { class: 'card', 'aria-labelledby': 'fr-h' }, h('h2', { id: 'fr-h' }, 'Recent fraud alerts'));
      if (!o.recent_fraud_alerts) fr.appendChild(notAvailable('A list of recent alerts across customers'));
      else if (!o.recent_fraud_alerts.length) fr.appendChild(h('p', { class: 'muted' }, 'No fraud alerts yet.'));
      else fr.appendChild(h('table', { class: 'list', id: 'ov-recent-alerts' },
        h('thead', {}, h('tr', {}, ['Raised', 'Customer', 'Score', 'Reasons'].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, o.recent_fraud_alerts.map((a) => h('tr', {},
          h('td', {}, new Date(a.raised_at).toLocaleString()),
          h('td', {}, h('a', { href: `#/profile/${encodeURIComponent(`id:${a.customer_id}`)}` }, a.email || a.customer_id)),
          h('td', {}, fmtNum(a.score)),
          h('td', {}, (a.reasons || []).join(', ')))))));

      body.appendChild(h('div', { class: 'grid2' }, src, segs, fr));
      body.appendChild(h('p', { class: 'hint' }, `Updated ${new Date(o.at).toLocaleTimeString()} · refreshes every 2 s`));
    } catch (e) {
      if (stopped) return;
      clear(body).appendChild(h('p', { class: 'error', role: 'alert' }, e.status === 403 ? 'This key may not read the overview.' : `Overview unavailable: ${e.message}`));
    }
    if (!stopped) timer = setTimeout(tick, 2000);
  }
  tick();
  return { cleanup() { stopped = true; clearTimeout(timer); } };
}
