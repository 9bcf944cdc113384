// Sign-in: sets the session cookie, then sends each role to its page.
import { api, homeFor, showError, clearErrors } from './api.js';

const form = document.getElementById('login');

// Already signed in? Go straight to work.
api('GET', '/api/v1/me').then((m) => { location.href = homeFor(m.user.role); }).catch(() => {});

form.addEventListener('submit', async (e) => {
  e.preventDefault();
  clearErrors(form);
  const email = form.email.value.trim();
  const password = form.password.value;
  if (!email) return showError(form, { field: 'email', message: 'Informe o e-mail.' });
  if (!password) return showError(form, { field: 'password', message: 'Informe a senha.' });
  try {
    const out = await api('POST', '/api/v1/auth/login', { email, password });
    location.href = homeFor(out.user.role);
  } catch (err) {
    showError(form, err.status === 401 ? { message: 'E-mail ou senha incorretos.' } : err);
  }
});
