// Sign-in: sets the session cookie, then sends each role to its page. Someone who signed in
// with a provisional password (a new user, a manager's reset) first chooses their own.
import { api, homeFor, showError, clearErrors, notice } from './api.js';

const form = document.getElementById('login');
const change = document.getElementById('change');
let home = '/';

/** Why the broker console sent us here (a WebSocket close, docs/PROTOCOL.md). */
const REASONS = {
  desativada: 'Sua conta foi desativada. Fale com o gestor da sua imobiliária.',
  sessao: 'Sua sessão foi encerrada. Entre novamente.',
  suspensa: 'O acesso da sua imobiliária está suspenso. Fale com o gestor.',
};
const why = REASONS[new URLSearchParams(location.search).get('motivo')];
if (why) {
  const n = form.querySelector('.form-notice');
  n.textContent = why;
  n.className = 'form-notice notice bad';
}

/** The change-password step; `current` is the password just typed, when there is one. */
function askForNewPassword(user, current) {
  home = homeFor(user.role);
  form.classList.add('hidden');
  change.classList.remove('hidden');
  document.getElementById('current-field').classList.toggle('hidden', Boolean(current));
  change.current_password.value = current || '';
  (current ? change.new_password : change.current_password).focus();
}

// Already signed in? Go straight to work (or to the new password first).
api('GET', '/api/v1/me').then((m) => {
  if (m.user.must_change_password) askForNewPassword(m.user, '');
  else location.href = homeFor(m.user.role);
}).catch(() => {});

form.addEventListener('submit', async (e) => {
  e.preventDefault();
  clearErrors(form);
  const email = form.email.value.trim();
  const password = form.password.value;
  if (!email) return showError(form, { field: 'email', message: 'Informe o e-mail.' });
  if (!password) return showError(form, { field: 'password', message: 'Informe a senha.' });
  try {
    const out = await api('POST', '/api/v1/auth/login', { email, password });
    if (out.user.must_change_password) askForNewPassword(out.user, password);
    else location.href = homeFor(out.user.role);
  } catch (err) {
    showError(form, err.status === 401 ? { message: 'E-mail ou senha incorretos.' } : err);
  }
});

change.addEventListener('submit', async (e) => {
  e.preventDefault();
  clearErrors(change);
  const current = change.current_password.value;
  const next = change.new_password.value;
  if (!current) return showError(change, { field: 'current_password', message: 'Informe a senha provisória.' });
  if (next.length < 8) return showError(change, { field: 'new_password', message: 'A senha precisa ter pelo menos 8 caracteres.' });
  if (next !== change.confirm_password.value) {
    return showError(change, { field: 'confirm_password', message: 'As duas senhas não são iguais.' });
  }
  try {
    await api('PUT', '/api/v1/me/password', { current_password: current, new_password: next });
    notice(change, 'Senha criada. Entrando…');
    location.href = home;
  } catch (err) {
    // A wrong provisional password typed at sign-in cannot happen; typed here, show its field.
    if (err.field === 'current_password') document.getElementById('current-field').classList.remove('hidden');
    showError(change, err);
  }
});

document.getElementById('change-logout').addEventListener('click', async () => {
  try { await api('POST', '/api/v1/auth/logout'); } finally { location.href = '/'; }
});
