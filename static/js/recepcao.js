// The receptionist's form (A1) and the lead form (L1–L4): register a walk-in or phone client
// and forward them to a broker, or to the roulette. When the phone is already a client's, the
// form offers to link the lead to them instead of registering a duplicate (L2).
import { api, me, topbar, esc, showError, clearErrors, notice, managerNav } from './api.js';

const $ = (id) => document.getElementById(id);
const f = $('forward');
let match = null; // { phone, client } from the server
let link = null; // true once the user chose to link

async function checkPhone() {
  match = null;
  link = null;
  $('phone-match').classList.add('hidden');
  if (!f.phone.value.trim()) return;
  try {
    const m = await api('GET', `/api/v1/clients/match?phone=${encodeURIComponent(f.phone.value)}`);
    if (m.client) {
      match = m;
      $('phone-match-text').textContent = `Este telefone já é do cliente ${m.client.name}${m.client.broker_name ? ` (corretor ${m.client.broker_name})` : ''}. Vincular o lead a este cliente em vez de cadastrar outro?`;
      $('phone-match').classList.remove('hidden');
    }
  } catch {
    // A phone the server cannot read is said by the submit, next to the field. Shown here, on
    // blur, the line would push the button down between a tap's press and release, and the
    // tap would be lost.
  }
}
f.phone.addEventListener('change', checkPhone);
$('link-yes').addEventListener('click', () => {
  link = true;
  $('phone-match').classList.add('hidden');
  notice(f, `O lead será vinculado a ${match.client.name}.`);
});
$('link-no').addEventListener('click', () => {
  match = null;
  link = null;
  $('phone-match').classList.add('hidden');
  f.phone.value = '';
  f.phone.focus();
});

f.addEventListener('submit', async (e) => {
  e.preventDefault();
  clearErrors(f);
  if (!f.name.value.trim()) return showError(f, { field: 'name', message: 'Informe o nome do cliente.' });
  if (!f.phone.value.trim()) return showError(f, { field: 'phone', message: 'Informe o telefone.' });
  if (match && !link) {
    $('phone-match').classList.remove('hidden');
    return showError(f, { message: 'Este telefone já é de um cliente: escolha vincular ou use outro telefone.' });
  }
  const body = {
    name: f.name.value, phone: f.phone.value, client_role: f.client_role.value, channel: f.channel.value,
    department: f.department.value,
  };
  for (const k of ['email', 'property_code', 'comment', 'ad_campaign', 'location', 'due_at']) if (f[k].value.trim()) body[k] = f[k].value;
  if (f.lead_type_id.value) body.lead_type_id = Number(f.lead_type_id.value);
  if (f.manager_id.value) body.manager_id = Number(f.manager_id.value);
  if (f.urgent.checked) body.urgent = true;
  if (link) body.link_client = true;
  if (f.broker_id.value) body.broker_id = Number(f.broker_id.value);
  if (f.attendance_kind.value) body.attendance_kind = f.attendance_kind.value;
  try {
    const out = await api('POST', '/api/v1/reception/clients', body);
    const to = f.broker_id.selectedOptions[0]?.textContent;
    f.reset();
    match = null;
    link = null;
    notice(f, out.broker_id ? `Cliente ${out.number} encaminhado para ${to}.` : `Cliente ${out.number} enviado para a roleta.`);
  } catch (err) { showError(f, err); }
});

const { user } = await me();
if (!['receptionist', 'manager', 'admin'].includes(user.role)) location.href = '/';
if (user.role !== 'receptionist') {
  $('nav').innerHTML = managerNav('/recepcao.html');
}
topbar(user);
const [departments, users, types] = await Promise.all([api('GET', '/api/v1/departments'), api('GET', '/api/v1/users'), api('GET', '/api/v1/lead-types')]);
$('lead_type_id').innerHTML = types.map((t) => `<option value="${t.id}" ${t.is_default ? 'selected' : ''}>${esc(t.name)}</option>`).join('');
$('manager_id').innerHTML = `<option value="">${esc(user.name)} (quem registra)</option>` +
  users.filter((u) => ['manager', 'admin'].includes(u.role) && u.active && u.id !== user.id).map((u) => `<option value="${u.id}">${esc(u.name)}</option>`).join('');
$('department').innerHTML = departments.map((d) => `<option value="${d.id}" ${d.is_default ? 'selected' : ''}>${esc(d.name)}</option>`).join('');
$('broker_id').innerHTML = '<option value="">Roleta (próximo corretor disponível)</option>' +
  users.filter((u) => u.role === 'broker' && u.active).map((u) => `<option value="${u.id}">${esc(u.name)}</option>`).join('');
document.body.dataset.ready = '1';
