// Reaching a client in one tap: Brazilian phone formatting, `tel:` and WhatsApp (`wa.me`) links,
// the agency's first-message template, the one-tap "contact attempt" log after a call or a
// WhatsApp. The pt-BR words for the server's codes are in labels.js (a code is never shown).
// The formatting and template functions are pure (no DOM, no network) so any page can share them.
import { api, esc } from './api.js';
import { ATTEMPT_CHANNELS, label } from './labels.js';

/** The first message when the agency has not written its own (`agency.whatsapp_template`). */
export const DEFAULT_TEMPLATE = 'Olá {cliente}, aqui é {corretor} da {imobiliaria}. '
  + 'Recebi seu interesse no imóvel {imovel} e estou à disposição para ajudar.';

const BR = /^\+55(\d{2})(9?\d{4})(\d{4})$/;

/** "(11) 98765-4321" / "(11) 3333-4444" from E.164; other countries as the server wrote them. */
export function formatPhone(e164) {
  const m = BR.exec(e164 || '');
  return m ? `(${m[1]}) ${m[2]}-${m[3]}` : (e164 || '');
}

/** The digits WhatsApp and the dialer want: country code first, no "+". */
export function phoneDigits(e164) {
  return String(e164 || '').replace(/\D/g, '');
}

/** "tel:+5511987654321"; empty when there is no number. */
export function telHref(e164) {
  const d = phoneDigits(e164);
  return d ? `tel:+${d}` : '';
}

/** "https://wa.me/5511987654321?text=…"; empty when there is no number. */
export function whatsappHref(e164, text) {
  const d = phoneDigits(e164);
  if (!d) return '';
  return `https://wa.me/${d}${text ? `?text=${encodeURIComponent(text)}` : ''}`;
}

/**
 * The template with `{cliente}`, `{corretor}`, `{imobiliaria}` and `{imovel}` filled in. A
 * missing value takes its words with it ("no imóvel {imovel}", "da {imobiliaria}") so the
 * message still reads as a sentence; unknown placeholders are left as written.
 */
export function fillTemplate(template, values) {
  const v = values || {};
  let t = (typeof template === 'string' && template.trim()) ? template : DEFAULT_TEMPLATE;
  if (!v.imovel) t = t.replace(/\s*\b(?:n[oa]|d[oa]|pel[oa]|sobre o)\s+im[óo]vel\s+\{imovel\}/giu, '');
  if (!v.imobiliaria) t = t.replace(/\s*\b(?:d[ao]|pela|pelo)\s+\{imobiliaria\}/giu, '');
  if (!v.corretor) t = t.replace(/,?\s*aqui é\s+\{corretor\}/giu, '');
  return t
    .replace(/\{(cliente|corretor|imobiliaria|imovel)\}/g, (_, k) => String(v[k] || '').trim())
    .replace(/[ \t]{2,}/g, ' ')
    .replace(/\s+([,.!?;:])/g, '$1')
    .replace(/,([.!?])/g, '$1')
    .trim();
}

// ---------- the buttons and the contact-attempt log ----------

/**
 * "Ligar" and "WhatsApp" buttons for a lead, with a slot for the attempt log. `text` is the
 * filled template. Wire the clicks once per container with `wireAttempts`.
 */
export function contactButtons({ leadId, phone, text, name }) {
  const tel = telHref(phone);
  if (!tel) return '';
  const who = name ? ` para ${esc(name)}` : '';
  return `<div class="contact-links" data-lead-links="${esc(leadId ?? '')}">
    <a class="btn call-btn" href="${esc(tel)}" data-attempt="phone" aria-label="Ligar${who}">Ligar</a>
    <a class="btn wa-btn" href="${esc(whatsappHref(phone, text))}" target="_blank" rel="noopener"
       data-attempt="whatsapp" aria-label="WhatsApp${who}">WhatsApp</a>
    <div class="attempt hidden" data-attempt-slot></div>
  </div>`;
}

/**
 * After a tap on Ligar or WhatsApp, offers "Registrar tentativa de contato" (one tap, does not
 * conclude the attendance). Without a lead (a campaign client) nothing is offered.
 */
export function wireAttempts(container) {
  container.addEventListener('click', async (e) => {
    const link = e.target.closest('[data-attempt]');
    if (link) {
      const box = link.closest('[data-lead-links]');
      const slot = box?.querySelector('[data-attempt-slot]');
      if (!slot || !box.dataset.leadLinks) return;
      slot.dataset.channel = link.dataset.attempt;
      slot.innerHTML = `<button type="button" class="btn" data-log-attempt>Registrar tentativa de contato (${esc(label(ATTEMPT_CHANNELS, link.dataset.attempt))})</button>`;
      slot.classList.remove('hidden');
      return;
    }
    const log = e.target.closest('[data-log-attempt]');
    if (!log) return;
    const slot = log.closest('[data-attempt-slot]');
    const lead = log.closest('[data-lead-links]').dataset.leadLinks;
    log.disabled = true;
    try {
      await api('POST', `/api/v1/leads/${encodeURIComponent(lead)}/contact-attempts`, { channel: slot.dataset.channel });
      slot.innerHTML = '<span class="attempt-ok" role="status">Tentativa registrada</span>';
    } catch {
      log.disabled = false;
      slot.insertAdjacentHTML('beforeend', '<span class="attempt-bad" role="alert">Não foi possível registrar a tentativa agora. Tente de novo.</span>');
    }
  });
}

/** The agency's template and names for the message, from `GET /api/v1/me`'s answer. */
export function messageContext(meAnswer) {
  const agency = meAnswer?.agency || {};
  return {
    template: typeof agency.whatsapp_template === 'string' ? agency.whatsapp_template : '',
    corretor: meAnswer?.user?.name || '',
    imobiliaria: agency.name || '',
  };
}

/** The filled first message for one client. */
export function messageFor(ctx, cliente, imovel) {
  return fillTemplate(ctx.template, { cliente, corretor: ctx.corretor, imobiliaria: ctx.imobiliaria, imovel });
}
