// "Meus clientes": the clients a broker serves (a manager sees the agency's), newest first, with
// a search, a lead-status filter, a period, "Carregar mais", and Ligar/WhatsApp on each row.
import { api, me, topbar, esc, errorText, showError, clearErrors, dateBR, dateTimeBR } from './api.js';
import { formatPhone, contactButtons, wireAttempts, fillTemplate } from './contato.js';
import { CHANNEL_NAMES, sourceLabel } from './labels.js';
import { navFor, parseDateBR, maskDate, OBJECTIVES } from './clientes-comum.js';

const form = document.getElementById('filters');
const list = document.getElementById('list');
const empty = document.getElementById('empty');
const moreBox = document.getElementById('more-box');
const moreBtn = document.getElementById('more');
let user;
let template = '';
let agencyName = '';
let query = {};
let next = null;

function row(c) {
  const last = c.last_lead_id
    ? `Último lead ${esc(c.last_lead_number || '')}${c.last_lead_status ? ` · ${esc(c.last_lead_status)}` : ''} · ${esc(CHANNEL_NAMES[c.last_lead_channel] || CHANNEL_NAMES.other)}`
      + `${c.last_lead_source && sourceLabel(c.last_lead_source) !== CHANNEL_NAMES[c.last_lead_channel] ? ` · ${esc(sourceLabel(c.last_lead_source))}` : ''}${c.last_lead_at_ms ? ` · ${esc(dateTimeBR(c.last_lead_at_ms))}` : ''}`
    : 'Nenhum lead';
  const counts = `${c.leads_count} lead${c.leads_count === 1 ? '' : 's'}`
    + (c.open_attendances ? ` · ${c.open_attendances} atendimento${c.open_attendances === 1 ? '' : 's'} em aberto` : '');
  const text = fillTemplate(template, { cliente: c.name, corretor: user.name, imobiliaria: agencyName });
  return `<li data-client="${esc(c.id)}">
    <div><a class="open" href="/cliente.html?id=${encodeURIComponent(c.id)}">${esc(c.name || 'Cliente sem nome')}
      <span class="sub">Cliente desde ${esc(dateBR(c.created_at_ms))}${c.objective ? ` · ${esc(OBJECTIVES[c.objective] || '')}` : ''}</span></a></div>
    <div><span class="phone-num">${esc(formatPhone(c.phone))}</span>${c.email ? `<div class="sub email">${esc(c.email)}</div>` : ''}
      ${user.role !== 'broker' && c.broker_name ? `<div class="sub">Corretor: ${esc(c.broker_name)}</div>` : ''}</div>
    <div class="sub">${counts}<br>${last}</div>
    <div>${contactButtons({ leadId: c.last_lead_id || '', phone: c.phone, text, name: c.name })}</div>
  </li>`;
}

function emptyText() {
  const filtered = query.q || query.status || query.created_from_ms != null || query.created_to_ms != null;
  if (filtered) return 'Nenhum cliente com esses filtros. Limpe a busca, o status ou o período e tente de novo.';
  return user.role === 'broker'
    ? 'Você ainda não tem clientes. Fique disponível na tela de Atendimentos para receber leads: cada lead que você atende entra aqui.'
    : 'A imobiliária ainda não tem clientes. Eles aparecem aqui quando os leads chegam.';
}

/**
 * The status filter's options: "Todos" and every status of the agency's lead types (the names the
 * manager gave them, in the pipeline's order, each once). Without them the filter stays at "Todos".
 */
async function fillStatuses() {
  let types = [];
  try { types = await api('GET', '/api/v1/lead-types'); } catch { return; }
  const names = [...new Set(types.flatMap((t) => t.statuses.map((s) => s.name)))];
  form.status.innerHTML = '<option value="">Todos</option>'
    + names.map((s) => `<option value="${esc(s)}">${esc(s)}</option>`).join('');
}

async function load(append) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v != null && v !== '') p.set(k, v);
  if (append && next != null) p.set('before', next);
  p.set('limit', '30');
  moreBtn.disabled = true;
  try {
    const page = await api('GET', `/api/v1/clients?${p}`);
    const html = page.clients.map(row).join('');
    if (append) list.insertAdjacentHTML('beforeend', html); else list.innerHTML = html;
    next = page.next_before ?? null;
    moreBox.classList.toggle('hidden', next == null);
    const none = !list.children.length;
    empty.classList.toggle('hidden', !none);
    if (none) empty.textContent = emptyText();
  } catch (err) {
    showError(form, err);
  } finally {
    moreBtn.disabled = false;
    document.body.dataset.ready = '1';
  }
}

form.addEventListener('submit', (e) => {
  e.preventDefault();
  clearErrors(form);
  const from = parseDateBR(form.created_from_ms.value);
  const to = parseDateBR(form.created_to_ms.value, true);
  for (const [name, v] of [['created_from_ms', from], ['created_to_ms', to]]) {
    if (Number.isNaN(v)) { showError(form, { field: name, message: 'Use uma data válida (dd/mm/aaaa).' }); return; }
  }
  if (from != null && to != null && from >= to) {
    showError(form, { field: 'created_from_ms', message: 'A data inicial precisa ser anterior à final.' });
    return;
  }
  query = { q: form.q.value.trim(), status: form.status.value, created_from_ms: from, created_to_ms: to };
  next = null;
  load(false);
});
moreBtn.addEventListener('click', () => load(true));
maskDate(form.created_from_ms);
maskDate(form.created_to_ms);
wireAttempts(list);

try {
  const m = await me();
  user = m.user;
  template = m.agency?.whatsapp_template || '';
  agencyName = m.agency?.name || '';
  document.getElementById('nav').innerHTML = navFor(user, '/clientes.html');
  document.getElementById('role-name').textContent = user.role === 'broker' ? 'Corretor' : 'Gestão';
  if (user.role !== 'broker') { document.getElementById('title').textContent = 'Clientes'; document.title = 'Clientes — Roleta'; }
  topbar(user);
  await fillStatuses(); // before data-ready, which load() sets
  await load(false);
} catch (err) {
  empty.textContent = errorText(err);
  empty.classList.remove('hidden');
  document.body.dataset.ready = '1';
}
