// The manager's lead page: the lead list with status changes and the overdue badge (L1, L4),
// lead types (L1), who is notified (L6), the marketing (L3) and contact (T4) reports.
import { api, me, topbar, bell, managerNav, esc, howLong, dateBR, showError, clearErrors, notice, errorText } from './api.js';
import { EVENTS, RECIPIENTS, label, sourceLabel } from './labels.js';

const $ = (id) => document.getElementById(id);

function dueCell(l) {
  if (l.overdue_ms != null) return `<span class="badge overdue" data-overdue>Atrasado há ${howLong(l.overdue_ms)}</span>`;
  return l.due_at_ms ? `até ${dateBR(l.due_at_ms)}` : '—';
}

async function loadLeads() {
  const q = new URLSearchParams();
  if ($('only-overdue').checked) q.set('overdue', 'true');
  if ($('only-urgent').checked) q.set('urgent', 'true');
  const leads = await api('GET', `/api/v1/leads?${q}`);
  $('leads').innerHTML = leads.map((l) => `<tr data-lead="${l.id}">
    <td><div class="cell-main">${esc(l.number)} ${l.urgent ? '<span class="badge urgent">URGENTE</span>' : ''}</div><div class="cell-sub">${esc(sourceLabel(l.source))}</div></td>
    <td data-label="Cliente">${esc(l.client_name)}</td>
    <td data-label="Tipo e status"><div class="cell-sub">${esc(l.type_name || '')}</div>
      <select data-status="${l.id}" aria-label="Status do lead ${esc(l.number)}">
        <option value="">${esc(l.status || '—')}</option>${l.next_statuses.map((s) => `<option value="${esc(s)}">→ ${esc(s)}</option>`).join('')}
      </select></td>
    <td data-label="Prazo">${dueCell(l)}</td><td data-label="Campanha de anúncio">${esc(l.ad_campaign || '')}</td><td data-label="Local">${esc(l.location || '')}</td>
    <td data-label="Corretor">${esc(l.broker_name || '—')}</td><td data-label="Responsável">${esc(l.manager_name || '—')}</td>
    <td><button class="btn small" data-edit="${l.id}" aria-label="Editar o lead ${esc(l.number)}">Editar</button></td></tr>`).join('')
    || '<tr><td colspan="9" class="muted">Nenhum lead.</td></tr>';
  shown = leads;
}

// L3, L4 on an existing lead: due date, urgent, location, ad campaign, responsible manager.
let shown = [];
let editing = null;
const localInput = (ms) => ms == null ? '' : new Date(ms - 3 * 3600000).toISOString().slice(0, 16); // Brasília time
$('leads').addEventListener('click', (e) => {
  const id = e.target.closest('[data-edit]')?.dataset.edit;
  if (!id) return;
  editing = shown.find((l) => l.id === Number(id));
  const f = $('pipeline');
  clearErrors(f);
  $('pl-number').textContent = editing.number;
  f.due_at.value = localInput(editing.due_at_ms);
  f.clear_due.checked = false;
  f.urgent.checked = !!editing.urgent;
  f.location.value = editing.location || '';
  f.ad_campaign.value = editing.ad_campaign || '';
  f.manager_id.value = editing.manager_id ?? '';
  $('pipeline-dialog').showModal();
});
$('pl-cancel').addEventListener('click', () => $('pipeline-dialog').close());
$('pipeline').addEventListener('submit', async (e) => {
  e.preventDefault();
  const f = e.target;
  clearErrors(f);
  const body = { urgent: f.urgent.checked, clear_due: f.clear_due.checked };
  if (!f.clear_due.checked && f.due_at.value) body.due_at = f.due_at.value;
  for (const k of ['location', 'ad_campaign']) if (f[k].value.trim()) body[k] = f[k].value;
  if (f.manager_id.value) body.manager_id = Number(f.manager_id.value);
  try {
    await api('POST', `/api/v1/leads/${editing.id}/pipeline`, body);
    $('pipeline-dialog').close();
    await loadLeads();
  } catch (err) { showError(f, err); }
});
$('only-overdue').addEventListener('change', loadLeads);
$('only-urgent').addEventListener('change', loadLeads);

$('leads').addEventListener('change', async (e) => {
  const id = e.target.dataset.status;
  if (!id || !e.target.value) return;
  const n = $('leads-notice');
  try {
    const l = await api('POST', `/api/v1/leads/${id}/status`, { status: e.target.value });
    n.textContent = `Lead ${l.number} agora está em “${l.status}”.`;
    n.className = 'form-notice notice';
  } catch (err) { n.textContent = errorText(err); n.className = 'form-notice notice bad'; }
  await loadLeads();
});

async function loadTypes() {
  const types = await api('GET', '/api/v1/lead-types');
  $('types').innerHTML = types.map((t) => `<div class="card u-my-5" data-type="${esc(t.name)}">
    <div class="cell-main">${esc(t.name)} ${t.is_default ? '<span class="tag">padrão</span>' : ''}</div>
    <div class="cell-sub">Status: ${t.statuses.map((s) => `${s.name === t.initial_status ? '<b>' : ''}${esc(s.name)}${s.name === t.initial_status ? '</b> (inicial)' : ''}${s.is_final ? ' (final)' : ''}`).join(' · ')}</div>
    <div class="cell-sub">Transições: ${t.transitions.map((x) => `${esc(x.from)} → ${esc(x.to)}`).join(' · ') || 'nenhuma'}</div></div>`).join('');
}

$('new-type').addEventListener('submit', async (e) => {
  e.preventDefault();
  const f = e.target;
  clearErrors(f);
  const statuses = f.statuses.value.split('\n').map((s) => s.trim()).filter(Boolean)
    .map((s) => ({ name: s.replace(/\*$/, '').trim(), is_final: s.endsWith('*') }));
  const transitions = f.transitions.value.split('\n').map((s) => s.trim()).filter(Boolean).map((s) => {
    const [from, to] = s.split('>').map((x) => (x || '').trim());
    return { from, to };
  });
  try {
    await api('POST', '/api/v1/lead-types', { name: f.name.value, initial_status: statuses[0]?.name || '', statuses, transitions });
    f.reset();
    notice(f, 'Tipo criado.');
    await loadTypes();
  } catch (err) { showError(f, err); }
});

async function loadRules() {
  const r = await api('GET', '/api/v1/settings/notifications');
  const on = new Set(r.rules.map((x) => `${x.event}|${x.recipient}`));
  const who = (p) => label(RECIPIENTS, p, 'Outro destinatário');
  const what = (ev) => label(EVENTS, ev, 'Outro evento');
  $('rules-head').innerHTML = `<tr><th>Evento</th>${r.recipients.map((p) => `<th>${esc(who(p))}</th>`).join('')}</tr>`;
  $('rules-body').innerHTML = r.events.map((ev) => `<tr><td class="cell-main">${esc(what(ev))}</td>${r.recipients.map((p) =>
    `<td><label class="check"><input type="checkbox" name="rule" value="${ev}|${p}" aria-label="${esc(what(ev))}: ${esc(who(p))}" ${on.has(`${ev}|${p}`) ? 'checked' : ''}><span class="phone-only">${esc(who(p))}</span></label></td>`).join('')}</tr>`).join('');
}

$('rules').addEventListener('submit', async (e) => {
  e.preventDefault();
  const f = e.target;
  clearErrors(f);
  const rules = [...f.querySelectorAll('input[name="rule"]:checked')].map((i) => { const [event, recipient] = i.value.split('|'); return { event, recipient }; });
  try {
    await api('PUT', '/api/v1/settings/notifications', { rules });
    notice(f, 'Notificações salvas.');
  } catch (err) { showError(f, err); }
});

const pct = (a, b) => (b ? `${Math.round((100 * a) / b)}%` : '—');
const row = (name, c) => `<td data-label="Alto interesse">${c.high_interest}</td><td data-label="Pediu informações">${c.asked_info}</td>
  <td data-label="Baixo interesse">${c.low_interest}</td><td data-label="Não atendeu">${c.no_answer}</td><td data-label="Sem interesse">${c.no_interest}</td>
  <td data-label="Contatos em leads">${c.lead_contacts}</td><td data-label="Total"><b>${c.total}</b></td>`;

async function loadReports() {
  const f = $('period');
  clearErrors(f);
  const q = new URLSearchParams();
  if (f.from.value) q.set('from', f.from.value);
  if (f.to.value) q.set('to', f.to.value);
  try {
    const [m, c] = await Promise.all([api('GET', `/api/v1/reports/marketing?${q}`), api('GET', `/api/v1/reports/contacts?${q}`)]);
    $('marketing').innerHTML = m.map((r) => `<tr data-ad="${esc(r.ad_campaign)}"><td class="cell-main">${esc(r.ad_campaign || '(sem campanha)')}</td><td data-label="Origem">${esc(sourceLabel(r.source))}</td>
      <td data-k="leads" data-label="Leads">${r.leads}</td><td data-k="accepted" data-label="Atendidos">${r.accepted}</td><td data-k="concluded" data-label="Concluídos">${r.concluded}</td><td data-label="Conversão">${pct(r.concluded, r.leads)}</td></tr>`).join('')
      || '<tr><td colspan="6" class="muted">Nenhum lead no período.</td></tr>';
    $('contacts').innerHTML = c.brokers.map((b) => `<tr data-broker="${esc(b.broker_name)}"><td class="cell-main">${esc(b.broker_name)}</td>${row(b.broker_name, b)}</tr>`).join('')
      || '<tr><td colspan="8" class="muted">Nenhum contato no período.</td></tr>';
    $('team-contacts').innerHTML = c.teams.map((t) => `<tr data-team="${esc(t.team_name)}"><td class="cell-main">${esc(t.team_name)}</td>${row(t.team_name, t.totals)}</tr>`).join('')
      || '<tr><td colspan="8" class="muted">Nenhuma equipe.</td></tr>';
  } catch (err) { showError(f, err); }
}
$('period').addEventListener('submit', (e) => { e.preventDefault(); loadReports(); });

const { user } = await me();
if (!['manager', 'admin'].includes(user.role)) location.href = '/';
$('nav').innerHTML = managerNav('/leads.html');
topbar(user);
const users = await api('GET', '/api/v1/users');
$('pl-manager').innerHTML = '<option value="">—</option>' + users.filter((u) => ['manager', 'admin'].includes(u.role) && u.active)
  .map((u) => `<option value="${u.id}">${esc(u.name)}</option>`).join('');
await Promise.all([loadLeads(), loadTypes(), loadRules(), loadReports()]);
bell().catch(() => {});
document.body.dataset.ready = '1';
