// The broker console: availability toggle, the offer popup with a countdown synchronised to
// the server's deadline, the pending-attendances grid, reconnection with jittered backoff,
// and browser notifications through a service worker and web push.
import { api, me, topbar, esc, badge, interest, phone, KINDS, showError, clearErrors } from './api.js';

const $ = (id) => document.getElementById(id);
const state = {
  online: false, socket: null, attempts: 0, offer: null, clockOffset: 0, timer: null, askedPush: false,
};

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
  ws.onmessage = (e) => handle(JSON.parse(e.data));
  ws.onclose = (e) => {
    state.socket = null;
    if (e.code === 4001 || e.code === 1008) console.warn('connection closed', e.code, e.reason);
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

function send(msg) {
  if (state.socket?.readyState === WebSocket.OPEN) state.socket.send(JSON.stringify(msg));
}

function sendVisibility() {
  send({ type: 'visibility', visible: document.visibilityState === 'visible' });
}
document.addEventListener('visibilitychange', sendVisibility);

function handle(m) {
  switch (m.type) {
    case 'hello':
      state.clockOffset = m.server_time_ms - Date.now();
      setToggle(m.online);
      break;
    case 'presence':
      setToggle(m.online);
      if (!m.online && m.reason && !m.reason.startsWith('you ')) announce(`Você ficou indisponível: ${m.reason}`);
      break;
    case 'offer': showOffer(m); break;
    case 'offer_closed':
      if (state.offer?.offer_id === m.offer_id) {
        closeOffer({ expired: 'Tempo esgotado — o lead seguiu para o próximo corretor.',
                     cancelled: 'Oferta retirada.', refused: 'Você recusou este lead.' }[m.outcome] || 'Oferta encerrada.');
      }
      break;
    case 'assigned':
      if (state.offer?.offer_id === m.offer_id) closeOffer('Lead atribuído a você.');
      loadPending();
      break;
    case 'error':
      if (m.offer_id && state.offer?.offer_id === m.offer_id) {
        closeOffer({ deadline_passed: 'O tempo para responder acabou.', offer_closed: 'Esta oferta já foi encerrada.' }[m.code] || m.message);
      } else {
        console.warn('server error', m);
      }
      break;
    default: break;
  }
}

// ---------- availability (R7) ----------
function setToggle(on) {
  state.online = on;
  $('toggle').setAttribute('aria-checked', String(on));
  $('toggle-text').textContent = on ? 'Disponível' : 'Indisponível';
}

$('toggle').addEventListener('click', () => {
  const next = !state.online;
  send({ type: 'set_online', online: next });
  if (next && !state.askedPush) {
    state.askedPush = true;
    enablePush(); // a sensible moment: the broker just asked to receive leads
  }
});

// ---------- the offer popup (R8) ----------
function now() { return Date.now() + state.clockOffset; }

function showOffer(m) {
  state.clockOffset = m.server_time_ms - Date.now();
  state.offer = { ...m, total: Math.max(1, m.deadline_ms - m.server_time_ms) };
  const l = m.lead;
  $('offer-client').textContent = l.client_name;
  $('offer-meta').innerHTML = [
    `<div>${badge(l.channel)} ${esc(l.number)} · ${esc(l.department)}</div>`,
    interest(l) ? `<div>${esc(interest(l))}</div>` : '',
    l.property_code ? `<div>Imóvel ${esc(l.property_code)}</div>` : '',
    l.comment ? `<div>“${esc(l.comment)}”</div>` : '',
  ].join('');
  $('offer-buttons').classList.remove('hidden');
  $('offer-closed').classList.add('hidden');
  $('offer').classList.remove('hidden', 'urgent', 'ended');
  tick();
  clearInterval(state.timer);
  state.timer = setInterval(tick, 200);
  $('accept').focus();
  beep();
  announce(`Novo lead: ${l.client_name}. ${Math.ceil((m.deadline_ms - now()) / 1000)} segundos para responder.`);
}

function tick() {
  const o = state.offer;
  if (!o) return;
  const left = o.deadline_ms - now();
  const secs = Math.max(0, Math.ceil(left / 1000));
  $('offer-secs').textContent = `${secs} s`;
  $('offer-bar').style.width = `${Math.max(0, Math.min(100, (left / o.total) * 100))}%`;
  $('offer').classList.toggle('urgent', left < 5000);
  if (left <= 0) closeOffer('Tempo esgotado — o lead seguiu para o próximo corretor.');
}

function closeOffer(text) {
  clearInterval(state.timer);
  state.offer = null;
  $('offer-buttons').classList.add('hidden');
  $('offer').classList.add('ended');
  const c = $('offer-closed');
  c.textContent = text;
  c.classList.remove('hidden');
  announce(text);
  setTimeout(() => { if (!state.offer) $('offer').classList.add('hidden'); }, 2500);
}

$('accept').addEventListener('click', () => state.offer && send({ type: 'accept', offer_id: state.offer.offer_id }));
$('refuse').addEventListener('click', () => state.offer && send({ type: 'refuse', offer_id: state.offer.offer_id }));
document.addEventListener('keydown', (e) => {
  if (!state.offer || e.target.closest('dialog')) return;
  if (e.key === 'Escape') $('refuse').click();
});

function announce(text) { $('announce').textContent = text; }

let audio;
function beep() {
  try {
    audio ??= new AudioContext();
    const o = audio.createOscillator();
    const g = audio.createGain();
    o.frequency.value = 880;
    g.gain.setValueAtTime(0.15, audio.currentTime);
    g.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + 0.5);
    o.connect(g).connect(audio.destination);
    o.start();
    o.stop(audio.currentTime + 0.5);
  } catch { /* no sound available */ }
}

// ---------- pending attendances (A2) ----------
let rows = [];
async function loadPending() {
  rows = await api('GET', '/api/v1/attendances/pending');
  $('count').textContent = rows.length ? String(rows.length) : '';
  $('empty').classList.toggle('hidden', rows.length > 0);
  $('pending').innerHTML = rows.map((r) => `
    <tr data-lead="${r.lead_id}">
      <td><div class="cell-main">${esc(r.client_name)}</div>
          <div class="cell-sub">${esc(phone(r.client_phone))}${r.client_email ? ` · ${esc(r.client_email)}` : ''}</div>
          <div class="cell-sub">${esc(r.lead_number)}</div></td>
      <td>${esc(interest(r)) || '<span class="muted">—</span>'}</td>
      <td>${r.property_code ? `${esc(r.property_code)}<div class="cell-sub">${esc(r.property_address || '')}</div>` : '<span class="muted">—</span>'}</td>
      <td>${esc(r.appraisal_address) || '<span class="muted">—</span>'}</td>
      <td>${esc(r.condominium) || '<span class="muted">—</span>'}</td>
      <td>${badge(r.channel)}</td>
      <td><span class="tag ${esc(r.kind)}">${esc(KINDS[r.kind] || r.kind)}</span></td>
      <td><div class="actions">
        <button class="btn small primary" data-contact="${r.lead_id}">Registrar contato</button>
        <button class="btn small" data-edit="${r.lead_id}">Editar</button>
      </div></td>
    </tr>`).join('');
}

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
    console.warn('push not available', err); // the popup still works without it
  }
}

// ---------- start ----------
const { user } = await me();
if (user.role !== 'broker') location.href = '/';
topbar(user);
if ('serviceWorker' in navigator) navigator.serviceWorker.register('/sw.js').catch(() => {});
await loadPending();
connect();
window.roleta = state; // for the browser tests and the curious
