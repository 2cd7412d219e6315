// The agent page's notice that a supervisor is heard on the call: shown
// while a supervisor whispers (only the agent hears them) or has barged
// in (the caller hears them too). Silent listening is not shown.
import { $, show } from './common.js';

export function showSupervisor(v) {
  const el = $('supervisor');
  if (!v || !v.mode) {
    el.textContent = '';
    show(el, false);
    return;
  }
  const who = v.supervisor_name || 'A supervisor';
  el.textContent = v.mode === 'whisper'
    ? `${who} is whispering to you: the caller does not hear them.`
    : `${who} has joined the call: the caller hears them too.`;
  show(el, true);
}
