// The offer sheet (R8): a bottom sheet on a phone, a centred dialog on a desktop. It opens as a
// modal <dialog>, so it sits above any other dialog of the page (the contact form stays open
// beneath it, untouched) and Atender takes the focus. Esc never refuses nor hides an open offer.
// While an offer is open: a countdown kept to the server's clock, a sound every 2 s (when the
// broker's sound is on), the tab title flashing, and an OS notification with Atender / Recusar
// when the page is not in front. After an accept the sheet shows the client with Ligar and
// WhatsApp.
import { esc, badge, interest } from './api.js';
import { formatPhone, contactButtons, messageFor, wireAttempts } from './contato.js';

const $ = (id) => document.getElementById(id);
const RING_MS = 2000;
const ENDED_MS = 2500;
const ACCEPTED_MS = 8000;

export function createOfferSheet({ state, send, soundOn, message }) {
  const sheet = $('offer');
  const baseTitle = document.title;
  let timer = null; let ring = null; let flash = null; let hideTimer = null; let touched = false;
  let acceptedId = null;
  let ownCloses = 0; // closes this module asked for; any other close came from the browser (Esc)
  state.beeps = 0;

  const now = () => Date.now() + state.clockOffset;
  const otherDialogOpen = () => [...document.querySelectorAll('dialog[open]')].some((d) => d !== sheet);

  /** Opens the sheet, modal while an offer waits for an answer (or while another dialog is up). */
  function present(modal) {
    clearTimeout(hideTimer);
    sheet.classList.remove('hidden');
    if (sheet.open && sheet.matches(':modal') === modal) return;
    if (sheet.open) { ownCloses += 1; sheet.close(); }
    if (modal) sheet.showModal(); else sheet.show();
  }

  function hide() {
    clearTimeout(hideTimer);
    sheet.classList.add('hidden');
    if (sheet.open) { ownCloses += 1; sheet.close(); }
  }

  // Esc on a modal dialog asks to cancel it: an open offer stays (silence is a refusal only when
  // the time runs out). Chromium may close the dialog anyway on a second Esc: open it again.
  sheet.addEventListener('cancel', (e) => { if (state.offer) e.preventDefault(); });
  sheet.addEventListener('close', () => {
    if (ownCloses > 0) { ownCloses -= 1; return; }
    if (state.offer) present(true); else sheet.classList.add('hidden');
  });
  sheet.addEventListener('pointerdown', () => { touched = true; });
  sheet.addEventListener('focusin', (e) => { if (e.target.closest('#offer-contact')) touched = true; });

  function show(m) {
    state.clockOffset = m.server_time_ms - Date.now();
    acceptedId = null;
    state.offer = { ...m, total: Math.max(1, m.deadline_ms - m.server_time_ms) };
    const l = m.lead;
    $('offer-title').textContent = 'Novo lead para você';
    $('offer-client').textContent = l.client_name;
    $('offer-meta').innerHTML = [
      `<div>${badge(l.channel)} ${esc(l.number)} · ${esc(l.department)}</div>`,
      interest(l) ? `<div>${esc(interest(l))}</div>` : '',
      l.property_code ? `<div>Imóvel ${esc(l.property_code)}</div>` : '',
      l.comment ? `<div>“${esc(l.comment)}”</div>` : '',
    ].join('');
    $('offer-buttons').classList.remove('hidden');
    $('offer-closed').classList.add('hidden');
    $('offer-contact').classList.add('hidden');
    $('offer-contact').innerHTML = '';
    $('offer-dismiss').classList.add('hidden');
    sheet.classList.remove('urgent', 'ended', 'accepted');
    present(true);
    tick();
    clearInterval(timer);
    timer = setInterval(tick, 200);
    $('accept').focus();
    startAlerts(m);
    announce(`Novo lead: ${l.client_name}. ${Math.ceil((m.deadline_ms - now()) / 1000)} segundos para responder.`);
  }

  function tick() {
    const o = state.offer;
    if (!o) return;
    const left = o.deadline_ms - now();
    $('offer-secs').textContent = `${Math.max(0, Math.ceil(left / 1000))} s`;
    $('offer-bar').style.width = `${Math.max(0, Math.min(100, (left / o.total) * 100))}%`;
    sheet.classList.toggle('urgent', left < 5000);
    if (left <= 0) ended('Tempo esgotado — o lead seguiu para o próximo corretor.');
  }

  /** The offer ended without this broker's accept: a short message, then the sheet goes. */
  function ended(text) {
    const id = state.offer?.offer_id;
    finish(id);
    $('offer-closed').textContent = text;
    $('offer-closed').classList.remove('hidden');
    sheet.classList.add('ended');
    announce(text);
    present(otherDialogOpen());
    hideTimer = setTimeout(() => { if (!state.offer) hide(); }, ENDED_MS);
  }

  /** The lead is this broker's: the sheet stays a while, then shows Ligar and WhatsApp. */
  function accepted(offerId) {
    finish(offerId);
    acceptedId = offerId;
    $('offer-title').textContent = 'Lead atribuído a você';
    $('offer-closed').classList.add('hidden'); // the title says it
    sheet.classList.add('ended', 'accepted');
    $('offer-dismiss').classList.remove('hidden');
    announce('Lead atribuído a você.');
    touched = false;
    present(otherDialogOpen());
    const later = () => {
      hideTimer = setTimeout(() => { if (state.offer) return; if (touched) later(); else hide(); }, ACCEPTED_MS);
    };
    later();
  }

  /** The accepted client's phone, once the pending list has it. */
  function contact(offerId, row) {
    if (!row || state.offer || acceptedId !== offerId || !sheet.open) return;
    $('offer-client').textContent = row.client_name;
    const box = $('offer-contact');
    box.innerHTML = `<div class="phone-line"><span class="phone-num">${esc(formatPhone(row.client_phone))}</span></div>
      ${contactButtons({ leadId: row.lead_id, phone: row.client_phone, name: row.client_name,
        text: messageFor(message(), row.client_name, row.property_code) })}`;
    box.classList.remove('hidden');
  }

  function finish(offerId) {
    clearInterval(timer);
    state.offer = null;
    stopAlerts(offerId);
    $('offer-buttons').classList.add('hidden');
  }

  // ---------- getting the broker's attention ----------
  function startAlerts(m) {
    stopAlerts();
    if (soundOn()) beep();
    ring = setInterval(() => { if (state.offer && soundOn()) beep(); }, RING_MS);
    let on = false;
    flash = setInterval(() => { on = !on; document.title = on ? '🔔 Novo lead! Responda' : baseTitle; }, 1000);
    document.title = '🔔 Novo lead! Responda';
    notify(m);
  }

  function stopAlerts(offerId) {
    clearInterval(ring); clearInterval(flash);
    ring = null; flash = null;
    document.title = baseTitle;
    if (offerId != null) closeNotification(offerId);
  }

  let audio;
  function beep() {
    state.beeps += 1;
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
  /** Browsers allow sound after a tap: the toggle's click unlocks it for the offers to come. */
  function unlockSound() {
    try { audio ??= new AudioContext(); audio.resume(); } catch { /* no sound available */ }
  }

  async function notify(m) {
    if (document.visibilityState === 'visible' && document.hasFocus()) return;
    if (!('Notification' in window) || Notification.permission !== 'granted' || !('serviceWorker' in navigator)) return;
    try {
      const reg = await navigator.serviceWorker.ready;
      const secs = Math.max(1, Math.ceil((m.deadline_ms - now()) / 1000));
      await reg.showNotification('Novo lead na roleta', {
        body: `${m.lead.client_name} — você tem ${secs} s para atender`,
        tag: `offer-${m.offer_id}`, renotify: true, requireInteraction: true,
        data: { offer_id: m.offer_id },
        actions: [{ action: 'accept', title: 'Atender' }, { action: 'refuse', title: 'Recusar' }],
      });
    } catch { /* the sheet still works without it */ }
  }

  async function closeNotification(offerId) {
    try {
      const reg = await navigator.serviceWorker?.getRegistration();
      (await reg?.getNotifications({ tag: `offer-${offerId}` }))?.forEach((n) => n.close());
    } catch { /* nothing to close */ }
  }

  function announce(text) { $('announce').textContent = text; }

  $('accept').addEventListener('click', () => state.offer && send({ type: 'accept', offer_id: state.offer.offer_id }));
  $('refuse').addEventListener('click', () => state.offer && send({ type: 'refuse', offer_id: state.offer.offer_id }));
  $('offer-dismiss').addEventListener('click', hide);
  wireAttempts($('offer-contact'));

  return { show, ended, accepted, contact, unlockSound, beep };
}
