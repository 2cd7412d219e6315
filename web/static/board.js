// The supervisor wallboard: live queue figures, the calls waiting and the
// agents' states, pushed by the switch about once a second. It is for
// supervisors and admins; an agent is told so instead of a retry loop.
import { $, h, show, session, logout, wsURL, fmtSeconds, setupLogin } from './common.js';
import { setMonitorSocket, onMonitorMessage, monitorButtons, monitorSocketClosed } from './monitor.js';

const pct = (x) => `${Math.round(x * 100)} %`;

// Alert thresholds, shown on the page.
const maxWaitS = 60;
const minServiceLevel = 0.8;
$('max-wait').textContent = fmtSeconds(maxWaitS);
$('min-sl').textContent = pct(minServiceLevel);

let last = '';
let ws = null;
let stopped = false;

function status(m) { $('status').textContent = m; }

// alertsOf lists a queue's threshold alerts in words.
function alertsOf(q) {
  const a = [];
  if (q.waiting && q.longest_wait_s > maxWaitS) a.push(`waiting over ${fmtSeconds(maxWaitS)}`);
  if (q.answered && q.service_level < minServiceLevel) a.push(`service level ${pct(q.service_level)}`);
  if (q.waiting && !q.staffed) a.push('no agent');
  return a;
}

// identityOf says who a waiting caller is and how that is known.
const methods = { voice: 'by voice', pin: 'by PIN', number: 'number only', web: 'typed on the website' };
function identityOf(c) {
  if (!c.customer) return 'not identified';
  const how = methods[c.method];
  return how ? `customer ${c.customer} (${how})` : `customer ${c.customer}`;
}

// renderBoard redraws when a figure changed, so screen readers and
// selections are not disturbed every second; times in state move on.
function renderBoard(b) {
  const at = new Date(b.at).getTime();
  const key = JSON.stringify({ q: b.queues, a: b.agents });
  $('updated').textContent = new Date(b.at).toLocaleTimeString();
  if (key === last) {
    updateInState(at);
    return;
  }
  last = key;
  $('queues').replaceChildren(...b.queues.map((q) => {
    const ended = q.answered + q.abandoned;
    const alerts = alertsOf(q);
    return h('tr', { 'data-queue': q.name, class: alerts.length ? 'alert' : undefined },
      h('th', { scope: 'row' }, q.name),
      h('td', { class: 'waiting' }, q.waiting),
      h('td', {}, fmtSeconds(q.longest_wait_s)),
      h('td', {}, q.answered ? pct(q.service_level) : '-'),
      h('td', {}, q.answered ? fmtSeconds(q.asa_s) : '-'),
      h('td', { class: 'aht' }, q.aht_s ? fmtSeconds(q.aht_s) : '-'),
      h('td', {}, q.staffed ?? '-'),
      h('td', { class: 'answered' }, q.answered),
      h('td', { class: 'abandoned' }, q.abandoned),
      h('td', {}, ended ? pct(q.abandoned / ended) : '-'),
      h('td', { class: 'alerts' }, alerts.join('; ')));
  }));
  const calls = b.queues.flatMap((q) => (q.calls || []).map((c) => ({ ...c, queue: q.name })));
  $('calls').replaceChildren(...calls.map((c) => h('tr', { 'data-call': c.call, class: c.waited_s > maxWaitS || c.watchlist ? 'alert' : undefined },
    h('td', {}, c.queue),
    h('td', {}, c.caller || 'number withheld', c.callback ? ' (call-back)' : ''),
    h('td', {}, identityOf(c), c.watchlist ? h('strong', { class: 'watchlist' }, ` fraud watchlist: ${c.watchlist}`) : ''),
    h('td', { class: 'waited' }, fmtSeconds(c.waited_s)),
    h('td', {}, c.offered_to || ''))));
  show($('no-calls'), calls.length === 0);
  $('agents').replaceChildren(...b.agents.map((a) => h('tr', { 'data-agent': a.id },
    h('th', { scope: 'row' }, a.name || a.id),
    h('td', {}, h('span', { class: `badge state-${a.state}` }, a.state)),
    h('td', {}, a.reason || ''),
    h('td', { class: 'in-state', 'data-since': a.since ? new Date(a.since).getTime() : undefined }, '-'),
    h('td', {}, a.handled || 0),
    h('td', { class: 'occupancy' }, overTime(a.occupancy)),
    h('td', { class: 'listen-in' }, monitorButtons(a)))));
  updateInState(at);
  $('occupancy').textContent = occupancyOf(b.agents);
  $('team-occupancy').textContent = b.occupancy ? `Team occupancy, last 15 min / 60 min / shift: ${overTime(b.occupancy)}.` : '';
}

// overTime shows the occupancy of the last 15 and 60 minutes and of the
// shift; '-' where there was no time taking calls.
function overTime(o) {
  if (!o) return '-';
  return [o.last_15m, o.last_60m, o.shift].map((x) => (x == null ? '-' : pct(x))).join(' / ');
}

// occupancyOf says how many of the agents taking calls (not away) are
// occupied by one now: ringing, talking or wrapping up.
function occupancyOf(agents) {
  const occupied = agents.filter((a) => ['offered', 'busy', 'wrap-up'].includes(a.state)).length;
  const staffed = occupied + agents.filter((a) => a.state === 'available').length;
  if (!staffed) return 'Occupancy now: no agent taking calls.';
  return `Occupancy now: ${occupied} of ${staffed} agents taking calls are on one (${pct(occupied / staffed)}).`;
}

// updateInState moves the agents' times in state on to the snapshot's
// time, without redrawing the rows.
function updateInState(at) {
  for (const td of document.querySelectorAll('#agents [data-since]')) {
    td.textContent = fmtSeconds((at - Number(td.dataset.since)) / 1000);
  }
}

function connect() {
  ws = new WebSocket(wsURL('/api/board/ws'));
  setMonitorSocket(ws);
  ws.onopen = () => status('Live.');
  ws.onmessage = (ev) => {
    const m = JSON.parse(ev.data);
    if (m.type === 'board') renderBoard(m.board);
    else onMonitorMessage(m);
  };
  ws.onclose = async (ev) => {
    ws = null;
    monitorSocketClosed();
    if (stopped) return;
    // A closed socket may mean the login expired or was refused: ask
    // before retrying, so nobody watches an endless retry loop.
    let s = null;
    try { s = await session(); } catch { s = undefined; }
    if (s === null) {
      show($('board'), false);
      show($('me'), false);
      show($('login'), true);
      status('Your session ended: please log in again.');
      return;
    }
    if (s && !mayView(s)) { enter(s); return; }
    status(`Disconnected${ev.reason ? ` (${ev.reason})` : ''}; retrying in 5 s.`);
    setTimeout(connect, 5000);
  };
}

function mayView(s) { return s.agent.role === 'supervisor' || s.agent.role === 'admin'; }

function enter(s) {
  show($('login'), false);
  show($('me'), true);
  $('me-name').textContent = `Logged in as ${s.agent.name} (${s.agent.role || 'agent'}).`;
  if (!mayView(s)) {
    show($('board'), false);
    $('forbidden-text').textContent = `The wallboard is for supervisors and admins; ${s.agent.name} is an agent. ` +
      'Log out and log in as a supervisor, or use the agent page (agent.html).';
    show($('forbidden'), true);
    status('');
    return;
  }
  show($('forbidden'), false);
  show($('board'), true);
  connect();
}

$('btn-logout').onclick = async () => {
  stopped = true;
  if (ws) ws.close();
  try { await logout(); } catch (e) { status(`Log out: ${e.message}`); return; }
  location.reload();
};
setupLogin($('login'), enter);
session().then((s) => (s ? enter(s) : show($('login'), true)))
  .catch((e) => status(`Cannot reach the switch: ${e.message}`));
