// Shared helpers for Roleta's pages: JSON calls, the signed-in user, form errors, formatting.

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.error?.message || `erro ${status}`);
    this.status = status;
    this.code = body?.error?.code;
    this.field = body?.error?.field;
  }
}

export async function api(method, path, body) {
  const opts = { method, headers: {}, credentials: 'same-origin' };
  if (body !== undefined) {
    opts.headers['Content-Type'] = 'application/json';
    opts.body = JSON.stringify(body);
  }
  const res = await fetch(path, opts);
  const onLogin = location.pathname === '/' || location.pathname === '/index.html';
  if (res.status === 401 && !onLogin) {
    location.href = '/';
    throw new ApiError(401, null);
  }
  const text = await res.text();
  const data = text ? JSON.parse(text) : null;
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

/** Shows the server's error next to its field (or in the form's notice). */
export function showError(form, err) {
  clearErrors(form);
  const input = err.field && form.querySelector(`[name="${err.field}"]`);
  if (input) {
    input.setAttribute('aria-invalid', 'true');
    const slot = form.querySelector(`[data-error-for="${err.field}"]`);
    if (slot) slot.textContent = err.message;
    input.focus();
  } else {
    const n = form.querySelector('.form-notice');
    if (n) { n.textContent = err.message; n.className = 'form-notice notice bad'; }
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

export const money = (cents) => cents == null ? '' :
  (cents / 100).toLocaleString('pt-BR', { style: 'currency', currency: 'BRL', maximumFractionDigits: 0 });

export const CHANNELS = { lf: 'LF', lp: 'LP', ls: 'LS', phone: 'TEL', walk_in: 'REC', other: 'OUT' };
export const CHANNEL_NAMES = { lf: 'Lead do Facebook', lp: 'Lead de portal', ls: 'Lead do site', phone: 'Telefone', walk_in: 'Recepção', other: 'Outro' };
export const KINDS = { new: 'Novo', rule: 'Regra', returning: 'Retorno', transfer: 'Transferência' };
export const PROPERTY_KINDS = { apartment: 'Apartamento', house: 'Casa', land: 'Terreno', commercial: 'Comercial' };

export function badge(channel) {
  return `<span class="badge ${esc(channel)}" title="${esc(CHANNEL_NAMES[channel] || channel)}">${esc(CHANNELS[channel] || channel)}</span>`;
}

/** "Apartamento · venda · R$ 850.000 · Pinheiros · 3 dorm. · 2 vagas" */
export function interest(l) {
  const parts = [];
  if (l.interest_kind) parts.push(PROPERTY_KINDS[l.interest_kind] || l.interest_kind);
  if (l.interest_purpose) parts.push({ sale: 'venda', rent: 'locação' }[l.interest_purpose] || l.interest_purpose);
  if (l.interest_price_cents != null) parts.push(money(l.interest_price_cents));
  if (l.interest_neighbourhood) parts.push(l.interest_neighbourhood);
  if (l.interest_bedrooms != null) parts.push(`${l.interest_bedrooms} dorm.`);
  if (l.interest_parking != null) parts.push(`${l.interest_parking} vaga${l.interest_parking === 1 ? '' : 's'}`);
  return parts.join(' · ');
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

/** Fills the top bar's user area and sign-out button. */
export function topbar(user) {
  const who = document.querySelector('[data-user]');
  if (who) who.textContent = user.name;
  document.querySelector('[data-logout]')?.addEventListener('click', logout);
}

/** The manager's pages, for the top bar. */
export function managerNav(current) {
  const pages = [['/gestor.html', 'Gestão'], ['/campanhas.html', 'Campanhas'], ['/leads.html', 'Leads'],
    ['/recepcao.html', 'Recepção'], ['/painel.html', 'Painel']];
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

export const dateBR = (ms) => ms == null ? '' : new Date(ms).toLocaleDateString('pt-BR', { timeZone: 'America/Sao_Paulo' });

export const OUTCOMES = {
  high_interest: 'Alto interesse', asked_info: 'Pediu informações', low_interest: 'Baixo interesse',
  no_answer: 'Não atendeu', no_interest: 'Sem interesse',
};

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
