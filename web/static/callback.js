// The website's call-back widget: "call now" (WebRTC into the voice menu)
// and "call me back" (a queued call-back with live position). Identity
// comes from a token the website signs (callback.html#token=...) or is
// typed by the caller.
import { $, h, show, api, wsURL, fmtSeconds } from './common.js';

const params = new URLSearchParams(location.hash.slice(1));
const token = params.get('token') || '';
const call = { ws: null, pc: null, mic: null };
window.voxdeskCall = call; // for tests

function status(m) { $('status').textContent = m; }

// The token's claims are readable (only the signature is secret): show the
// name the website vouched for.
function claims(t) {
  try {
    const body = t.split('.')[0].replace(/-/g, '+').replace(/_/g, '/');
    return JSON.parse(atob(body));
  } catch { return null; }
}

function identity() {
  if (token) return { token };
  return { name: $('name').value.trim(), phone: $('phone').value.trim(), account: $('account').value.trim() };
}

function sendWS(m) { if (call.ws && call.ws.readyState === WebSocket.OPEN) call.ws.send(JSON.stringify(m)); }

async function startMedia(iceServers) {
  const pc = new RTCPeerConnection({ iceServers: iceServers || [] });
  call.pc = pc;
  pc.onicecandidate = (ev) => {
    if (ev.candidate) sendWS({ type: 'signal', signal: { type: 'candidate', candidate: ev.candidate.toJSON() } });
  };
  pc.ontrack = (ev) => { $('remote-audio').srcObject = ev.streams[0] || new MediaStream([ev.track]); };
  call.mic = await navigator.mediaDevices.getUserMedia({ audio: true });
  for (const t of call.mic.getAudioTracks()) pc.addTrack(t, call.mic);
  const offer = await pc.createOffer();
  await pc.setLocalDescription(offer);
  sendWS({ type: 'signal', signal: { type: 'offer', sdp: offer.sdp } });
}

function endCall(msg) {
  if (call.pc) call.pc.close();
  if (call.mic) call.mic.getTracks().forEach((t) => t.stop());
  call.pc = call.mic = null;
  show($('btn-end'), false);
  show($('keypad'), false);
  $('btn-call').disabled = false;
  if (msg) status(msg);
}

function callNow() {
  $('btn-call').disabled = true;
  status('Connecting…');
  const ws = new WebSocket(wsURL('/api/webcall/ws'));
  call.ws = ws;
  let chain = Promise.resolve();
  ws.onopen = () => sendWS({ type: 'start', ...identity() });
  ws.onmessage = (ev) => {
    const m = JSON.parse(ev.data);
    chain = chain.then(async () => {
      if (m.type === 'status') {
        if (m.state === 'connecting') {
          await startMedia(m.iceServers);
          show($('btn-end'), true);
          show($('keypad'), true);
          status('Connected. Our voice menu will answer.');
        } else if (m.state === 'answered') {
          status('You are through.');
        } else if (m.state === 'ended') {
          endCall('The call has ended. Thank you.');
        }
      } else if (m.type === 'signal' && call.pc) {
        if (m.signal.type === 'answer') await call.pc.setRemoteDescription({ type: 'answer', sdp: m.signal.sdp });
        else if (m.signal.candidate && m.signal.candidate.candidate) await call.pc.addIceCandidate(m.signal.candidate);
      } else if (m.type === 'error') {
        status(`Sorry: ${m.error}`);
      }
    }).catch((e) => status(`Sorry: ${e.message}`));
  };
  ws.onclose = () => { call.ws = null; endCall(); };
}

function keypad() {
  const row = $('keypad').querySelector('p');
  for (const k of '123456789*0#') {
    const b = h('button', { type: 'button', 'aria-label': `key ${k}` }, k);
    b.onclick = () => {
      const sender = call.pc && call.pc.getSenders().find((s) => s.dtmf);
      if (sender) sender.dtmf.insertDTMF(k, 120, 80);
    };
    row.append(b);
  }
}

let poll = null;
let ticket = '';

async function pollStatus() {
  try {
    const s = await api('GET', `/api/webcall/callback/${encodeURIComponent(ticket)}`);
    let text;
    switch (s.state) {
      case 'queued':
        text = `You are number ${s.position} in the queue` + (s.wait_known ? `; about ${fmtSeconds(s.estimated_wait_s)} to wait.` : '.');
        break;
      case 'dialling': text = 'We are calling you now.'; break;
      case 'connected': text = 'You are talking to an advisor.'; break;
      default: text = `Call-back ${s.state}.`;
    }
    $('callback-status').textContent = text;
    if (!['queued', 'dialling', 'connected'].includes(s.state)) stopPoll();
  } catch (e) {
    $('callback-status').textContent = `Status unavailable: ${e.message}`;
    if (e.status === 404) stopPoll();
  }
}

function stopPoll() {
  clearInterval(poll);
  poll = null;
  show($('btn-callback-cancel'), false);
  $('btn-callback').disabled = false;
}

async function callMeBack() {
  $('btn-callback').disabled = true;
  try {
    const r = await api('POST', '/api/webcall/callback', identity());
    ticket = r.ticket;
    show($('btn-callback-cancel'), true);
    await pollStatus();
    poll = setInterval(pollStatus, 3000);
  } catch (e) {
    $('callback-status').textContent = `Sorry: ${e.message}`;
    $('btn-callback').disabled = false;
  }
}

async function cancelCallback() {
  try {
    await api('DELETE', `/api/webcall/callback/${encodeURIComponent(ticket)}`);
    $('callback-status').textContent = 'Call-back cancelled.';
  } catch (e) { $('callback-status').textContent = `Sorry: ${e.message}`; }
  stopPoll();
}

if (token) {
  const c = claims(token);
  show($('vouched'), true);
  show($('typed'), false);
  $('vouched-name').textContent = (c && c.name) || 'a customer';
}
keypad();
$('btn-call').onclick = callNow;
$('btn-end').onclick = () => { sendWS({ type: 'hangup' }); endCall('Call ended.'); };
$('btn-callback').onclick = callMeBack;
$('btn-callback-cancel').onclick = cancelCallback;
