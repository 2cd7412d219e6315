// Shared helpers of the voxdesk pages: the login session, JSON requests
// carrying the CSRF token, the WebSocket URL, and DOM building from text
// nodes (text from the switch is never parsed as markup).

let csrf = '';

// api sends a JSON request to the switch and returns the decoded reply;
// it throws an Error with the switch's message on failure.
export async function api(method, path, body) {
  const opts = { method, headers: {}, credentials: 'same-origin' };
  if (body !== undefined) {
    opts.headers['Content-Type'] = 'application/json';
    opts.body = JSON.stringify(body);
  }
  if (csrf && method !== 'GET') opts.headers['X-CSRF-Token'] = csrf;
  const res = await fetch(path, opts);
  let data = null;
  try { data = await res.json(); } catch { data = null; }
  if (!res.ok) {
    const err = new Error((data && data.error) || `${res.status} ${res.statusText}`);
    err.status = res.status;
    throw err;
  }
  return data;
}

// session returns {agent, csrf} when logged in, or null.
export async function session() {
  try {
    const s = await api('GET', '/api/session');
    csrf = s.csrf;
    return s;
  } catch (e) {
    if (e.status === 401) return null;
    throw e;
  }
}

export async function login(user, password) {
  const s = await api('POST', '/api/login', { user, password });
  csrf = s.csrf;
  return s;
}

export async function logout() {
  await api('POST', '/api/logout', {});
  csrf = '';
}

export function wsURL(path) {
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${proto}//${location.host}${path}`;
}

export const $ = (id) => document.getElementById(id);

// h builds an element: h('p', {class: 'x'}, 'text', child...).
export function h(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

export function show(el, visible) { el.hidden = !visible; }

export function fmtSeconds(s) {
  s = Math.max(0, Math.round(s));
  const m = Math.floor(s / 60);
  if (!m) return `${s} s`;
  return s % 60 ? `${m} min ${s % 60} s` : `${m} min`;
}

// setupLogin fills the page's empty login form and wires it; onLoggedIn
// receives the session.
export function setupLogin(form, onLoggedIn) {
  const errorEl = h('p', { id: 'login-error', class: 'error', role: 'alert' });
  form.replaceChildren(
    h('h2', {}, form.dataset.title || 'Log in'),
    h('label', { for: 'login-user' }, 'User name'),
    h('input', { id: 'login-user', name: 'user', autocomplete: 'username', required: true }),
    h('label', { for: 'login-pass' }, 'Password'),
    h('input', { id: 'login-pass', name: 'password', type: 'password', autocomplete: 'current-password', required: true }),
    h('p', {}, h('button', { id: 'login-submit', class: 'primary', type: 'submit' }, 'Log in')),
    errorEl);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    errorEl.textContent = '';
    const fd = new FormData(form);
    try {
      const s = await login(fd.get('user'), fd.get('password'));
      form.reset();
      onLoggedIn(s);
    } catch (e) {
      errorEl.textContent = e.message;
    }
  });
}
