// The agent softphone: login, state buttons, the ringing call with its
// customer file shown before answering, call controls and wrap-up. Media
// is one RTCPeerConnection for the whole session, offered by this page
// once the WebSocket says hello; the switch answers with G.711 only.
import { $, h, show, api, session, logout, wsURL, fmtSeconds, setupLogin } from './common.js';
import { recordingsPanel, recordingsList, setRecordingRole } from './recordings.js';
import { showSupervisor } from './supervised.js';

const state = {
  ws: null,
  pc: null,
  mic: null,
  me: null,
  // The live call: {id, offer, phase: 'ringing'|'talking', held, muted,
  // consult: {peer, state} while this agent consults another}. An offer
  // with consult_from is a consultation another agent asks for.
  call: null,
  // Calls ended and not yet wrapped up, oldest first: call id -> {id, offer}.
  // Each keeps its own id and offer, so a call arriving during a wrap-up
  // never takes over the form (issue 11).
  wraps: new Map(),
  nextId: 1,
  seen: new Map(), // call id -> offer, the last offers rung (missed-call notices)
  stateSince: 0,
  wrapUntil: 0,
  pending: new Map(), // request id -> {what, wrap: call id of a wrap-up}
};
// Exposed for tests and for the curious: the live PeerConnection.
window.voxdesk = state;

function status(msg) { $('status').textContent = msg; }

// Ringing: a two-tone 425/480 Hz ring, 1 s on and 2 s off, while a call
// is offered (Web Audio; silent if the browser refuses to start audio).
const ring = { ctx: null, timer: null };
function startRinging() {
  stopRinging();
  try {
    ring.ctx = ring.ctx || new AudioContext();
    const burst = () => {
      const t = ring.ctx.currentTime;
      const gain = ring.ctx.createGain();
      gain.gain.value = 0.08;
      gain.connect(ring.ctx.destination);
      for (const f of [425, 480]) {
        const o = ring.ctx.createOscillator();
        o.frequency.value = f;
        o.connect(gain);
        o.start(t);
        o.stop(t + 1);
      }
    };
    burst();
    ring.timer = setInterval(burst, 3000);
  } catch { /* no audio: the page still shows the call */ }
}
function stopRinging() {
  clearInterval(ring.timer);
  ring.timer = null;
}

function send(msg, what) {
  if (!state.ws || state.ws.readyState !== WebSocket.OPEN) {
    status('Not connected to the switch.');
    return false;
  }
  msg.id = state.nextId++;
  if (what) state.pending.set(msg.id, { what, wrap: msg.type === 'wrapup' ? msg.call : null, ring: msg.type === 'ring' ? msg.ring : null });
  state.ws.send(JSON.stringify(msg));
  return true;
}

// setState shows the agent's state; the state timer counts from the
// change, and a wrap-up ending at until counts down to it.
function setState(s, reason, until) {
  const b = $('state');
  if (b.textContent !== s || state.stateReason !== (reason || '')) state.stateSince = Date.now();
  state.stateReason = reason || '';
  b.textContent = s;
  b.className = `badge state-${s}`;
  $('state-reason').textContent = reason ? `(${reason})` : '';
  state.wrapUntil = s === 'wrap-up' && until ? new Date(until).getTime() : 0;
  tick();
}

// tick refreshes the timers once a second: time in state, call and hold
// timers, the wrap-up countdown and the caller's time in the system.
function tick() {
  const now = Date.now();
  if (state.stateSince) $('state-timer').textContent = `for ${fmtSeconds((now - state.stateSince) / 1000)}`;
  const cd = $('wrap-countdown');
  const left = state.wrapUntil ? Math.max(0, (state.wrapUntil - now) / 1000) : 0;
  show(cd, !!state.wrapUntil);
  if (state.wrapUntil) cd.textContent = `Wrap-up: available again in ${fmtSeconds(left)}`;
  const c = state.call;
  if (c && c.phase === 'talking') {
    $('call-timer').textContent = `Call ${fmtSeconds((now - c.answeredAt) / 1000)}`;
    $('hold-timer').textContent = c.held && c.heldSince ? `on hold ${fmtSeconds((now - c.heldSince) / 1000)}` : '';
  }
  for (const el of document.querySelectorAll('[data-arrived]')) {
    el.textContent = `${fmtSeconds((now - Number(el.dataset.arrived)) / 1000)} in the system`;
  }
}
setInterval(tick, 1000);

// What the identification means, in the agent's words.
function identMeaning(o) {
  switch (o.ident.method) {
    case 'voice': return `Verified by voice (score ${o.ident.score.toFixed(2)})`;
    case 'pin': return 'Verified by PIN';
    case 'number': return 'By number only: not verified';
    case 'web-token': return 'Logged in on the website';
    default: return o.given_name ? 'Typed on the website: not verified' : 'Not identified';
  }
}

// fileView renders the customer file of an offer.
function fileView(o) {
  const method = o.ident.method || 'none';
  const ident = h('p', {},
    'Identity: ',
    h('span', { class: `badge ident-${method}`, 'data-testid': 'ident' }, identMeaning(o)));
  const f = o.customer;
  const lines = h('dl', { 'data-testid': 'call-info' },
    h('dt', {}, 'Caller'), h('dd', { 'data-testid': 'caller' }, o.caller || 'number withheld'),
    h('dt', {}, 'Dialled line'), h('dd', { 'data-testid': 'called' }, o.called || '-'),
    h('dt', {}, 'Menus'), h('dd', { class: 'path', 'data-testid': 'path' }, o.path ? o.path.split(' ').join(' › ') : '-'));
  if (o.arrived) {
    lines.append(h('dt', {}, 'Arrived'), h('dd', {},
      new Date(o.arrived).toLocaleTimeString(), ' — ',
      h('span', { 'data-arrived': new Date(o.arrived).getTime(), 'data-testid': 'in-system' })));
  }
  const parts = [lines, ident];
  if (o.candidates && o.candidates.length) {
    parts.push(h('p', { class: 'ident-alert', 'data-testid': 'candidates' },
      `This number is shared by ${o.candidates.length} customers: ${o.candidates.join(', ')}. Ask who is calling, then pick: `,
      o.candidates.map((id) => {
        const b = h('button', { type: 'button', 'data-pick': id, 'aria-pressed': String(o.ident.customer === id) }, id);
        b.onclick = () => send({ type: 'pick_customer', call: o.call, customer: id }, `Customer ${id}`);
        return b;
      })));
  }
  if (o.ident.watchlist) {
    parts.push(h('p', { class: 'ident-alert watchlist', 'data-testid': 'watchlist' },
      `Fraud watchlist: the voice matches "${o.ident.watchlist}". Do not disclose account details; follow the fraud procedure.`));
  }
  if (o.ident.warning) {
    parts.push(h('p', { class: 'ident-alert', 'data-testid': 'ident-warning' }, `Warning: ${o.ident.warning}.`));
  }
  if (!f) {
    parts.push(h('p', { class: 'muted' }, o.ident.customer ? `Customer ${o.ident.customer} (file unavailable)` : 'Unknown caller'));
    if (o.given_name) parts.push(h('p', { class: 'given-name' }, `Says they are ${o.given_name} (typed on the website, not verified)`));
  } else {
    const dl = h('dl', {},
      h('dt', {}, 'Name'), h('dd', { class: 'customer-name' }, f.name),
      h('dt', {}, 'Customer'), h('dd', {}, f.id),
      h('dt', {}, 'Segment'), h('dd', {}, (f.segment || '-') + (f.vip ? ' (VIP)' : '')),
      h('dt', {}, 'Usual advisor'), h('dd', { 'data-testid': 'advisor' }, f.preferred_advisor || '-'),
      h('dt', {}, 'City'), h('dd', { 'data-testid': 'city' }, (f.attributes && f.attributes.city) || '-'),
      h('dt', {}, 'Language'), h('dd', { 'data-testid': 'language' }, langName((f.attributes && f.attributes.language) || '')),
      h('dt', {}, 'Voice consent'), h('dd', {}, f.consent ? `given ${new Date(f.consent.given_at).toLocaleDateString()} (${f.consent.method})` : 'none'));
    if (f.notes) dl.append(h('dt', {}, 'Notes'), h('dd', {}, f.notes));
    parts.push(dl);
    if (f.recent && f.recent.length) {
      parts.push(h('h3', {}, 'Recent calls'), h('ul', {}, f.recent.map((r) =>
        h('li', {}, `${new Date(r.at).toLocaleString()} — ${r.queue || ''} ${r.agent ? 'with ' + r.agent : ''}: ${r.outcome || ''} ${r.notes || ''}`))));
    }
  }
  const extra = [];
  if (o.preferred) extra.push('you are their advisor');
  if (o.callback) extra.push('call-back: answering dials the customer');
  if (o.requeued) extra.push('the caller lost their previous agent');
  extra.push(`queue ${o.queue}, waited ${fmtSeconds(o.waited_s)}`);
  parts.push(h('p', { class: 'muted' }, extra.join('; ')));
  parts.push(recordingsPanel(o));
  return parts;
}

// langName spells a language code in the browser's language ("en" ->
// "English"), like the dates, or shows the code as it is.
function langName(code) {
  if (!code) return '-';
  try {
    const n = new Intl.DisplayNames(undefined, { type: 'language' }).of(code);
    return n && n !== code ? `${n} (${code})` : code;
  } catch { return code; }
}

// addMissed lists a call the agent let ring out.
function addMissed(mv) {
  const seen = state.seen.get(mv.call);
  const from = (seen && who(seen)) || mv.caller || mv.customer || 'unknown caller';
  const after = mv.state === 'away' ? ` — you were set away (${mv.reason || 'missed call'}): press Available when ready` : '';
  $('missed-list').prepend(h('li', { 'data-call': mv.call },
    `${new Date(mv.at).toLocaleTimeString()}: missed call from ${from}${mv.queue ? ` (queue ${mv.queue})` : ''}${after}`));
  show($('missed'), true);
}

// who names the caller of an offer.
function who(o) {
  const name = o.customer ? o.customer.name : o.given_name;
  if (name && o.caller) return `${name}, ${o.caller}`;
  return name || o.caller || 'unknown caller';
}

// The wrap-up form shows the oldest call waiting for one; the form is
// bound to that call's id until it is saved.
function renderWrap() {
  const form = $('wrap');
  const w = state.wraps.values().next().value;
  if (!w) {
    if (form.dataset.call) form.reset();
    delete form.dataset.call;
    show(form, false);
    return;
  }
  if (form.dataset.call !== w.id) {
    form.reset();
    form.dataset.call = w.id;
  }
  $('wrap-call').textContent = `(${who(w.offer)})` + (state.wraps.size > 1 ? ` — ${state.wraps.size - 1} more after this one` : '');
  show(form, true);
}

function render() {
  renderWrap();
  const c = state.call;
  if (c && c.phase === 'ringing') {
    if (!ring.timer && state.ringMode !== 'sip') startRinging(); // else the SIP phone rings
  } else {
    stopRinging();
  }
  show($('offer'), !!c && ['ringing', 'dialling'].includes(c.phase));
  show($('offer-actions'), !!c && c.phase === 'ringing');
  // The agent's own outbound call can be hung up while it rings.
  show($('btn-cancel-dial'), !!c && c.phase === 'dialling' && !!c.outbound);
  $('offer-title').firstChild.textContent = c && c.phase === 'dialling' ? (c.outbound ? 'Calling ' : 'Calling the customer ') : 'Incoming call ';
  show($('talk'), !!c && c.phase === 'talking');
  if (!c) return;
  const from = c.offer.consult_from;
  if (c.phase === 'ringing' && from) $('offer-title').firstChild.textContent = `Consultation from ${from} `;
  if (c.phase === 'ringing' || c.phase === 'dialling') {
    $('offer-caller').textContent = c.outbound ? who(c.offer) : `${from ? 'about' : 'from'} ${who(c.offer)}`;
    $('offer-file').replaceChildren(...fileView(c.offer));
    if (c.phase === 'ringing') $('btn-answer').focus();
  } else if (c.phase === 'talking') {
    $('talk-title').firstChild.textContent = from ? `Consulting with ${from} ` : 'On call ';
    $('talk-caller').textContent = `${from ? 'about' : 'with'} ${who(c.offer)}`;
    const k = c.consult;
    show($('consult'), !!k);
    if (k) {
      $('consult-status').textContent = k.state === 'connected'
        ? `Talking to ${k.peer}; the caller is on hold.` : `Calling ${k.peer}; the caller is on hold…`;
    }
    $('btn-consult-complete').disabled = !k || k.state !== 'connected';
    for (const b of ['btn-transfer', 'btn-consult', 'btn-hold']) $(b).disabled = !!k || !!from;
    $('talk-file').replaceChildren(...fileView(c.offer));
    $('btn-hold').setAttribute('aria-pressed', String(!!c.held));
    $('btn-hold').textContent = c.held ? 'Resume' : 'Hold';
    $('btn-mute').setAttribute('aria-pressed', String(!!c.muted));
    $('btn-mute').textContent = c.muted ? 'Unmute' : 'Mute';
    const consent = c.offer.customer && c.offer.customer.consent;
    $('btn-enrol').disabled = !consent;
    $('btn-enrol').title = consent ? '' : 'The customer has not consented to voice identification';
    $('btn-confirm').disabled = !c.offer.ident.customer;
  }
  tick();
}

function fillTransfer(queues, agents) {
  const sel = $('transfer-target');
  sel.replaceChildren(
    ...(queues || []).map((q) => h('option', { value: `queue:${q}` }, `Queue ${q}`)),
    ...(agents || []).filter((a) => state.me && a.id !== state.me.id).map((a) => h('option', { value: `agent:${a.id}` }, `Agent ${a.name || a.id}`)));
}

async function startMedia(iceServers) {
  const pc = new RTCPeerConnection({ iceServers: iceServers || [] });
  state.pc = pc;
  pc.onicecandidate = (ev) => {
    if (ev.candidate) send({ type: 'signal', signal: { type: 'candidate', candidate: ev.candidate.toJSON() } });
  };
  pc.ontrack = (ev) => { $('remote-audio').srcObject = ev.streams[0] || new MediaStream([ev.track]); };
  pc.onconnectionstatechange = () => { $('media').textContent = `audio: ${pc.connectionState}`; };
  try {
    state.mic = await navigator.mediaDevices.getUserMedia({ audio: true });
  } catch (e) {
    status(`Microphone unavailable: ${e.message}`);
    return;
  }
  for (const t of state.mic.getAudioTracks()) pc.addTrack(t, state.mic);
  const offer = await pc.createOffer();
  await pc.setLocalDescription(offer);
  send({ type: 'signal', signal: { type: 'offer', sdp: offer.sdp } });
}

function stopMedia() {
  if (state.pc) state.pc.close();
  if (state.mic) state.mic.getTracks().forEach((t) => t.stop());
  state.pc = null;
  state.mic = null;
  $('media').textContent = 'audio: not connected';
}

async function onMessage(m) {
  switch (m.type) {
    case 'hello':
      state.me = m.agent;
      $('me-name').textContent = m.agent.name;
      setState(m.state, m.reason);
      fillTransfer(m.queues, m.agents);
      // Agents with a SIP phone choose where calls ring (kept by the switch).
      state.ringMode = m.ring || 'browser';
      $('ring-mode').value = state.ringMode;
      show($('ring-box'), !!m.ring);
      status('Connected.');
      await startMedia(m.iceServers);
      break;
    case 'signal':
      if (!state.pc) break;
      if (m.signal.type === 'answer') await state.pc.setRemoteDescription({ type: 'answer', sdp: m.signal.sdp });
      else if (m.signal.type === 'candidate' && m.signal.candidate.candidate) await state.pc.addIceCandidate(m.signal.candidate);
      break;
    case 'state':
      setState(m.state, m.reason, m.until);
      break;
    case 'picked': // the agent picked who, of the number's customers, is calling
      if (state.call && state.call.id === m.offer.call) {
        state.call.offer = m.offer;
        render();
      } else if (state.wraps.has(m.offer.call)) {
        state.wraps.get(m.offer.call).offer = m.offer;
        render();
      }
      break;
    case 'missed':
      addMissed(m.missed); // the status line keeps why the offer was withdrawn
      break;
    case 'offer':
      state.seen.set(m.offer.call, m.offer);
      if (state.seen.size > 20) state.seen.delete(state.seen.keys().next().value);
      state.call = { id: m.offer.call, offer: m.offer, phase: 'ringing' };
      status(`Incoming call from ${m.offer.customer ? m.offer.customer.name : (m.offer.caller || 'unknown caller')}` +
        (state.ringMode === 'sip' ? ', ringing on your SIP phone.' : '.'));
      render();
      break;
    case 'dialling': // the agent's own call to a customer
      state.call = { id: m.offer.call, offer: m.offer, phase: 'dialling', outbound: true };
      status(`Calling ${who(m.offer)}…`);
      render();
      break;
    case 'cancel':
      if (state.call && state.call.id === m.call && ['ringing', 'dialling'].includes(state.call.phase)) {
        state.call = null;
        status(`The call was withdrawn (${m.reason}).`);
        render();
      }
      break;
    case 'connected':
      if (state.call && state.call.id === m.call) {
        state.call.phase = 'talking';
        state.call.answeredAt = Date.now();
        $('consult-last').textContent = '';
        status('Call connected.');
        render();
      }
      break;
    case 'ended':
      if (state.call && state.call.id === m.call) {
        state.wraps.set(m.call, { id: m.call, offer: state.call.offer });
        state.call = null;
        status(`Call ended (${m.cause}). Please wrap up.`);
        render();
        if ($('wrap').dataset.call === m.call) $('wrap-notes').focus();
      }
      break;
    case 'wrapup': // a wrap-up left by the previous page (reload, another window)
      if (!state.wraps.has(m.offer.call)) {
        state.wraps.set(m.offer.call, { id: m.offer.call, offer: m.offer });
        render();
      }
      break;
    case 'consult':
      onConsult(m);
      break;
    case 'held':
    case 'muted':
      if (state.call && state.call.id === m.call) {
        state.call[m.type] = m.on;
        if (m.type === 'held') state.call.heldSince = m.on ? Date.now() : 0;
        if (m.type === 'muted' && state.mic) state.mic.getAudioTracks().forEach((t) => { t.enabled = !m.on; });
        render();
      }
      break;
    case 'ok': {
      const p = state.pending.get(m.id);
      state.pending.delete(m.id);
      if (p && p.wrap) {
        state.wraps.delete(p.wrap);
        render();
      }
      if (p && p.ring) state.ringMode = p.ring;
      if (p && p.what === 'Answer' && state.call && state.call.phase === 'ringing' && state.call.offer.callback) {
        // A call-back: the switch now dials the customer ('connected' or 'cancel' follows).
        state.call.phase = 'dialling';
        status('Calling the customer…');
        render();
      } else if (p) status(`${p.what}: done.`);
      break;
    }
    case 'error': {
      // A refused wrap-up stays in the form with its notes.
      const p = state.pending.get(m.id);
      state.pending.delete(m.id);
      status(`${p ? p.what : 'Error'}: ${m.error}`);
      if (p && p.ring) $('ring-mode').value = state.ringMode;
      break;
    }
    case 'board':
      break;
    case 'monitor':
      showSupervisor(m.monitor);
      break;
  }
}

// onConsult follows a consultation: this agent's (they hold the caller)
// or one another agent asked this agent for.
function onConsult(m) {
  const c = state.call;
  if (!c || c.id !== m.call) return;
  if (c.offer.consult_from) { // consulted
    if (m.state === 'completed') {
      c.offer.consult_from = '';
      status(`${m.peer} transferred the call to you.`);
    } else if (m.state === 'over') {
      state.call = null;
      status(`Consultation with ${m.peer} over.`);
    }
  } else if (m.state === 'ringing' || m.state === 'connected') {
    c.consult = { peer: m.peer, state: m.state };
    $('consult-last').textContent = '';
    status(m.state === 'connected' ? `${m.peer} answered: the caller is on hold.` : `Calling ${m.peer}…`);
  } else {
    // How it ended stays on the call (the status line moves on).
    c.consult = null;
    const how = ['completed', 'transferred'].includes(m.state)
      ? `Call transferred to ${m.peer}.` : `Consultation with ${m.peer}: ${m.state}. Back with the caller.`;
    $('consult-last').textContent = how;
    status(how);
  }
  render();
}

function connect() {
  const ws = new WebSocket(wsURL('/api/agent/ws'));
  state.ws = ws;
  let chain = Promise.resolve();
  ws.onmessage = (ev) => {
    let m;
    try { m = JSON.parse(ev.data); } catch { return; }
    // Handle messages in order: the SDP answer must be applied before
    // the candidates that follow it.
    chain = chain.then(() => onMessage(m)).catch((e) => status(`Error: ${e.message}`));
  };
  ws.onclose = (ev) => {
    stopMedia();
    state.ws = null;
    state.call = null; // wrap-ups stay, with their notes
    render();
    const why = ev.reason ? ` (${ev.reason})` : '';
    // Reconnect after a network drop or a switch restart, but not when
    // another window took over or the agent logged out.
    if (state.loggedOut || ['opened in another window', 'on a call in another window', 'logged out'].includes(ev.reason)) {
      status(`Disconnected from the switch${why}.`);
      return;
    }
    status(`Disconnected from the switch${why}; reconnecting in 3 s…`);
    setTimeout(async () => {
      let s = null;
      try { s = await session(); } catch { setTimeout(connect, 3000); return; }
      if (s) {
        connect();
      } else { // the login expired
        show($('desk'), false);
        show($('login'), true);
        status('Please log in again.');
      }
    }, 3000);
  };
}

function enter(s) {
  state.me = s.agent;
  setRecordingRole(s.agent.role);
  show($('login'), false);
  show($('desk'), true);
  $('me-name').textContent = s.agent.name;
  connect();
  loadVoicemail();
}

function callAction(type, what, extra = {}) {
  if (!state.call) return;
  send({ type, call: state.call.id, ...extra }, what);
}

// loadVoicemail lists the voicemail inbox; each message plays in the page
// (the switch audits each access).
async function loadVoicemail() {
  const list = $('vm-list');
  let msgs;
  try {
    msgs = await api('GET', '/api/voicemail');
  } catch (e) {
    list.replaceChildren(h('li', { class: 'muted' }, `Voicemail unavailable: ${e.message}`));
    return;
  }
  if (!msgs.length) {
    list.replaceChildren(h('li', { class: 'muted' }, 'No message.'));
    return;
  }
  list.replaceChildren(...msgs.map((m) => h('li', { 'data-vm': `${m.box}/${m.name}` },
    `${new Date(m.at).toLocaleString()} — box ${m.box}, ${fmtSeconds(m.seconds)} (call ${m.call_id}) `,
    h('audio', { controls: true, preload: 'none', src: `/api/voicemail/${encodeURIComponent(m.box)}/${encodeURIComponent(m.name)}` }))));
}

// findToCall looks a customer up to call them on a number of their file.
async function findToCall(ev) {
  ev.preventDefault();
  const out = $('out-results');
  let files;
  try {
    files = await api('GET', `/api/customers?q=${encodeURIComponent($('out-q').value.trim())}`);
  } catch (e) {
    out.replaceChildren(h('p', { class: 'error' }, e.message));
    return;
  }
  if (!files.length) {
    out.replaceChildren(h('p', {}, 'No customer found.'));
    return;
  }
  out.replaceChildren(...files.map((f) => h('p', { 'data-customer': f.id }, `${f.name} (${f.id}): `,
    (f.phones || []).map((n) => {
      const b = h('button', { type: 'button', 'data-dial': n }, `Call ${n}`);
      b.onclick = () => send({ type: 'dial', customer: f.id, number: n }, `Call ${n}`);
      return b;
    }), recordingsList({ customer: f.id }))));
}

// The keypad sends its keys as tones to the far party.
function buildKeypad() {
  const pad = $('keypad');
  for (const k of '123456789*0#') {
    const b = h('button', { type: 'button', 'data-key': k, 'aria-label': `key ${k}` }, k);
    b.onclick = () => callAction('dtmf', `Key ${k}`, { digits: k });
    pad.append(b);
  }
}

function wire() {
  setupLogin($('login'), enter);
  buildKeypad();
  $('btn-vm-refresh').onclick = loadVoicemail;
  $('btn-missed-clear').onclick = () => { $('missed-list').replaceChildren(); show($('missed'), false); };
  $('ring-mode').onchange = () => send({ type: 'ring', ring: $('ring-mode').value }, 'Ring mode');
  $('btn-available').onclick = () => send({ type: 'state', state: 'available' }, 'Available');
  $('btn-away').onclick = () => send({ type: 'state', state: 'away', reason: $('away-reason').value }, 'Away');
  $('btn-logout').onclick = async () => {
    try {
      state.loggedOut = true;
      await logout();
      location.reload();
    } catch (e) { status(`Log out: ${e.message}`); }
  };
  $('btn-answer').onclick = () => callAction('answer', 'Answer');
  $('btn-decline').onclick = () => {
    callAction('decline', 'Decline');
    state.call = null;
    render();
  };
  $('btn-hangup').onclick = () => callAction('hangup', 'Hang up');
  $('btn-cancel-dial').onclick = () => callAction('hangup', 'Hang up');
  $('outbound').addEventListener('submit', findToCall);
  $('btn-hold').onclick = () => callAction('hold', 'Hold', { on: !state.call.held });
  $('btn-mute').onclick = () => callAction('mute', 'Mute', { on: !state.call.muted });
  $('btn-confirm').onclick = () => callAction('confirm_identity', 'Identity confirmed');
  $('btn-enrol').onclick = () => callAction('enrol', 'Voiceprint enrolment');
  // Blind transfer, or consult first (warm): to the chosen agent or queue.
  const toTarget = (type, what) => {
    const [kind, target] = $('transfer-target').value.split(/:(.*)/s);
    if (target) callAction(type, what, kind === 'queue' ? { queue: target } : { agent: target });
  };
  $('btn-transfer').onclick = () => toTarget('transfer', 'Transfer');
  $('btn-consult').onclick = () => toTarget('consult', 'Consult');
  $('btn-consult-complete').onclick = () => callAction('consult_complete', 'Complete transfer');
  $('btn-consult-cancel').onclick = () => callAction('consult_cancel', 'Back to the caller');
  $('wrap').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const id = $('wrap').dataset.call;
    const w = id && state.wraps.get(id);
    if (!w) return;
    // The form leaves only when the switch confirms (message "ok").
    const sent = send({ type: 'wrapup', call: id, disposition: $('wrap-disposition').value, notes: $('wrap-notes').value },
      `Wrap-up of ${who(w.offer)}`);
    if (sent && $('wrap-ready').checked && !state.call && state.wraps.size === 1) send({ type: 'state', state: 'available' }, 'Available');
  });
}

wire();
session().then((s) => {
  if (s) enter(s);
  else show($('login'), true);
}).catch((e) => status(`Cannot reach the switch: ${e.message}`));
