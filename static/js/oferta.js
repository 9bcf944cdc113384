// The broker's calling screen (O4, O5): their campaigns, "Atender" / "Agora não", the next
// client, the result with a comment, "Salvar" (next client) or "Continuar depois"; and the
// clients distributed to them by their team (T2, T4). Ligar and WhatsApp in one tap on the client
// being called and on each team client; the server's texts are never shown (pt-BR from erros.js).
import { api, me, topbar, bell, esc, dateBR, errorText, OUTCOMES } from './api.js';
import { formatPhone, contactButtons, messageContext, messageFor } from './contato.js';

const $ = (id) => document.getElementById(id);
let campaign = null;
let entry = null;
let meAnswer = null;

/**
 * pt-BR for what went wrong: erros.js's text (an expired campaign, a client no longer with you,
 * the plan, a comment too long, no connection…); a 404 here is a campaign the broker is not in
 * or a client that is gone, which this page words itself.
 */
function problem(err) {
  if (err?.status === 404) return 'Não encontramos esta campanha ou este cliente.';
  return errorText(err);
}

function say(id, text, bad) {
  const n = $(id);
  n.textContent = text;
  n.className = `form-notice notice${bad ? ' bad' : ''}`;
}

async function loadCampaigns() {
  try {
    const list = await api('GET', '/api/v1/me/campaigns');
    $('no-campaigns').classList.toggle('hidden', list.length > 0);
    $('campaigns').innerHTML = list.map((k) => `<div class="card" data-campaign="${esc(k.name)}">
      <h2>${esc(k.name)}</h2>
      <div class="muted">${esc(k.development || '')} · válida até ${dateBR(k.expires_at_ms)} · ${k.queued} na fila</div>
      <p>${esc(k.description || '')}</p>
      <div class="actions"><button class="btn ok" data-attend="${k.id}">Atender</button><button class="btn" data-notnow="${k.id}">Agora não</button></div>
    </div>`).join('');
    return list;
  } catch (err) {
    $('no-campaigns').classList.remove('hidden');
    $('no-campaigns').textContent = problem(err);
    return [];
  }
}

function showList() {
  $('call').classList.add('hidden');
  $('list').classList.remove('hidden');
  entry = null;
  return loadCampaigns();
}

async function nextClient() {
  const f = $('result');
  f.reset();
  f.querySelector('.form-notice').className = 'form-notice hidden';
  try {
    entry = await api('POST', `/api/v1/campaigns/${campaign.id}/next`);
  } catch (err) {
    await showList();
    return say('list-notice', problem(err), true);
  }
  if (!entry) {
    await showList();
    return say('list-notice', `Não há mais clientes para você em “${campaign.name}”.`);
  }
  $('list').classList.add('hidden');
  $('call').classList.remove('hidden');
  $('call-campaign').textContent = campaign.name;
  $('call-client').textContent = entry.name;
  $('call-phone').textContent = formatPhone(entry.phone);
  $('call-links').innerHTML = contactButtons({ phone: entry.phone, name: entry.name,
    text: messageFor(messageContext(meAnswer), entry.name, campaign.property_code || campaign.development) });
  $('call-email').textContent = entry.email || '';
  $('call-own').classList.toggle('hidden', !entry.routed_to_me);
  f.comment.value = entry.comment || '';
  f.querySelector('input[name="outcome"]')?.focus();
}

$('campaigns').addEventListener('click', async (e) => {
  const attend = e.target.closest('[data-attend]')?.dataset.attend;
  const notNow = e.target.closest('[data-notnow]');
  if (notNow) { notNow.closest('.card').classList.add('hidden'); return; }
  if (!attend) return;
  const list = await loadCampaigns();
  campaign = list.find((k) => k.id === Number(attend));
  if (campaign) await nextClient();
});

$('result').addEventListener('submit', async (e) => {
  e.preventDefault();
  const f = e.target;
  const picked = f.querySelector('input[name="outcome"]:checked');
  const notice = f.querySelector('.form-notice');
  if (!picked) { notice.textContent = 'Escolha o resultado do contato.'; notice.className = 'form-notice notice bad'; return; }
  try {
    const out = await api('POST', `/api/v1/campaigns/${campaign.id}/entries/${entry.entry_id}/result`, { result: picked.value, comment: f.comment.value });
    if (out.positive) say('list-notice', `Cliente ${entry.name} agora é seu: atendimento ${out.lead_number} aberto.`);
    await nextClient();
  } catch (err) { notice.textContent = problem(err); notice.className = 'form-notice notice bad'; }
});

$('later').addEventListener('click', async () => {
  try {
    await api('POST', `/api/v1/campaigns/${campaign.id}/entries/${entry.entry_id}/later`, { comment: $('call-comment').value });
    await showList();
    say('list-notice', `${entry?.name || 'O cliente'} ficou guardado com você para depois.`);
  } catch (err) { say('list-notice', problem(err), true); }
});

async function loadTeamClients() {
  const list = await api('GET', '/api/v1/me/clients');
  const ctx = messageContext(meAnswer);
  $('team-clients').innerHTML = list.map((c) => `<tr data-client="${esc(c.name)}"><td class="cell-main">${esc(c.name)}</td>
    <td><span class="phone-num">${esc(formatPhone(c.phone))}</span>${contactButtons({ phone: c.phone, name: c.name, text: messageFor(ctx, c.name, '') })}</td>
    <td><select data-outcome="${c.id}" aria-label="Resultado com ${esc(c.name)}"><option value="">Escolha o resultado</option>
      ${Object.entries(OUTCOMES).map(([k, v]) => `<option value="${k}">${v}</option>`).join('')}</select></td>
    <td>${c.worked_at_ms ? '<span class="tag">trabalhado</span>' : `<button class="btn" data-contact="${c.id}">Registrar contato</button>`}</td></tr>`).join('')
    || '<tr><td colspan="4" class="muted">Nenhum cliente distribuído para você. Quando o gestor distribuir clientes da sua equipe, eles aparecem aqui.</td></tr>';
}

$('team-clients').addEventListener('click', async (e) => {
  const id = e.target.closest('[data-contact]')?.dataset.contact;
  if (!id) return;
  const outcome = $('team-clients').querySelector(`[data-outcome="${id}"]`).value;
  if (!outcome) return say('team-notice', 'Escolha o resultado do contato.', true);
  try {
    const out = await api('POST', `/api/v1/clients/${id}/contacts`, { outcome });
    say('team-notice', out.positive ? `Contato registrado: atendimento ${out.lead_number} aberto.` : 'Contato registrado.');
    await loadTeamClients();
  } catch (err) { say('team-notice', problem(err), true); }
});

meAnswer = await me();
const { user } = meAnswer;
if (user.role !== 'broker') location.href = '/';
topbar(user);
$('outcomes').insertAdjacentHTML('beforeend', Object.entries(OUTCOMES)
  .map(([k, v]) => `<label class="check"><input type="radio" name="outcome" value="${k}"> ${v}</label>`).join(''));
await Promise.all([loadCampaigns(), loadTeamClients()]);
bell().catch(() => {});
document.body.dataset.ready = '1';
