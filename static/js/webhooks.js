// The manager's "Eventos para o CRM" page (docs/WEBHOOKS.md): the agency's subscriptions (new,
// pause, resume, delete), and each delivery with its state and a resend.
import { api, me, topbar, bell, managerNav, esc, dateTimeBR, showError, clearErrors, errorText } from './api.js';
import { WEBHOOK_EVENTS } from './labels.js';

const $ = (id) => document.getElementById(id);
let subs = [];

const eventName = (e) => WEBHOOK_EVENTS[e] || '—';

/** The URL without its path's query, for a row (a token may ride in the query). */
function shortUrl(u) {
  try { const x = new URL(u); return `${x.host}${x.pathname === '/' ? '' : x.pathname}`; } catch { return u; }
}

function state(s) {
  if (!s.active) return `<span class="tag bad">Pausada</span> <span class="cell-sub">desde ${esc(dateTimeBR(s.paused_at_ms))}</span>`;
  if (s.failures > 0) return `<span class="tag warn">Com falhas</span> <span class="cell-sub">${s.failures} tentativa(s) sem sucesso seguidas</span>`;
  return '<span class="tag new">Ativa</span>';
}

function say(id, text, bad) {
  const n = $(id);
  n.textContent = text;
  n.className = `form-notice notice${bad ? ' bad' : ''}`;
}

async function loadSubs() {
  subs = await api('GET', '/api/v1/webhooks');
  $('subs').innerHTML = subs.map((s) => `<tr data-sub="${s.id}">
    <td><div class="cell-main">${esc(shortUrl(s.url))}</div><div class="cell-sub">criada em ${esc(dateTimeBR(s.created_at_ms))}</div></td>
    <td data-label="Eventos">${s.events.map((e) => esc(eventName(e))).join(', ')}</td>
    <td data-label="Situação">${state(s)}</td>
    <td data-label="Aguardando">${s.undelivered}</td>
    <td class="actions">${s.active
      ? `<button class="btn small" data-pause="${s.id}">Pausar</button>`
      : `<button class="btn small primary" data-resume="${s.id}">Retomar envio</button>`}
      <button class="btn small" data-show="${s.id}">Ver entregas</button>
      <button class="btn small" data-delete="${s.id}">Excluir</button></td></tr>`).join('')
    || '<tr><td colspan="5" class="muted">Nenhuma assinatura ainda: crie uma abaixo.</td></tr>';
  const chosen = $('d-sub').value;
  $('d-sub').innerHTML = '<option value="">Todas</option>'
    + subs.map((s) => `<option value="${s.id}">${esc(shortUrl(s.url))}</option>`).join('');
  if (subs.some((s) => String(s.id) === chosen)) $('d-sub').value = chosen;
}

$('subs').addEventListener('click', async (e) => {
  const b = e.target.closest('button');
  if (!b) return;
  try {
    if (b.dataset.pause) {
      await api('PUT', `/api/v1/webhooks/${b.dataset.pause}`, { active: false });
      say('subs-notice', 'Envio pausado. Os eventos ficam guardados até você retomar.');
    } else if (b.dataset.resume) {
      await api('PUT', `/api/v1/webhooks/${b.dataset.resume}`, { active: true });
      say('subs-notice', 'Envio retomado: os eventos guardados seguem agora, na ordem.');
    } else if (b.dataset.delete) {
      if (!window.confirm('Excluir esta assinatura? Os eventos ainda não entregues a ela serão descartados.')) return;
      await api('DELETE', `/api/v1/webhooks/${b.dataset.delete}`);
      say('subs-notice', 'Assinatura excluída.');
    } else if (b.dataset.show) {
      $('d-sub').value = b.dataset.show;
      await loadDeliveries();
      $('h-del').scrollIntoView();
      return;
    }
  } catch (err) { say('subs-notice', errorText(err), true); }
  await Promise.all([loadSubs(), loadDeliveries()]);
});

$('new-sub').addEventListener('submit', async (e) => {
  e.preventDefault();
  const f = e.target;
  clearErrors(f);
  $('secret-box').classList.add('hidden');
  const events = [...f.querySelectorAll('input[name="events"]:checked')].map((i) => i.value);
  if (!f.url.value.trim()) return showError(f, { field: 'url', message: 'Informe o endereço do CRM.' });
  if (!events.length) return showError(f, { field: 'events', message: 'Escolha pelo menos um evento.' });
  const body = { url: f.url.value.trim(), events };
  if (f.secret.value.trim()) body.secret = f.secret.value.trim();
  try {
    const created = await api('POST', '/api/v1/webhooks', body);
    $('secret').textContent = created.secret;
    $('secret-box').classList.remove('hidden');
    f.url.value = '';
    f.secret.value = '';
    await loadSubs();
  } catch (err) { showError(f, err); }
});

/** A delivery's state, in words: when it goes again, or why it waits. */
function deliveryState(d) {
  const sub = subs.find((s) => s.id === d.subscription_id);
  if (d.status === 'delivered') return `<span class="tag new">Entregue</span> <span class="cell-sub">${esc(dateTimeBR(d.delivered_at_ms))}</span>`;
  if (sub && !sub.active) return '<span class="tag bad">Aguardando a retomada</span>';
  if (d.status === 'failed') return `<span class="tag warn">Falhou</span> <span class="cell-sub">nova tentativa ${esc(dateTimeBR(d.next_at_ms))}</span>`;
  return '<span class="tag">Na fila</span>';
}

/** The receiver's last answer in pt-BR (the server keeps it in English for the log). */
function lastAnswer(d) {
  if (d.last_attempt_ms == null) return '<span class="muted">—</span>';
  let what;
  if (d.last_status_code != null) {
    what = d.last_status_code < 300 ? `Recebido (código ${d.last_status_code})` : `Recusado pelo CRM (código ${d.last_status_code})`;
  } else if (/timeout/.test(d.last_error || '')) what = 'O CRM não respondeu a tempo';
  else if (/connect/.test(d.last_error || '')) what = 'Não foi possível conectar ao CRM';
  else if (/URL|https|address|host|endpoint/.test(d.last_error || '')) what = 'Endereço não permitido por este servidor';
  else what = 'Falha no envio';
  return `${esc(what)} <div class="cell-sub">${esc(dateTimeBR(d.last_attempt_ms))}</div>`;
}

async function loadDeliveries() {
  const sub = $('d-sub').value;
  const list = await api('GET', `/api/v1/webhooks/deliveries?limit=100${sub ? `&subscription_id=${sub}` : ''}`);
  $('deliveries').innerHTML = list.map((d) => `<tr data-delivery="${d.id}">
    <td><div class="cell-main">${esc(eventName(d.event_type))}</div><div class="cell-sub">evento nº ${d.event_id}</div></td>
    <td data-label="Lead">${d.lead_number ? esc(d.lead_number) : '<span class="muted">—</span>'}</td>
    <td data-label="Situação">${deliveryState(d)}</td>
    <td data-label="Tentativas">${d.attempts}</td>
    <td data-label="Última resposta">${lastAnswer(d)}</td>
    <td class="actions"><button class="btn small" data-resend="${d.id}">Reenviar</button></td></tr>`).join('')
    || '<tr><td colspan="6" class="muted">Nenhuma entrega ainda.</td></tr>';
}

$('deliveries').addEventListener('click', async (e) => {
  const id = e.target.closest('[data-resend]')?.dataset.resend;
  if (!id) return;
  try {
    await api('POST', `/api/v1/webhooks/deliveries/${id}/resend`);
    say('del-notice', 'Reenvio pedido: o evento sai de novo em instantes, com o mesmo número.');
  } catch (err) { say('del-notice', errorText(err), true); }
  await loadDeliveries();
});

$('d-sub').addEventListener('change', () => loadDeliveries().catch((err) => say('del-notice', errorText(err), true)));
$('d-reload').addEventListener('click', () => Promise.all([loadSubs(), loadDeliveries()]).catch((err) => say('del-notice', errorText(err), true)));

const { user } = await me();
if (!['manager', 'admin'].includes(user.role)) location.href = '/';
$('nav').innerHTML = managerNav('/webhooks.html');
topbar(user);
$('w-events').innerHTML = Object.entries(WEBHOOK_EVENTS)
  .map(([k, v]) => `<label class="check"><input type="checkbox" name="events" value="${k}" checked> ${esc(v)}</label>`).join('');
await loadSubs();
await loadDeliveries();
bell().catch(() => {});
document.body.dataset.ready = '1';
