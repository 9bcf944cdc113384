// Shared helpers for Roleta's pages: JSON calls, the signed-in user, form errors, formatting,
// the top bar (with its menu button on a phone).
import { translate, GENERIC } from './erros.js';
import { CHANNELS, CHANNEL_NAMES, KINDS, PROPERTY_KINDS, PURPOSES, OUTCOMES } from './labels.js';

export { CHANNELS, CHANNEL_NAMES, KINDS, PROPERTY_KINDS, OUTCOMES };

/** An answer other than 2xx. `message` is pt-BR from erros.js, never the server's own words. */
export class ApiError extends Error {
  constructor(status, body) {
    const t = translate(status, body?.error);
    super(t.message);
    this.status = status;
    this.code = body?.error?.code;
    this.field = t.field;
  }
}

/** What a person reads for any failure: an ApiError's pt-BR text, or the generic sentence. */
export const errorText = (err) => (err instanceof ApiError ? err.message : GENERIC);

export async function api(method, path, body) {
  const opts = { method, headers: {}, credentials: 'same-origin' };
  if (body !== undefined) {
    opts.headers['Content-Type'] = 'application/json';
    opts.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, opts);
  } catch {
    throw new ApiError(0, null); // no answer: offline, or the server is down
  }
  const onLogin = location.pathname === '/' || location.pathname === '/index.html';
  if (res.status === 401 && !onLogin) {
    location.href = '/';
    throw new ApiError(401, null);
  }
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; } // a proxy's HTML page
  // A provisional password: the sign-in page asks for a new one before anything else.
  if (res.status === 403 && data?.error?.code === 'password_change_required' && !onLogin) {
    location.href = '/';
  }
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

/** What the agency's plan includes, as the last `me()` said (everything until then). */
let features = { roulette: true, campaigns: true };

/**
 * The signed-in user, or a trip back to the login page. Applies the agency's plan to the page:
 * `data-feature="x"` elements go away when the plan leaves x out, `data-feature-off="x"` ones
 * (hidden at first) say so.
 */
export async function me() {
  const m = await api('GET', '/api/v1/me');
  features = { ...features, ...(m.features || {}) };
  for (const [feature, on] of Object.entries(features)) {
    document.querySelectorAll(`[data-feature="${feature}"]`).forEach((el) => el.classList.toggle('off-plan', !on));
    document.querySelectorAll(`[data-feature-off="${feature}"]`).forEach((el) => el.classList.toggle('hidden', on));
  }
  return m;
}

export async function logout() {
  try { await api('POST', '/api/v1/auth/logout'); } finally { location.href = '/'; }
}

/** Where each role works. */
export function homeFor(role) {
  return { broker: '/console.html', manager: '/gestor.html', admin: '/gestor.html',
           receptionist: '/recepcao.html', ops: '/painel.html' }[role] || '/';
}

/** `[name="…"]` / `[data-error-for="…"]` for a field or, failing that, its path's head. */
function inForm(form, attr, field) {
  if (!field) return null;
  const head = String(field).split(/[.[]/)[0];
  return form.querySelector(`[${attr}="${CSS.escape(field)}"]`) || form.querySelector(`[${attr}="${CSS.escape(head)}"]`);
}

/**
 * Shows an error next to its field (or in the form's notice). `err` is an ApiError (its pt-BR
 * text) or the page's own `{ field, message }`; any other exception shows the generic sentence.
 */
export function showError(form, err) {
  clearErrors(form);
  const message = err instanceof Error ? errorText(err) : err.message;
  const input = inForm(form, 'name', err.field);
  const slot = inForm(form, 'data-error-for', err.field);
  if (input) {
    input.setAttribute('aria-invalid', 'true');
    if (slot?.id) input.setAttribute('aria-describedby', slot.id);
  }
  if (slot) slot.textContent = message;
  if (input && slot) {
    input.focus();
  } else {
    const n = form.querySelector('.form-notice');
    if (n) { n.textContent = message; n.className = 'form-notice notice bad'; }
  }
}

export function clearErrors(form) {
  form.querySelectorAll('[aria-invalid]').forEach((e) => e.removeAttribute('aria-invalid'));
  form.querySelectorAll('[data-error-for]').forEach((e) => { e.textContent = ''; });
  const n = form.querySelector('.form-notice');
  if (n) { n.textContent = ''; n.className = 'form-notice hidden'; }
}

export function notice(form, text) {
  const n = form.querySelector('.form-notice');
  if (n) { n.textContent = text; n.className = 'form-notice notice'; }
}

export const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));

const BRL = new Intl.NumberFormat('pt-BR', { style: 'currency', currency: 'BRL', minimumFractionDigits: 0, maximumFractionDigits: 0 });
/** "R$ 850.000" from cents (whole reais; the space is a non-breaking one). */
export const money = (cents) => (cents == null ? '' : BRL.format(Math.round(cents / 100)));

export function badge(channel) {
  return `<span class="badge ${esc(channel)}" title="${esc(CHANNEL_NAMES[channel] || CHANNEL_NAMES.other)}">${esc(CHANNELS[channel] || CHANNELS.other)}</span>`;
}

/** "Apartamento · venda · R$ 850.000 · Pinheiros · 3 dorm. · 2 vagas" */
export function interest(l) {
  const parts = [];
  if (l.interest_kind) parts.push(PROPERTY_KINDS[l.interest_kind] || '');
  if (l.interest_purpose) parts.push(PURPOSES[l.interest_purpose] || '');
  if (l.interest_price_cents != null) parts.push(money(l.interest_price_cents));
  if (l.interest_neighbourhood) parts.push(l.interest_neighbourhood);
  if (l.interest_bedrooms != null) parts.push(`${l.interest_bedrooms} dorm.`);
  if (l.interest_parking != null) parts.push(`${l.interest_parking} vaga${l.interest_parking === 1 ? '' : 's'}`);
  return parts.filter(Boolean).join(' · ');
}

/** "+55 (11) 98765-4321" from E.164. */
export function phone(e164) {
  const m = /^\+55(\d{2})(\d{4,5})(\d{4})$/.exec(e164 || '');
  return m ? `+55 (${m[1]}) ${m[2]}-${m[3]}` : (e164 || '');
}

export function ago(ms) {
  if (ms < 10000) return `${(Math.max(0, ms) / 1000).toFixed(1).replace('.', ',')} s`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** A phone number as markup that never breaks across lines. */
export const phoneHtml = (e164) => `<span class="tel">${esc(phone(e164))}</span>`;

/**
 * Fills the top bar's user area and sign-out button. When the bar has page tabs, adds the
 * menu button that shows them (and the sign-out) on a narrow screen; call it after the tabs.
 */
export function topbar(user) {
  const who = document.querySelector('[data-user]');
  if (who) who.textContent = user.name;
  document.querySelector('[data-logout]')?.addEventListener('click', logout);
  const bar = document.querySelector('.topbar');
  const nav = bar?.querySelector('nav.tabs');
  if (!nav || !nav.querySelector('a') || bar.querySelector('.menu-btn')) return;
  if (!nav.id) nav.id = 'nav';
  const btn = document.createElement('button');
  btn.type = 'button';
  btn.className = 'btn menu-btn';
  btn.setAttribute('aria-expanded', 'false');
  btn.setAttribute('aria-controls', nav.id);
  btn.innerHTML = '<span class="menu-icon" aria-hidden="true"></span>Menu';
  btn.addEventListener('click', () => {
    const open = bar.classList.toggle('open');
    btn.setAttribute('aria-expanded', String(open));
  });
  bar.classList.add('has-menu');
  bar.insertBefore(btn, nav);
}

/** The manager's pages, for the top bar (Clientes: the whole client base). */
export function managerNav(current) {
  const pages = [['/gestor.html', 'Gestão'], ['/campanhas.html', 'Campanhas'], ['/leads.html', 'Leads'],
    ['/clientes.html', 'Clientes'], ['/recepcao.html', 'Recepção'], ['/painel.html', 'Painel'],
    ['/integracoes.html', 'Integrações'], ['/importar.html', 'Importar'], ['/webhooks.html', 'Eventos']];
  return pages.map(([href, label]) => `<a href="${href}"${href === current ? ' aria-current="page"' : ''}>${label}</a>`).join('');
}

/** "2 d 3 h", "5 h 10 min", "12 min": how long, for badges. */
export function howLong(ms) {
  const m = Math.floor(ms / 60000);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h} h ${m % 60} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

const DAY = new Intl.DateTimeFormat('pt-BR', { timeZone: 'America/Sao_Paulo', day: '2-digit', month: '2-digit', year: 'numeric' });
const DAY_TIME = new Intl.DateTimeFormat('pt-BR', { timeZone: 'America/Sao_Paulo', day: '2-digit', month: '2-digit', year: 'numeric', hour: '2-digit', minute: '2-digit' });
/** "05/01/2026" (Brasília time). */
export const dateBR = (ms) => (ms == null ? '' : DAY.format(new Date(ms)));
/** "05/01/2026 14:30" (Brasília time). */
export const dateTimeBR = (ms) => (ms == null ? '' : DAY_TIME.format(new Date(ms)).replace(',', ''));

/** The notifications bell (L6): unread count, the latest list, read on open. */
export async function bell() {
  const slot = document.querySelector('[data-bell]');
  if (!slot) return;
  const load = async () => {
    const n = await api('GET', '/api/v1/notifications');
    slot.innerHTML = `<details class="bell"><summary>Avisos <span class="tag" data-unread>${n.unread || ''}</span></summary>
      <div class="bell-list">${n.notifications.map((x) => `<div class="${x.read_at_ms ? 'muted' : ''}">${esc(x.text)}</div>`).join('') || '<div class="muted">Nada por aqui.</div>'}</div></details>`;
    slot.querySelector('details').addEventListener('toggle', async (e) => {
      if (e.target.open && n.unread) { await api('POST', '/api/v1/notifications/read'); slot.querySelector('[data-unread]').textContent = ''; }
    });
  };
  await load();
  setInterval(() => { if (!slot.querySelector('details[open]')) load().catch(() => {}); }, 30000);
}
