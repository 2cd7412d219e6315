// Admin page: customer lookup and erasure of biometric data.
import { $, h, show, api, session, logout, setupLogin } from './common.js';

function status(m) { $('status').textContent = m; }

function card(f) {
  const erase = h('button', { class: 'danger', type: 'button' }, 'Erase biometric data');
  erase.onclick = async () => {
    if (!confirm(`Erase every voiceprint of ${f.name} (${f.id}) and withdraw consent?`)) return;
    try {
      await api('POST', `/api/admin/customers/${encodeURIComponent(f.id)}/erase-biometrics`, {});
      status(`Biometric data of ${f.id} erased.`);
    } catch (e) { status(`Erase failed: ${e.message}`); }
  };
  return h('section', {},
    h('h2', {}, `${f.name} (${f.id})`),
    h('dl', {},
      h('dt', {}, 'Segment'), h('dd', {}, f.segment || '-'),
      h('dt', {}, 'Phones'), h('dd', {}, (f.phones || []).join(', ')),
      h('dt', {}, 'Advisor'), h('dd', {}, f.preferred_advisor || '-'),
      h('dt', {}, 'Voice consent'), h('dd', {}, f.consent ? `${f.consent.method}, ${new Date(f.consent.given_at).toLocaleString()}` : 'none')),
    erase);
}

$('lookup').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  try {
    const files = await api('GET', `/api/admin/customers?q=${encodeURIComponent($('q').value.trim())}`);
    $('results').replaceChildren(...(files.length ? files.map(card) : [h('p', {}, 'No customer found.')]));
  } catch (e) { status(e.message); }
});

function enter(s) {
  show($('login'), false);
  show($('admin'), true);
  show($('me'), true);
  const role = s.agent.role || 'agent';
  $('me-name').textContent = `Logged in as ${s.agent.name} (${role}).` +
    (role === 'admin' ? '' : ' Only admins may look customers up here: log out and log in as an admin.');
}
$('btn-logout').onclick = async () => {
  try { await logout(); } catch (e) { status(`Log out: ${e.message}`); return; }
  location.reload();
};
setupLogin($('login'), enter);
session().then((s) => (s ? enter(s) : show($('login'), true))).catch((e) => status(e.message));
