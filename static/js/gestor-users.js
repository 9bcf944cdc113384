// The manager's users: the list (active and deactivated), a broker's departments, creating a
// user (a provisional password, shown once when the system makes it), editing, resetting a
// password (a one-time password, shown once) and deactivating / reactivating.
import { api, esc, showError, clearErrors, notice, dateBR, errorText } from './api.js';
import { ROLES, label } from './labels.js';

const $ = (id) => document.getElementById(id);
export { ROLES };

/** What the page shares: the agency's departments, its users, who is signed in. */
export const people = { departments: [], users: [], me: null, onChange: async () => {} };

function say(text, bad = false) {
  const n = $('users-notice');
  n.textContent = text;
  n.className = `form-notice notice${bad ? ' bad' : ''}`;
}

/** A password to hand over, shown once, with a button to copy it. */
function showSecret(who, password) {
  const box = $('users-secret');
  box.innerHTML = `Senha provisória de <strong>${esc(who)}</strong>: <code data-otp>${esc(password)}</code>
    <button class="btn small" type="button" data-copy>Copiar</button><br>
    <span class="u-small">Copie agora e entregue à pessoa — ela não será mostrada de novo. No primeiro acesso, a pessoa cria a própria senha.</span>`;
  box.classList.remove('hidden');
  box.querySelector('[data-copy]').addEventListener('click', async (e) => {
    try { await navigator.clipboard.writeText(password); e.target.textContent = 'Copiada'; } catch { e.target.textContent = 'Selecione e copie'; }
  });
  box.scrollIntoView({ block: 'nearest' });
}

function depBoxes(selected, attr) {
  return people.departments.map((d) => `<label class="check"><input type="checkbox" ${attr}="${d.id}" ${selected.includes(d.id) ? 'checked' : ''}> ${esc(d.name)}</label>`).join('');
}

export async function loadUsers() {
  people.users = await api('GET', '/api/v1/users');
  renderUsers();
}

export function renderUsers() {
  const meId = people.me?.id;
  $('users').innerHTML = people.users.map((u) => {
    const tags = [
      u.active ? '' : `<span class="tag bad">desativado${u.deactivated_at_ms ? ` em ${esc(dateBR(u.deactivated_at_ms))}` : ''}</span>`,
      u.active && u.must_change_password ? '<span class="tag warn">senha provisória</span>' : '',
      u.id === meId ? '<span class="tag">você</span>' : '',
    ].join(' ');
    const deps = u.role === 'broker' && u.active
      ? `${depBoxes(u.departments, 'data-dep')} <button class="btn small" data-save-deps="${u.id}">Salvar</button> <span class="muted" data-saved="${u.id}"></span>`
      : (u.role === 'broker' ? esc(people.departments.filter((d) => u.departments.includes(d.id)).map((d) => d.name).join(', ')) || '<span class="muted">—</span>' : '<span class="muted">—</span>');
    const actions = [
      `<button class="btn small" data-edit="${u.id}">Editar</button>`,
      `<button class="btn small" data-reset="${u.id}">Redefinir senha</button>`,
      u.id === meId ? '' : (u.active
        ? `<button class="btn small danger" data-deactivate="${u.id}">Desativar</button>`
        : `<button class="btn small" data-reactivate="${u.id}">Reativar</button>`),
    ].join(' ');
    return `<tr data-user="${u.id}" class="${u.active ? '' : 'inactive'}">
      <td><div class="cell-main">${esc(u.name)}</div><div class="cell-sub">${esc(u.email)}</div>${tags.trim() ? `<div>${tags}</div>` : ''}</td>
      <td data-label="Papel">${esc(label(ROLES, u.role))}</td>
      <td data-label="Departamentos"><div class="actions">${deps}</div></td>
      <td><div class="actions">${actions}</div></td>
    </tr>`;
  }).join('');
}

const userOf = (id) => people.users.find((u) => u.id === id);

async function saveDeps(id) {
  const row = $('users').querySelector(`[data-user="${id}"]`);
  const deps = [...row.querySelectorAll('[data-dep]:checked')].map((c) => Number(c.dataset.dep));
  try {
    await api('PUT', `/api/v1/users/${id}/departments`, { departments: deps });
    row.querySelector(`[data-saved="${id}"]`).textContent = 'salvo';
    userOf(id).departments = deps;
  } catch (err) { say(errorText(err), true); }
}

async function resetPassword(u) {
  if (!confirm(`Gerar uma senha provisória para ${u.name}? A pessoa é desconectada de todos os aparelhos e, ao entrar com ela, cria uma senha nova.`)) return;
  try {
    const out = await api('POST', `/api/v1/users/${u.id}/password-reset`);
    showSecret(u.name, out.one_time_password);
    await loadUsers();
  } catch (err) { say(errorText(err), true); }
}

async function setActive(u, active) {
  if (!active && !confirm(`Desativar ${u.name}? A pessoa é desconectada na hora e não consegue mais entrar; uma oferta em aberto vai para o próximo corretor. O histórico e os clientes ficam guardados, e você pode reativar depois.`)) return;
  try {
    await api('POST', `/api/v1/users/${u.id}/${active ? 'reactivate' : 'deactivate'}`);
    say(active ? `${u.name} foi reativado(a) e já pode entrar.` : `${u.name} foi desativado(a).`);
    await loadUsers();
    await people.onChange();
  } catch (err) { say(errorText(err), true); }
}

// ---------- the edit dialog ----------
const dialog = $('user-dialog');
const edit = $('edit-user');
let editing = null;

function syncDepsBox() {
  $('e-deps-box').classList.toggle('hidden', edit.role.value !== 'broker');
}

function openEdit(u) {
  editing = u;
  clearErrors(edit);
  edit.name.value = u.name;
  edit.email.value = u.email;
  edit.role.value = u.role;
  // Only an admin makes an admin (the server says so too).
  edit.role.querySelector('option[value="admin"]').disabled = people.me?.role !== 'admin' && u.role !== 'admin';
  $('e-deps').innerHTML = depBoxes(u.departments, 'data-edep');
  $('e-role-hint').textContent = u.role === 'broker' ? 'Deixando de ser corretor, sai dos departamentos e da roleta na hora.' : '';
  syncDepsBox();
  dialog.showModal();
  edit.name.focus();
}

edit.role.addEventListener('change', syncDepsBox);
dialog.querySelector('[data-close]').addEventListener('click', () => dialog.close());

edit.addEventListener('submit', async (e) => {
  e.preventDefault();
  clearErrors(edit);
  if (!edit.name.value.trim()) return showError(edit, { field: 'name', message: 'Informe o nome.' });
  const body = { name: edit.name.value, email: edit.email.value, role: edit.role.value };
  if (body.role === 'broker') body.departments = [...edit.querySelectorAll('[data-edep]:checked')].map((c) => Number(c.dataset.edep));
  try {
    await api('PATCH', `/api/v1/users/${editing.id}`, body);
    dialog.close();
    say('Usuário salvo.');
    await loadUsers();
    await people.onChange();
  } catch (err) { showError(edit, err); }
});

$('users').addEventListener('click', (e) => {
  const b = e.target.closest('button');
  if (!b) return;
  const id = Number(b.dataset.saveDeps || b.dataset.edit || b.dataset.reset || b.dataset.deactivate || b.dataset.reactivate);
  const u = userOf(id);
  if (!u) return;
  if (b.dataset.saveDeps) saveDeps(id);
  else if (b.dataset.edit) openEdit(u);
  else if (b.dataset.reset) resetPassword(u);
  else if (b.dataset.deactivate) setActive(u, false);
  else if (b.dataset.reactivate) setActive(u, true);
});

// ---------- a new user ----------
$('new-user').addEventListener('submit', async (e) => {
  e.preventDefault();
  const f = e.target;
  clearErrors(f);
  const body = {
    name: f.name.value, email: f.email.value, role: f.role.value,
    departments: f.role.value === 'broker' ? [...f.querySelectorAll('[name="departments"]:checked')].map((c) => Number(c.value)) : [],
  };
  if (f.password.value) body.password = f.password.value;
  if (!body.name.trim()) return showError(f, { field: 'name', message: 'Informe o nome.' });
  try {
    const out = await api('POST', '/api/v1/users', body);
    f.reset();
    notice(f, `Usuário criado. ${out.one_time_password ? 'A senha provisória está acima da lista.' : 'No primeiro acesso, a pessoa troca a senha que você definiu.'}`);
    if (out.one_time_password) showSecret(body.name, out.one_time_password);
    await loadUsers();
    await people.onChange();
  } catch (err) { showError(f, err); }
});
