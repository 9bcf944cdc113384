// The receptionist's form (A1): register a walk-in or phone client and forward them to a
// broker, or to the roulette.
import { api, me, topbar, esc, showError, clearErrors, notice } from './api.js';

const $ = (id) => document.getElementById(id);
const f = $('forward');

f.addEventListener('submit', async (e) => {
  e.preventDefault();
  clearErrors(f);
  if (!f.name.value.trim()) return showError(f, { field: 'name', message: 'Informe o nome do cliente.' });
  if (!f.phone.value.trim()) return showError(f, { field: 'phone', message: 'Informe o telefone.' });
  const body = {
    name: f.name.value, phone: f.phone.value, client_role: f.client_role.value, channel: f.channel.value,
    department: f.department.value,
  };
  for (const k of ['email', 'property_code', 'comment']) if (f[k].value.trim()) body[k] = f[k].value;
  if (f.broker_id.value) body.broker_id = Number(f.broker_id.value);
  if (f.attendance_kind.value) body.attendance_kind = f.attendance_kind.value;
  try {
    const out = await api('POST', '/api/v1/reception/clients', body);
    const to = f.broker_id.selectedOptions[0]?.textContent;
    f.reset();
    notice(f, out.broker_id ? `Cliente ${out.number} encaminhado para ${to}.` : `Cliente ${out.number} enviado para a roleta.`);
  } catch (err) { showError(f, err); }
});

const { user } = await me();
if (!['receptionist', 'manager', 'admin'].includes(user.role)) location.href = '/';
topbar(user);
if (user.role !== 'receptionist') {
  $('nav').innerHTML = '<a href="/gestor.html">Gestão</a><a href="/recepcao.html" aria-current="page">Recepção</a><a href="/painel.html">Painel</a>';
}
const [departments, users] = await Promise.all([api('GET', '/api/v1/departments'), api('GET', '/api/v1/users')]);
$('department').innerHTML = departments.map((d) => `<option value="${d.id}" ${d.is_default ? 'selected' : ''}>${esc(d.name)}</option>`).join('');
$('broker_id').innerHTML = '<option value="">Roleta (próximo corretor disponível)</option>' +
  users.filter((u) => u.role === 'broker' && u.active).map((u) => `<option value="${u.id}">${esc(u.name)}</option>`).join('');
document.body.dataset.ready = '1';
