// What the client list and the client record share: the top bar for a broker or a manager,
// the pt-BR words for the client's codes, and "dd/mm/aaaa" to epoch ms.
import { esc, managerNav } from './api.js';

export const OBJECTIVES = { buy: 'Comprar', rent: 'Alugar', appraise: 'Avaliar um imóvel' };

/** The page tabs for the signed-in user (the broker's own pages or the manager's). */
export function navFor(user, current) {
  if (user.role === 'broker') {
    const pages = [['/console.html', 'Atendimentos'], ['/oferta.html', 'Oferta ativa'], ['/clientes.html', 'Meus clientes']];
    return pages.map(([href, text]) => `<a href="${href}"${href === current ? ' aria-current="page"' : ''}>${esc(text)}</a>`).join('');
  }
  return managerNav(current);
}

/**
 * "05/01/2026" → epoch ms of that day's start in Brasília time (UTC−3), or of the next day's
 * start when `endOfDay`; null when empty; NaN when not a real date.
 */
export function parseDateBR(text, endOfDay = false) {
  const t = String(text || '').trim();
  if (!t) return null;
  const m = /^(\d{1,2})\/(\d{1,2})\/(\d{4})$/.exec(t);
  if (!m) return NaN;
  const [d, mo, y] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const probe = new Date(Date.UTC(y, mo - 1, d));
  if (probe.getUTCFullYear() !== y || probe.getUTCMonth() !== mo - 1 || probe.getUTCDate() !== d) return NaN;
  return Date.UTC(y, mo - 1, d + (endOfDay ? 1 : 0), 3, 0, 0);
}

/** Types "0501" as "05/01" while the person writes. */
export function maskDate(input) {
  input.addEventListener('input', () => {
    const digits = input.value.replace(/\D/g, '').slice(0, 8);
    const parts = [digits.slice(0, 2), digits.slice(2, 4), digits.slice(4)].filter(Boolean);
    input.value = parts.join('/');
  });
}
