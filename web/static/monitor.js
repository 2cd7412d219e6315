// Listen, whisper and barge from the wallboard. The supervisor's audio is
// one RTCPeerConnection per wallboard page, made the first time they join
// a call (the microphone is asked for then) and signalled over the
// wallboard's WebSocket like the agent softphone's; the switch answers
// with G.711. POST /api/monitor joins a call or switches mode, DELETE
// leaves; the switch tells the page when the call ends.
import { $, h, show, api } from './common.js';

const mon = {
  ws: null,
  page: '', // this page's id, from the switch's hello
  iceServers: [],
  enabled: false,
  pc: null,
  mic: null,
  connected: null, // Promise resolved when the audio is up
  current: null, // {call, agent, name, mode}
  chain: Promise.resolve(),
};
// Exposed for tests: the supervisor's PeerConnection.
window.voxdesk = mon;

const modeWords = {
  listen: 'listening (nobody hears you)',
  whisper: 'whispering (the agent hears you, the caller does not)',
  barge: 'barged in (caller and agent hear you)',
};

function status(msg) { $('status').textContent = msg; }

// setMonitorSocket gives the module the wallboard's current socket.
export function setMonitorSocket(ws) { mon.ws = ws; }

function send(m) {
  if (mon.ws && mon.ws.readyState === WebSocket.OPEN) mon.ws.send(JSON.stringify(m));
}

// startAudio makes the page's PeerConnection once and resolves when
// media flows.
function startAudio() {
  if (mon.connected) return mon.connected;
  mon.connected = (async () => {
    const pc = new RTCPeerConnection({ iceServers: mon.iceServers });
    mon.pc = pc;
    pc.onicecandidate = (ev) => {
      if (ev.candidate) send({ type: 'signal', signal: { type: 'candidate', candidate: ev.candidate.toJSON() } });
    };
    pc.ontrack = (ev) => { $('monitor-audio').srcObject = ev.streams[0] || new MediaStream([ev.track]); };
    const up = new Promise((resolve, reject) => {
      pc.onconnectionstatechange = () => {
        $('monitor-media').textContent = `Your audio: ${pc.connectionState}.`;
        if (pc.connectionState === 'connected') resolve();
        if (pc.connectionState === 'failed' || pc.connectionState === 'closed') {
          reject(new Error(`audio ${pc.connectionState}`));
          if (mon.pc === pc) stopAudio(); // the next join offers anew
        }
      };
    });
    mon.mic = await navigator.mediaDevices.getUserMedia({ audio: true });
    for (const t of mon.mic.getAudioTracks()) pc.addTrack(t, mon.mic);
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    send({ type: 'signal', signal: { type: 'offer', sdp: offer.sdp } });
    await up;
  })();
  mon.connected.catch(() => stopAudio());
  return mon.connected;
}

function stopAudio() {
  if (mon.pc) mon.pc.close();
  if (mon.mic) mon.mic.getTracks().forEach((t) => t.stop());
  mon.pc = null;
  mon.mic = null;
  mon.connected = null;
  $('monitor-media').textContent = 'Your audio: not connected.';
}

function render() {
  const c = mon.current;
  show($('monitor'), !!c);
  if (!c) return;
  $('monitor-who').textContent = c.name;
  $('monitor-mode').textContent = modeWords[c.mode] || c.mode;
  for (const m of Object.keys(modeWords)) $(`btn-mon-${m}`).setAttribute('aria-pressed', String(c.mode === m));
}

// join listens to, whispers to or barges into the agent's call.
async function join(agent, name, mode) {
  try {
    status(`Joining ${name}'s call…`);
    await startAudio();
    const v = await api('POST', '/api/monitor', { agent, mode, board: mon.page });
    mon.current = { call: v.call, agent: v.agent, name, mode: v.mode };
    render();
    status(`On ${name}'s call: ${modeWords[v.mode]}.`);
  } catch (e) {
    status(`Cannot join ${name}'s call: ${e.message}`);
  }
}

async function leave() {
  try {
    await api('DELETE', '/api/monitor');
  } catch (e) {
    status(`Leave: ${e.message}`);
    return;
  }
  mon.current = null;
  render();
  status('You left the call.');
}

// monitorButtons are the listen/whisper/barge buttons of an agent's row:
// only for an agent talking to a caller.
export function monitorButtons(agent) {
  if (!mon.enabled || agent.state !== 'busy') return '';
  return Object.keys(modeWords).map((mode) => {
    const b = h('button', { type: 'button', 'data-monitor': agent.id, 'data-mode': mode }, mode[0].toUpperCase() + mode.slice(1));
    b.onclick = () => join(agent.id, agent.name || agent.id, mode);
    return b;
  });
}

// onMonitorMessage handles the wallboard socket's messages other than
// board snapshots.
export function onMonitorMessage(m) {
  mon.chain = mon.chain.then(async () => {
    switch (m.type) {
      case 'hello':
        mon.enabled = true;
        mon.page = m.page;
        mon.iceServers = m.iceServers || [];
        show($('monitor-help'), true);
        break;
      case 'signal':
        if (!mon.pc) break;
        if (m.signal.type === 'answer') await mon.pc.setRemoteDescription({ type: 'answer', sdp: m.signal.sdp });
        else if (m.signal.type === 'candidate' && m.signal.candidate.candidate) await mon.pc.addIceCandidate(m.signal.candidate);
        break;
      case 'monitor':
        if (mon.current && m.monitor.call === mon.current.call && !m.monitor.mode) {
          const { name } = mon.current;
          mon.current = null;
          render();
          status(`You are off ${name}'s call: ${m.monitor.reason}.`);
        }
        break;
      case 'error':
        status(`Switch: ${m.error}`);
        break;
    }
  }).catch((e) => status(`Audio: ${e.message}`));
}

// monitorSocketClosed forgets the audio, which the switch ended with the
// socket.
export function monitorSocketClosed() {
  stopAudio();
  mon.current = null;
  render();
}

for (const mode of Object.keys(modeWords)) {
  $(`btn-mon-${mode}`).onclick = () => mon.current && join(mon.current.agent, mon.current.name, mode);
}
$('btn-mon-leave').onclick = leave;
