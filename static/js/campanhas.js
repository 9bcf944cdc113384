// The manager's campaigns page: the active-offer switch and quarantine (O6, O3), campaigns (O1),
// adding clients from a search with the server's preview (O2), teams (T1) and distribution (T2).
import { api, me, topbar, bell, managerNav, esc, phoneHtml, dateBR, showError, clearErrors, notice, errorText, ApiError } from './api.js';
import { sourceLabel } from './labels.js';

const $ = (id) => document.getElementById(id);
let users = [];
let campaigns = [];
let teams = [];
let current = null; // the campaign clients are being added to
let lastFilter = {};
let lastPreview = null;

const brokers = () => users.filter((u) => u.role === 'broker' && u.active);
const checks = (name, list) => list.map((u) => `<label class="check"><input type="checkbox" name="${name}" value="${u.id}"> ${esc(u.name)}</label>`).join('');
const checked = (root, name) => [...root.querySelectorAll(`input[name="${name}"]:checked`)].map((i) => Number(i.value));

async function loadSettings() {
  const s = await api('GET', '/api/v1/settings/crm');
  const f = $('crm-settings');
  f.active_offer_enabled.checked = s.active_offer_enabled;
  f.quarantine_days.value = s.quarantine_days;
  $('campaigns-card').classList.toggle('hidden', !s.active_offer_enabled);
  return s;
}

$('crm-settings').addEventListener('submit', async (e) => {
  e.preventDefault();
  const f = e.target;
  clearErrors(f);
  try {
    const s = await api('PUT', '/api/v1/settings/crm', { active_offer_enabled: f.active_offer_enabled.checked, quarantine_days: Number(f.quarantine_days.value) });
    notice(f, 'Configurações salvas.');
    $('campaigns-card').classList.toggle('hidden', !s.active_offer_enabled);
    if (s.active_offer_enabled) await loadCampaigns();
  } catch (err) { showError(f, err); }
});

async function loadCampaigns() {
  campaigns = await api('GET', '/api/v1/campaigns');
  $('campaigns').innerHTML = campaigns.map((k) => `<tr data-campaign="${esc(k.name)}">
    <td><div class="cell-main">${esc(k.name)}</div><div class="cell-sub">${esc(k.development || '')}</div></td>
    <td data-label="Validade">${dateBR(k.expires_at_ms)} ${k.expired ? '<span class="tag">vencida</span>' : ''}</td>
    <td data-label="Corretores">${k.brokers.map((b) => esc(b.name)).join(', ')}</td>
    <td data-k="queued" data-label="Na fila">${k.queued}</td><td data-k="held" data-label="Em atendimento">${k.held}</td>
    <td data-k="done" data-label="Positivos">${k.done}</td><td data-k="inactive" data-label="Negativos">${k.inactive}</td>
    <td class="actions">${k.expired ? '' : `<button class="btn small" data-add="${k.id}">Adicionar clientes</button>`}
      ${k.held ? `<button class="btn small" data-release="${k.id}" title="Devolve à fila os clientes que os corretores guardaram">Liberar guardados</button>` : ''}</td></tr>`).join('')
    || '<tr><td colspan="8" class="muted">Nenhuma campanha ainda.</td></tr>';
  const chosen = $('add-campaign').value;
  $('add-campaign').innerHTML = campaigns.filter((k) => !k.expired).map((k) => `<option value="${k.id}">${esc(k.name)}</option>`).join('');
  if (chosen) $('add-campaign').value = chosen;
  fillTargets();
}

$('campaigns').addEventListener('click', async (e) => {
  const release = e.target.closest('[data-release]')?.dataset.release;
  if (release) {
    if (!window.confirm('Devolver à fila os clientes guardados pelos corretores? Quem estiver numa ligação não poderá salvá-la.')) return;
    try { await api('POST', `/api/v1/campaigns/${release}/release`); } catch (err) { window.alert(errorText(err)); }
    await loadCampaigns();
    return;
  }
  const id = e.target.closest('[data-add]')?.dataset.add;
  if (!id) return;
  current = campaigns.find((k) => k.id === Number(id));
  $('add-campaign').value = String(current.id);
  $('preview').classList.add('hidden');
  $('add-panel').scrollIntoView();
});

$('new-campaign').addEventListener('submit', async (e) => {
  e.preventDefault();
  const f = e.target;
  clearErrors(f);
  const body = { name: f.name.value, expires_at: f.expires_at.value, brokers: checked(f, 'brokers') };
  if (f.development.value.trim()) body.development = f.development.value;
  if (f.description.value.trim()) body.description = f.description.value;
  try {
    const k = await api('POST', '/api/v1/campaigns', body);
    f.reset();
    notice(f, `Campanha “${k.name}” criada.`);
    await loadCampaigns();
  } catch (err) { showError(f, err); }
});

function filterFrom(f) {
  const out = {};
  for (const k of ['q', 'phone', 'source', 'status']) if (f[k].value.trim()) out[k] = f[k].value.trim();
  for (const k of ['has_broker', 'in_campaign', 'quarantine']) if (f[k].value) out[k] = f[k].value === 'true';
  const day = (v, end) => new Date(`${v}T${end ? '23:59:59.999' : '00:00:00'}-03:00`).getTime();
  if (f.created_from.value) out.created_from_ms = day(f.created_from.value, false);
  if (f.created_to.value) out.created_to_ms = day(f.created_to.value, true) + 1;
  return out;
}

$('search').addEventListener('submit', async (e) => {
  e.preventDefault();
  const f = e.target;
  clearErrors(f);
  lastFilter = filterFrom(f);
  try {
    const page = await api('POST', '/api/v1/clients/search', { filter: lastFilter, limit: 200 });
    $('results').innerHTML = page.clients.map((c) => `<tr><td><label class="check"><input type="checkbox" name="pick" value="${c.id}" aria-label="Selecionar ${esc(c.name)}"><span class="phone-only cell-main">${esc(c.name)}</span></label></td>
      <td class="cell-main phone-hide">${esc(c.name)}</td><td data-label="Telefone">${phoneHtml(c.phone)}</td><td data-label="Corretor">${esc(c.broker_name || '—')}</td><td data-label="Cadastro">${dateBR(c.created_at_ms)}</td>
      <td>${c.worked_at_ms ? '<span class="tag" data-worked>já trabalhado</span>' : ''}</td></tr>`).join('')
      || '<tr><td colspan="6" class="muted">Nenhum cliente encontrado.</td></tr>';
    notice(f, `${page.clients.length}${page.next_before ? '+' : ''} cliente(s) encontrados.`);
    countChecked();
  } catch (err) { showError(f, err); }
});

function countChecked() { $('checked-count').textContent = checked($('results'), 'pick').length; }
$('results').addEventListener('change', countChecked);
$('all').addEventListener('change', (e) => {
  $('results').querySelectorAll('input[name="pick"]').forEach((i) => { i.checked = e.target.checked; });
  countChecked();
});

function selection() {
  const mode = document.querySelector('input[name="selmode"]:checked').value;
  return mode === 'ids' ? { ids: checked($('results'), 'pick') } : { search: { filter: lastFilter, limit: Number($('first-n').value) } };
}

function showPreview(p) {
  lastPreview = { preview: p, selection: selection() };
  const box = $('preview');
  box.classList.remove('hidden');
  for (const k of ['selected', 'in_quarantine', 'already_in_campaign', 'to_add', 'active_clients']) box.querySelector(`[data-p="${k}"]`).textContent = p[k];
  $('p-campaign').textContent = `${p.campaign.name} · válida até ${dateBR(p.campaign.expires_at_ms)} · corretores: ${p.campaign.brokers.map((b) => b.name).join(', ')}`;
  $('p-route').classList.toggle('hidden', p.active_clients === 0);
  $('p-outside-box').classList.toggle('hidden', p.outside_brokers.length === 0);
  $('p-outside').innerHTML = p.outside_brokers.map((b) => `<label class="check"><input type="checkbox" name="outside" value="${b.id}"> Adicionar ${esc(b.name)} (${b.clients} cliente${b.clients === 1 ? '' : 's'})</label>`).join('');
  $('confirm').disabled = p.to_add === 0;
}

async function markWorked(worked) {
  const ids = checked($('results'), 'pick');
  const n = $('worked-notice');
  if (!ids.length) { n.textContent = 'Marque os clientes primeiro.'; n.className = 'form-notice notice bad'; return; }
  try {
    const out = await api('POST', '/api/v1/clients/worked', { client_ids: ids, worked });
    n.textContent = worked ? `${out.changed} cliente(s) marcados como já trabalhados.` : `${out.changed} cliente(s) voltam às distribuições.`;
    n.className = 'form-notice notice';
    $('search').requestSubmit();
  } catch (err) { n.textContent = errorText(err); n.className = 'form-notice notice bad'; }
}
$('mark-worked').addEventListener('click', () => markWorked(true));
$('unmark-worked').addEventListener('click', () => markWorked(false));

async function preview() {
  current = campaigns.find((k) => k.id === Number($('add-campaign').value));
  const n = $('preview').querySelector('.form-notice');
  if (!current) { $('preview').classList.remove('hidden'); n.textContent = 'Escolha uma campanha.'; n.className = 'form-notice notice bad'; return; }
  n.className = 'form-notice hidden';
  try {
    showPreview(await api('POST', `/api/v1/campaigns/${current.id}/preview`, { selection: selection() }));
  } catch (err) { $('preview').classList.remove('hidden'); n.textContent = errorText(err); n.className = 'form-notice notice bad'; }
}
$('preview-btn').addEventListener('click', preview);

$('confirm').addEventListener('click', async () => {
  const box = $('preview');
  const n = box.querySelector('.form-notice');
  const body = {
    selection: lastPreview.selection, token: lastPreview.preview.token,
    route: box.querySelector('input[name="route"]:checked').value, add_brokers: checked(box, 'outside'),
  };
  try {
    const out = await api('POST', `/api/v1/campaigns/${current.id}/clients`, body);
    n.textContent = `${out.added} cliente(s) adicionados${out.routed_to_own_broker ? `, ${out.routed_to_own_broker} para o próprio corretor` : ''}.`;
    n.className = 'form-notice notice';
    $('confirm').disabled = true;
    await loadCampaigns();
  } catch (err) {
    n.textContent = err.status === 409 ? `${errorText(err)} A pré-visualização foi atualizada.` : errorText(err);
    n.className = 'form-notice notice bad';
    if (err.status === 409) showPreview(await api('POST', `/api/v1/campaigns/${current.id}/preview`, { selection: lastPreview.selection }));
  }
});

async function loadTeams() {
  teams = await api('GET', '/api/v1/teams');
  $('teams').innerHTML = teams.map((t) => `<tr data-team="${esc(t.name)}"><td class="cell-main">${esc(t.name)}</td><td data-label="Supervisor">${esc(t.supervisor_name)}</td>
    <td data-label="Corretores">${t.brokers.map((b) => esc(b.name)).join(', ')}</td><td data-k="clients" data-label="Clientes">${t.clients}</td></tr>`).join('')
    || '<tr><td colspan="4" class="muted">Nenhuma equipe ainda.</td></tr>';
  fillTargets();
}

// A team without brokers is refused here: the server would keep it, but nothing could be
// distributed to it and this page cannot add brokers to a team afterwards. The words are
// erros.js's for the server's own "brokers" refusal.
$('new-team').addEventListener('submit', async (e) => {
  e.preventDefault();
  const f = e.target;
  clearErrors(f);
  const members = checked(f, 'brokers');
  if (!members.length) { showError(f, new ApiError(422, { error: { code: 'invalid', field: 'brokers' } })); return; }
  try {
    const t = await api('POST', '/api/v1/teams', { name: f.name.value, supervisor_id: Number(f.supervisor_id.value), brokers: members });
    f.reset();
    notice(f, `Equipe “${t.name}” criada.`);
    await loadTeams();
  } catch (err) { showError(f, err); }
});

/** The lead sources to filter by: the server's own and the agency's API keys, in pt-BR. */
async function fillSources() {
  const keys = await api('GET', '/api/v1/api-keys').catch(() => []);
  const codes = [...new Set(['reception', 'oferta_ativa', 'equipe', ...keys.map((k) => k.source)])];
  const options = '<option value="">Todas</option>' + codes.map((c) => `<option value="${esc(c)}">${esc(sourceLabel(c))}</option>`).join('');
  for (const id of ['s-source', 'd-source']) $(id).innerHTML = options;
}

function fillTargets() {
  $('d-target').innerHTML = teams.map((t) => `<option value="team:${t.id}">Equipe ${esc(t.name)}</option>`).join('')
    + campaigns.filter((k) => !k.expired).map((k) => `<option value="campaign:${k.id}">Campanha ${esc(k.name)}</option>`).join('');
}

$('distribute').addEventListener('submit', async (e) => {
  e.preventDefault();
  const f = e.target;
  clearErrors(f);
  const filter = {};
  if (f.q.value.trim()) filter.q = f.q.value.trim();
  if (f.source.value.trim()) filter.source = f.source.value.trim();
  const [kind, id] = f.target.value.split(':');
  const body = { filter, limit: Number(f.limit.value), [kind === 'team' ? 'team_id' : 'campaign_id']: Number(id) };
  try {
    const out = await api('POST', '/api/v1/distributions', body);
    const per = out.per_broker.filter(([, n]) => n > 0).map(([b, n]) => `${users.find((u) => u.id === b)?.name || b}: ${n}`).join(', ');
    notice(f, `${out.distributed} cliente(s) distribuídos${per ? ` (${per})` : ''}.`);
    await Promise.all([loadTeams(), kind === 'campaign' ? loadCampaigns() : null]);
  } catch (err) { showError(f, err); }
});

const { user } = await me();
if (!['manager', 'admin'].includes(user.role)) location.href = '/';
$('nav').innerHTML = managerNav('/campanhas.html');
topbar(user);
users = await api('GET', '/api/v1/users');
await fillSources();
$('c-brokers').innerHTML = checks('brokers', brokers());
$('t-brokers').innerHTML = checks('brokers', brokers());
$('t-sup').innerHTML = users.filter((u) => u.active && ['manager', 'admin', 'broker'].includes(u.role))
  .map((u) => `<option value="${u.id}">${esc(u.name)}</option>`).join('');
const s = await loadSettings();
await loadTeams();
if (s.active_offer_enabled) await loadCampaigns();
bell().catch(() => {});
document.body.dataset.ready = '1';
