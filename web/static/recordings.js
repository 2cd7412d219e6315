// Call recordings on the agent page. A customer file lists its recordings
// when asked (each listing, play and erase is audited by the switch);
// one plays in the page; supervisors and admins may erase one. The call
// in progress shows whether it is recorded, with a Record button that
// the switch refuses when the caller was never told.
import { h, api, fmtSeconds } from './common.js';

let role = 'agent';

// setRecordingRole tells the module who is logged in (erase buttons are
// for supervisors and admins; the switch checks again).
export function setRecordingRole(r) { role = r || 'agent'; }

// recordingsList returns a "Recordings" button that lists, below it, the
// recordings of a customer ({customer: id}) or of a call ({call: id}).
export function recordingsList(query) {
  const list = h('ul', { class: 'recordings', 'data-testid': 'recordings' });
  const btn = h('button', { type: 'button', 'data-testid': 'recordings-show' }, 'Recordings');
  btn.onclick = () => loadList(list, query);
  return h('div', { class: 'recordings-box' }, btn, list);
}

async function loadList(list, query) {
  let recs;
  try {
    recs = await api('GET', `/api/recordings?${new URLSearchParams(query)}`);
  } catch (e) {
    list.replaceChildren(h('li', { class: 'error', role: 'alert' }, `Recordings: ${e.message}`));
    return;
  }
  if (!recs.length) {
    list.replaceChildren(h('li', { class: 'muted' }, 'No recording.'));
    return;
  }
  list.replaceChildren(...recs.map((r) => recordingItem(r, list, query)));
}

function recordingItem(r, list, query) {
  const li = h('li', { 'data-recording': r.id },
    `${new Date(r.started).toLocaleString()} — ${fmtSeconds(r.seconds)}, call ${r.call_id}; told by "${r.notice}" (${r.notice_by}) `,
    h('audio', { controls: true, preload: 'none', src: `/api/recordings/${encodeURIComponent(r.id)}` }));
  if (role === 'supervisor' || role === 'admin') {
    const erase = h('button', { type: 'button', class: 'danger', 'data-erase': r.id }, 'Erase');
    erase.onclick = async () => {
      if (erase.dataset.armed !== 'yes') {
        erase.dataset.armed = 'yes';
        erase.textContent = 'Confirm erase';
        return;
      }
      try {
        await api('DELETE', `/api/recordings/${encodeURIComponent(r.id)}`);
        loadList(list, query);
      } catch (e) {
        li.append(h('span', { class: 'error', role: 'alert' }, ` ${e.message}`));
      }
    };
    li.append(' ', erase);
  }
  return li;
}

// Panels of the calls shown, by call id: the page re-renders the file
// often, and a panel keeps what it loaded.
const panels = new Map();
const maxPanels = 16;

const stateText = {
  on: 'Recording: on (the caller was told)',
  ready: 'Recording: off (the caller was told; press Record to start)',
  '': 'Recording: off (the caller was not told)',
};

// recordingsPanel is the recordings part of a call's customer file: the
// call's recording state with a Record button, and the recordings of
// the customer (or, for a caller not identified, of this call).
export function recordingsPanel(o) {
  let p = panels.get(o.call);
  if (!p) {
    const stateEl = h('span', { 'data-testid': 'rec-state' });
    const errEl = h('span', { class: 'error', role: 'alert', 'data-testid': 'rec-error' });
    const rec = h('button', { type: 'button', 'data-testid': 'rec-start', hidden: true }, 'Record');
    const who = o.ident && o.ident.customer ? { customer: o.ident.customer } : { call: o.call };
    p = { el: h('div', { class: 'recording-panel' }, h('p', {}, stateEl, ' ', rec, ' ', errEl), recordingsList(who)), stateEl, errEl, rec, polling: false };
    rec.onclick = async () => {
      errEl.textContent = '';
      try {
        const st = await api('POST', `/api/agent/calls/${encodeURIComponent(o.call)}/record`);
        showState(p, st.state);
      } catch (e) {
        errEl.textContent = `Not recorded: ${e.message}`;
      }
    };
    panels.set(o.call, p);
    if (panels.size > maxPanels) panels.delete(panels.keys().next().value);
  }
  refreshState(p, o.call);
  return p.el;
}

function showState(p, st) {
  p.stateEl.textContent = stateText[st] ?? stateText[''];
  p.rec.hidden = st === 'on';
}

// refreshState keeps the call's recording state current while its panel
// is on the page: one poll every 2 s per panel, whatever the page's
// re-renders.
function refreshState(p, call) {
  if (p.polling) return;
  p.polling = true;
  const poll = async () => {
    try {
      const st = await api('GET', `/api/agent/calls/${encodeURIComponent(call)}/recording`);
      showState(p, st.state);
    } catch (e) {
      // Not on the call (yet: ringing; or any more), or recording not
      // configured: no state, no button.
      p.stateEl.textContent = '';
      p.rec.hidden = true;
    }
    if (p.el.isConnected) setTimeout(poll, 2000);
    else p.polling = false;
  };
  poll();
}
