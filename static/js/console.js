// The broker console: availability toggle, the offer sheet (oferta-sheet.js), the pending
// attendances as cards on a phone and a grid on a desktop, Ligar / WhatsApp on each, reconnection
// with jittered backoff, and notifications through the service worker and web push.
//
// Decision: the offer sound on/off is kept per device and per user — localStorage under
// `roleta.sound.<user id>` — so a broker can silence a shared office desktop and keep the phone
// ringing, and two brokers on one device do not share the choice. The default is on.
//
// The toggle tells the truth: "Conectando…" until the server says how it stands; a tap while
// the socket is down is kept and applied when it comes back (the latest tap wins). The server's
// English `reason` texts are never shown: pt-BR words come from the message's codes (erros.js).
import { api, me, topbar, esc, badge, interest, showError, clearErrors } from './api.js';
import { formatPhone, contactButtons, messageContext, messageFor, wireAttempts } from './contato.js';
import { KINDS, label } from './labels.js';
import { CODES, GENERIC } from './erros.js';
import { createOfferSheet } from './oferta-sheet.js';

const $ = (id) => document.getElementById(id);
const state = {
  online: false, known: false, socket: null, attempts: 0, offer: null, clockOffset: 0, askedPush: false,
  queued: null, beeps: 0,
};
let meAnswer = null;
const soundKey = () => `roleta.sound.${meAnswer?.user?.id ?? 'anon'}`;
const soundOn = () => localStorage.getItem(soundKey()) !== 'off';

// ---------- connection ----------
function setConn(s, text) {
  const el = $('conn');
  el.dataset.state = s;
  el.textContent = text;
}

function connect() {
  setConn('connecting', 'Conectando…');
  const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`);
  state.socket = ws;
  ws.onopen = () => {
    state.attempts = 0;
    setConn('open', 'Conectado');
    sendVisibility();
  };
  ws.onmessage = (e) => { try { handle(JSON.parse(e.data)); } catch (err) { console.warn('bad message', err); } };
  ws.onclose = (e) => {
    state.socket = null;
    state.known = false;
    renderToggle();
    // Deactivated, signed out, agency suspended (docs/PROTOCOL.md): no reconnecting; the
    // sign-in page says why.
    const why = { 4002: 'desativada', 4003: 'sessao', 4004: 'suspensa' }[e.code];
    if (why) { location.href = `/?motivo=${why}`; return; }
    // Exponential backoff with full jitter, capped at 30 s.
    const delay = Math.random() * Math.min(30000, 500 * 2 ** state.attempts++);
    setConn('reconnecting', `Reconectando em ${Math.ceil(delay / 1000)} s…`);
    setTimeout(connect, delay);
  };
}

const isOpen = () => state.socket?.readyState === WebSocket.OPEN;
function send(msg) {
  if (isOpen()) { state.socket.send(JSON.stringify(msg)); return true; }
  return false;
}

function sendVisibility() {
  send({ type: 'visibility', visible: document.visibilityState === 'visible' });
}
document.addEventListener('visibilitychange', sendVisibility);

function handle(m) {
  switch (m.type) {
    case 'hello':
      state.clockOffset = m.server_time_ms - Date.now();
      setOnline(m.online);
      if (state.queued !== null) {
        const want = state.queued;
        state.queued = null;
        hint('');
        if (want !== m.online) requestOnline(want);
      }
      break;
    case 'presence':
      setOnline(m.online);
      if (!m.online && m.cause === 'missed_offers') showAutoOffline(m.missed);
      break;
    case 'offer': sheet.show(m); break;
    case 'offer_closed':
      if (state.offer?.offer_id === m.offer_id) {
        sheet.ended({ expired: 'Tempo esgotado — o lead seguiu para o próximo corretor.',
          cancelled: 'Oferta retirada.', refused: 'Você recusou este lead.' }[m.outcome] || 'Oferta encerrada.');
      }
      break;
    case 'assigned': {
      // After this broker's accept (here, on another page, or from the notification) the sheet
      // shows the client's phone; a direct assignment only refreshes the list.
      const mine = m.offer_id != null && state.offer?.offer_id === m.offer_id;
      if (mine) sheet.accepted(m.offer_id);
      loadPending().then(() => {
        if (mine) sheet.contact(m.offer_id, rows.find((r) => r.lead_id === m.lead_id));
      }).catch(() => {});
      break;
    }
    case 'error':
      if (m.offer_id && state.offer?.offer_id === m.offer_id) {
        sheet.ended(CODES[m.code] || GENERIC);
      } else if (m.code === 'unavailable') {
        hint(CODES.unavailable);
      } else {
        console.warn('server error', m.code);
      }
      break;
    default: break;
  }
}

// ---------- availability (R7) ----------
function setOnline(on) {
  state.online = on;
  state.known = true;
  state.pendingToggle = false;
  if (on) $('auto-offline').classList.add('hidden');
  renderToggle();
}

function renderToggle() {
  const t = $('toggle');
  const waiting = !state.known || state.pendingToggle;
  const shown = state.queued ?? state.online;
  t.setAttribute('aria-checked', String(shown));
  t.setAttribute('aria-busy', String(waiting));
  t.dataset.state = waiting ? 'connecting' : 'ready';
  $('toggle-text').textContent = waiting && state.queued === null && !state.pendingToggle
    ? 'Conectando…' : (shown ? 'Disponível' : 'Indisponível');
}

function hint(text) {
  $('toggle-hint').textContent = text;
  $('toggle-hint').classList.toggle('hidden', !text);
}

function requestOnline(next) {
  if (send({ type: 'set_online', online: next })) {
    state.pendingToggle = true;
    renderToggle();
    return;
  }
  // The socket is down: keep the wish and apply it on the next hello.
  state.queued = next;
  renderToggle();
  hint(next ? 'Sem conexão agora: você ficará disponível assim que a conexão voltar.'
    : 'Sem conexão agora: você ficará indisponível assim que a conexão voltar.');
}

$('toggle').addEventListener('click', () => {
  sheet.unlockSound();
  const next = !(state.queued ?? state.online);
  if (state.queued !== null && !isOpen() && next === state.online && state.known) {
    state.queued = null; hint(''); renderToggle(); return;
  }
  requestOnline(next);
  if (next && !state.askedPush) {
    state.askedPush = true;
    enablePush(); // a sensible moment: the broker just asked to receive leads
  }
});

function showAutoOffline(missed) {
  const n = Number.isInteger(missed) && missed > 0 ? missed : 3;
  $('auto-offline-text').textContent = `Você ficou indisponível após ${n} ofertas sem resposta.`;
  $('auto-offline').classList.remove('hidden');
}
$('back-online').addEventListener('click', () => { sheet.unlockSound(); requestOnline(true); });

// ---------- sound on/off ----------
function renderSound() {
  const on = soundOn();
  $('sound').setAttribute('aria-checked', String(on));
  $('sound-text').textContent = on ? 'Som das ofertas: ligado' : 'Som das ofertas: desligado';
}
$('sound').addEventListener('click', () => {
  localStorage.setItem(soundKey(), soundOn() ? 'off' : 'on');
  if (soundOn()) sheet.unlockSound();
  renderSound();
});

// ---------- pending attendances (A2) ----------
let rows = [];
const none = '<span class="muted">—</span>';
const cell = (lbl, html, cls = '') => `<td data-label="${lbl}" class="${cls}${html ? '' : ' blank'}">${html || none}</td>`;

async function loadPending() {
  rows = await api('GET', '/api/v1/attendances/pending');
  const ctx = messageContext(meAnswer);
  $('count').textContent = rows.length ? String(rows.length) : '';
  $('empty').classList.toggle('hidden', rows.length > 0);
  $('pending-table').classList.toggle('hidden', rows.length === 0);
  $('pending').innerHTML = rows.map((r) => `
    <tr data-lead="${r.lead_id}">
      <td data-label="Cliente" class="client-cell"><div class="cell-main">${esc(r.client_name)}</div>
          <div class="cell-sub"><span class="phone-num">${esc(formatPhone(r.client_phone))}</span></div>
          ${r.client_email ? `<div class="cell-sub email">${esc(r.client_email)}</div>` : ''}
          <div class="cell-sub">${esc(r.lead_number)}</div></td>
      ${cell('Perfil de interesse', esc(interest(r)))}
      ${cell('Imóvel de interesse', r.property_code ? `${esc(r.property_code)}<div class="cell-sub">${esc(r.property_address || '')}</div>` : '')}
      ${cell('Imóvel para avaliar', esc(r.appraisal_address))}
      ${cell('Condomínio', esc(r.condominium))}
      <td data-label="Canal">${badge(r.channel)}</td>
      <td data-label="Tipo"><span class="tag ${esc(r.kind)}">${esc(label(KINDS, r.kind))}</span></td>
      <td data-label="Ações" class="actions-cell"><div class="actions">
        ${contactButtons({ leadId: r.lead_id, phone: r.client_phone, name: r.client_name,
          text: messageFor(ctx, r.client_name, r.property_code) })}
        <button class="btn primary" data-contact="${r.lead_id}">Registrar contato</button>
        <button class="btn" data-edit="${r.lead_id}">Editar</button>
      </div></td>
    </tr>`).join('');
}
wireAttempts($('pending'));

let current = null;
$('pending').addEventListener('click', (e) => {
  const c = e.target.closest('[data-contact]');
  const ed = e.target.closest('[data-edit]');
  if (c) {
    current = Number(c.dataset.contact);
    clearErrors($('contact-form'));
    $('contact-form').reset();
    $('contact-dialog').showModal();
  } else if (ed) {
    current = Number(ed.dataset.edit);
    const r = rows.find((x) => x.lead_id === current);
    const f = $('edit-form');
    clearErrors(f);
    f.name.value = r?.client_name || '';
    f.email.value = r?.client_email || '';
    f.comment.value = r?.comment || '';
    $('edit-dialog').showModal();
  }
});

$('contact-form').addEventListener('submit', async (e) => {
  if (e.submitter?.value !== 'save') return;
  e.preventDefault();
  const f = e.target;
  if (!f.note.value.trim()) return showError(f, { field: 'note', message: 'Escreva o que foi conversado.' });
  try {
    await api('POST', `/api/v1/leads/${current}/contacts`, { kind: f.kind.value, note: f.note.value });
    $('contact-dialog').close();
    loadPending();
  } catch (err) { showError(f, err); }
});

$('edit-form').addEventListener('submit', async (e) => {
  if (e.submitter?.value !== 'save') return;
  e.preventDefault();
  const f = e.target;
  try {
    await api('PATCH', `/api/v1/leads/${current}`, { name: f.name.value, email: f.email.value, comment: f.comment.value });
    $('edit-dialog').close();
    loadPending();
  } catch (err) { showError(f, err); }
});

// ---------- notifications (service worker + web push) ----------
const b64ToBytes = (s) => Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (s.length % 4)) % 4)), (c) => c.charCodeAt(0));

async function enablePush() {
  if (!('serviceWorker' in navigator) || !('Notification' in window)) return;
  try {
    const permission = await Notification.requestPermission();
    if (permission !== 'granted') return;
    const reg = await navigator.serviceWorker.ready;
    const { public_key } = await api('GET', '/api/v1/push/key');
    const sub = await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: b64ToBytes(public_key) });
    await api('POST', '/api/v1/push/subscriptions', sub.toJSON());
  } catch (err) {
    console.warn('push not available', err); // the sheet still works without it
  }
}

// ---------- start ----------
const sheet = createOfferSheet({ state, send, soundOn, message: () => messageContext(meAnswer) });
renderToggle();
try {
  meAnswer = await me();
} catch (err) {
  // Opened from the worker's cache without a network: say so and try again by itself.
  if (err?.status) throw err;
  setConn('closed', 'Sem conexão');
  $('toggle-text').textContent = 'Sem conexão';
  hint('Sem conexão — verifique a internet e tente de novo.');
  $('toggle-hint').classList.add('bad');
  const retry = () => fetch('/healthz', { cache: 'no-store' }).then((r) => r.ok && location.reload(), () => {});
  window.addEventListener('online', retry);
  setInterval(retry, 5000);
  await new Promise(() => {}); // the rest of the page needs the signed-in user
}
const { user } = meAnswer;
if (user.role !== 'broker') location.href = '/';
topbar(user);
renderSound();
if ('serviceWorker' in navigator) navigator.serviceWorker.register('/sw.js').catch(() => {});
await loadPending().catch(() => { $('empty').textContent = 'Não foi possível carregar seus atendimentos. Recarregue a página.'; $('empty').classList.remove('hidden'); });
connect();
window.roleta = state; // for the browser tests and the curious
document.body.dataset.ready = '1';
