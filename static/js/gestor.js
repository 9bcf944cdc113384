// The manager's page: roulette settings (R1, R9), departments (created, renamed, made the
// default, removed), users (gestor-users.js), lead sources' API keys (each key shown once).
import { api, me, topbar, managerNav, esc, showError, clearErrors, notice, errorText, dateTimeBR } from './api.js';
import { people, loadUsers, renderUsers } from './gestor-users.js';
import { sourceLabel } from './labels.js';

const $ = (id) => document.getElementById(id);

async function loadSettings() {
  const s = await api('GET', '/api/v1/settings/roulette');
  const f = $('settings');
  f.roulette_enabled.checked = s.roulette_enabled;
  for (const k of ['answer_seconds', 'max_missed_in_row', 'retry_pause_seconds', 'lead_number_template', 'everyone_refused']) f[k].value = s[k];
  f.fallback_broker_id.innerHTML = '<option value="">— nenhum —</option>' + people.users.filter((u) => u.role === 'broker' && u.active)
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
  people.departments = await api('GET', '/api/v1/departments');
  $('departments').innerHTML = people.departments.map((d) => `<li data-dep-row="${d.id}"><span class="name">${esc(d.name)}</span>
    ${d.is_default ? '<span class="tag">padrão</span>' : `<button class="btn small" data-default="${d.id}">Tornar padrão</button>`}
    <button class="btn small" data-rename="${d.id}">Renomear</button>
    ${d.is_default ? '' : `<button class="btn small danger" data-remove="${d.id}">Remover</button>`}</li>`).join('');
  $('u-deps').innerHTML = people.departments.map((d) => `<label class="check"><input type="checkbox" name="departments" value="${d.id}"> ${esc(d.name)}</label>`).join('');
}

function depsSay(text, bad = false) {
  const n = $('deps-notice');
  n.textContent = text;
  n.className = `form-notice notice${bad ? ' bad' : ''}`;
}

const depDialog = $('dep-dialog');
const depForm = $('edit-department');
let renaming = null;
depDialog.querySelector('[data-close]').addEventListener('click', () => depDialog.close());

$('departments').addEventListener('click', async (e) => {
  const b = e.target.closest('button');
  if (!b) return;
  const d = people.departments.find((x) => x.id === Number(b.dataset.default || b.dataset.rename || b.dataset.remove));
  if (!d) return;
  try {
    if (b.dataset.rename) {
      renaming = d;
      clearErrors(depForm);
      depForm.name.value = d.name;
      depDialog.showModal();
      depForm.name.focus();
      return;
    }
    if (b.dataset.default) {
      await api('PATCH', `/api/v1/departments/${d.id}`, { is_default: true });
      depsSay(`${d.name} é agora o departamento padrão.`);
    } else {
      const target = people.departments.find((x) => x.is_default);
      if (!confirm(`Remover o departamento ${d.name}? Os corretores deixam de fazer parte dele e os leads que aguardam atendimento vão para ${target?.name || 'o departamento padrão'}. O histórico continua mostrando o nome.`)) return;
      const out = await api('DELETE', `/api/v1/departments/${d.id}`);
      depsSay(`Departamento removido. ${out.moved_leads} lead(s) passaram para ${target?.name || 'o padrão'}; ${out.members} corretor(es) saíram dele.`);
    }
    await loadDepartments();
    await loadUsers();
  } catch (err) { depsSay(errorText(err), true); }
});

depForm.addEventListener('submit', async (e) => {
  e.preventDefault();
  clearErrors(depForm);
  if (!depForm.name.value.trim()) return showError(depForm, { field: 'name', message: 'Dê um nome ao departamento.' });
  try {
    await api('PATCH', `/api/v1/departments/${renaming.id}`, { name: depForm.name.value });
    depDialog.close();
    depsSay('Departamento renomeado.');
    await loadDepartments();
    renderUsers();
  } catch (err) { showError(depForm, err); }
});

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

async function loadKeys() {
  const keys = await api('GET', '/api/v1/api-keys');
  $('keys').innerHTML = keys.map((k) => `
    <tr><td class="cell-main">${esc(sourceLabel(k.source))}</td><td data-label="Chave"><code>${esc(k.prefix)}…</code></td>
      <td data-label="Criada">${dateTimeBR(k.created_at_ms)}</td>
      <td>${k.revoked_at_ms ? '<span class="tag">revogada</span>' : `<button class="btn small danger" data-revoke="${k.id}" aria-label="Revogar a chave ${esc(sourceLabel(k.source))}">Revogar</button>`}</td></tr>`).join('')
    || '<tr><td colspan="4" class="muted">Nenhuma chave ainda: crie uma para cada site ou portal que envia leads.</td></tr>';
}

$('keys').addEventListener('click', async (e) => {
  const b = e.target.closest('[data-revoke]');
  if (b && confirm('Revogar esta chave? A fonte deixará de enviar leads.')) {
    try {
      await api('DELETE', `/api/v1/api-keys/${b.dataset.revoke}`);
    } catch (err) { showError($('new-key'), err); }
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
$('nav').innerHTML = managerNav('/gestor.html');
topbar(user);
people.me = user;
people.onChange = loadSettings;
await loadDepartments();
await loadUsers();
await loadSettings();
await loadKeys();
document.body.dataset.ready = '1';
