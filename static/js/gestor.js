// The manager's page: roulette settings (R1, R9), departments, users and their departments,
// lead sources' API keys (each key shown once).
import { api, me, topbar, esc, showError, clearErrors, notice } from './api.js';

const $ = (id) => document.getElementById(id);
const ROLES = { broker: 'Corretor', receptionist: 'Recepção', manager: 'Gestor', admin: 'Administrador', ops: 'Operação' };
let departments = [];
let users = [];

async function loadSettings() {
  const s = await api('GET', '/api/v1/settings/roulette');
  const f = $('settings');
  f.roulette_enabled.checked = s.roulette_enabled;
  for (const k of ['answer_seconds', 'max_missed_in_row', 'retry_pause_seconds', 'lead_number_template', 'everyone_refused']) f[k].value = s[k];
  f.fallback_broker_id.innerHTML = '<option value="">— nenhum —</option>' + users.filter((u) => u.role === 'broker')
    .map((u) => `<option value="${u.id}">${esc(u.name)}</option>`).join('');
  f.fallback_broker_id.value = s.fallback_broker_id ?? '';
}

$('settings').addEventListener('submit', async (e) => {
  e.preventDefault();
  const f = e.target;
  clearErrors(f);
  const body = {
    roulette_enabled: f.roulette_enabled.checked,
    answer_seconds: Number(f.answer_seconds.value),
    max_missed_in_row: Number(f.max_missed_in_row.value),
    everyone_refused: f.everyone_refused.value,
    retry_pause_seconds: Number(f.retry_pause_seconds.value),
    lead_number_template: f.lead_number_template.value,
  };
  if (f.fallback_broker_id.value) body.fallback_broker_id = Number(f.fallback_broker_id.value);
  try {
    await api('PUT', '/api/v1/settings/roulette', body);
    notice(f, 'Configurações salvas. Valem a partir da próxima oferta.');
  } catch (err) { showError(f, err); }
});

async function loadDepartments() {
  departments = await api('GET', '/api/v1/departments');
  $('departments').innerHTML = departments.map((d) => `<li>${esc(d.name)}${d.is_default ? ' <span class="tag">padrão</span>' : ''}</li>`).join('');
  $('u-deps').innerHTML = departments.map((d) => `<label class="check"><input type="checkbox" name="departments" value="${d.id}"> ${esc(d.name)}</label>`).join('');
}

$('new-department').addEventListener('submit', async (e) => {
  e.preventDefault();
  const f = e.target;
  clearErrors(f);
  if (!f.name.value.trim()) return showError(f, { field: 'name', message: 'Dê um nome ao departamento.' });
  try {
    await api('POST', '/api/v1/departments', { name: f.name.value, is_default: f.is_default.checked });
    f.reset();
    notice(f, 'Departamento criado.');
    await loadDepartments();
    renderUsers();
  } catch (err) { showError(f, err); }
});

async function loadUsers() {
  users = await api('GET', '/api/v1/users');
  renderUsers();
}

function renderUsers() {
  $('users').innerHTML = users.map((u) => `
    <tr data-user="${u.id}">
      <td><div class="cell-main">${esc(u.name)}</div><div class="cell-sub">${esc(u.email)}</div></td>
      <td>${esc(ROLES[u.role] || u.role)}</td>
      <td>${u.role === 'broker' ? departments.map((d) => `<label class="check"><input type="checkbox" data-dep="${d.id}" ${u.departments.includes(d.id) ? 'checked' : ''}> ${esc(d.name)}</label>`).join('') : '<span class="muted">—</span>'}</td>
      <td>${u.role === 'broker' ? `<button class="btn small" data-save-deps="${u.id}">Salvar</button> <span class="muted" data-saved="${u.id}"></span>` : ''}</td>
    </tr>`).join('');
}

$('users').addEventListener('click', async (e) => {
  const b = e.target.closest('[data-save-deps]');
  if (!b) return;
  const id = Number(b.dataset.saveDeps);
  const row = $('users').querySelector(`[data-user="${id}"]`);
  const deps = [...row.querySelectorAll('[data-dep]:checked')].map((c) => Number(c.dataset.dep));
  await api('PUT', `/api/v1/users/${id}/departments`, { departments: deps });
  row.querySelector(`[data-saved="${id}"]`).textContent = 'salvo';
  users.find((u) => u.id === id).departments = deps;
});

$('new-user').addEventListener('submit', async (e) => {
  e.preventDefault();
  const f = e.target;
  clearErrors(f);
  const body = {
    name: f.name.value, email: f.email.value, role: f.role.value, password: f.password.value,
    departments: [...f.querySelectorAll('[name="departments"]:checked')].map((c) => Number(c.value)),
  };
  if (!body.name.trim()) return showError(f, { field: 'name', message: 'Informe o nome.' });
  try {
    await api('POST', '/api/v1/users', body);
    f.reset();
    notice(f, 'Usuário criado.');
    await loadUsers();
    await loadSettings();
  } catch (err) { showError(f, err); }
});

async function loadKeys() {
  const keys = await api('GET', '/api/v1/api-keys');
  $('keys').innerHTML = keys.map((k) => `
    <tr><td class="cell-main">${esc(k.source)}</td><td><code>${esc(k.prefix)}…</code></td>
      <td>${new Date(k.created_at_ms).toLocaleString('pt-BR')}</td>
      <td>${k.revoked_at_ms ? '<span class="tag">revogada</span>' : `<button class="btn small danger" data-revoke="${k.id}">Revogar</button>`}</td></tr>`).join('');
}

$('keys').addEventListener('click', async (e) => {
  const b = e.target.closest('[data-revoke]');
  if (b && confirm('Revogar esta chave? A fonte deixará de enviar leads.')) {
    await api('DELETE', `/api/v1/api-keys/${b.dataset.revoke}`);
    loadKeys();
  }
});

$('new-key').addEventListener('submit', async (e) => {
  e.preventDefault();
  const f = e.target;
  clearErrors(f);
  if (!f.source.value.trim()) return showError(f, { field: 'source', message: 'Informe o nome da fonte.' });
  try {
    const out = await api('POST', '/api/v1/api-keys', { source: f.source.value });
    const box = $('new-key-secret');
    box.textContent = `Copie agora — esta chave não será mostrada de novo: ${out.key}`;
    box.classList.remove('hidden');
    f.reset();
    loadKeys();
  } catch (err) { showError(f, err); }
});

const { user } = await me();
if (!['manager', 'admin'].includes(user.role)) location.href = '/';
topbar(user);
await loadDepartments();
await loadUsers();
await loadSettings();
await loadKeys();
document.body.dataset.ready = '1';
