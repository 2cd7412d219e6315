// The supervisor wallboard: live queue figures and agent states pushed by
// the switch about once a second.
import { $, h, show, session, wsURL, fmtSeconds, setupLogin } from './common.js';

const pct = (x) => `${Math.round(x * 100)} %`;

let last = '';

// renderBoard redraws only when a figure changed, so screen readers and
// selections are not disturbed every second.
function renderBoard(b) {
  const key = JSON.stringify({ q: b.queues, a: b.agents });
  if (key === last) {
    $('updated').textContent = new Date(b.at).toLocaleTimeString();
    return;
  }
  last = key;
  $('queues').replaceChildren(...b.queues.map((q) => {
    const ended = q.answered + q.abandoned;
    return h('tr', { 'data-queue': q.name },
      h('th', { scope: 'row' }, q.name),
      h('td', { class: 'waiting' }, q.waiting),
      h('td', {}, fmtSeconds(q.longest_wait_s)),
      h('td', {}, q.answered ? pct(q.service_level) : '-'),
      h('td', {}, q.answered ? fmtSeconds(q.asa_s) : '-'),
      h('td', { class: 'answered' }, q.answered),
      h('td', { class: 'abandoned' }, q.abandoned),
      h('td', {}, ended ? pct(q.abandoned / ended) : '-'));
  }));
  $('agents').replaceChildren(...b.agents.map((a) => h('tr', { 'data-agent': a.id },
    h('th', { scope: 'row' }, a.name || a.id),
    h('td', {}, h('span', { class: `badge state-${a.state}` }, a.state)),
    h('td', {}, a.reason || ''))));
  $('updated').textContent = new Date(b.at).toLocaleTimeString();
}

function connect() {
  const ws = new WebSocket(wsURL('/api/board/ws'));
  ws.onopen = () => { $('status').textContent = 'Live.'; };
  ws.onmessage = (ev) => {
    const m = JSON.parse(ev.data);
    if (m.type === 'board') renderBoard(m.board);
  };
  ws.onclose = (ev) => {
    $('status').textContent = `Disconnected${ev.reason ? ` (${ev.reason})` : ''}; retrying in 5 s.`;
    setTimeout(connect, 5000);
  };
}

function enter() {
  show($('login'), false);
  show($('board'), true);
  connect();
}

setupLogin($('login'), enter);
session().then((s) => (s ? enter() : show($('login'), true)))
  .catch((e) => { $('status').textContent = `Cannot reach the switch: ${e.message}`; });
