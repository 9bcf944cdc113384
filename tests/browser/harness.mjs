// What every browser script shares: numbered steps that print "ok"/"FAIL", assertions, a free
// port, and the closing "N passed, M failed" line that scripts/test reads.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const tally = { passed: 0, failed: 0 };

/** The checkout, the server binary under test (ROLETA_BIN, else the debug build) and where
 * screenshots go. */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = process.env.ROLETA_BIN || path.join(ROOT, 'target/debug/roleta');
export const ARTIFACTS = path.join(ROOT, 'tests/artifacts');
fs.mkdirSync(ARTIFACTS, { recursive: true });

/** One JSON call to the server at `base` as `token`: its status and parsed body. */
export async function apiCall(base, method, url, body, token) {
  const r = await fetch(`${base}${url}`, {
    method, headers: { Authorization: `Bearer ${token}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null };
}

/** No horizontal scrolling: the page is no wider than its viewport. */
export async function noSideways(page, where) {
  const { sw, iw } = await page.evaluate(() => ({ sw: document.documentElement.scrollWidth, iw: innerWidth }));
  expect(sw <= iw, `${where}: the page is ${sw} px wide in a ${iw} px viewport`);
}

/** Runs one step; a failure is printed once and rethrown (marked as reported). */
export async function step(name, fn) {
  const t0 = Date.now();
  try {
    await fn();
    tally.passed += 1;
    console.log(`ok   ${name} (${Date.now() - t0} ms)`);
  } catch (err) {
    tally.failed += 1;
    console.log(`FAIL ${name}\n     ${String(err?.stack || err).split('\n').slice(0, 4).join('\n     ')}`);
    throw Object.assign(err instanceof Error ? err : new Error(String(err)), { reported: true });
  }
}

export function expect(cond, msg) { if (!cond) throw new Error(msg); }

/** Every context is a Brazilian broker's phone or desktop: pt-BR, Brasília time. */
export const BRAZIL = { locale: 'pt-BR', timezoneId: 'America/Sao_Paulo' };

/**
 * Chromium's own language, which native date inputs (dd/mm/aaaa) and validation bubbles follow
 * rather than the context's locale: on Linux it is read from LANGUAGE and needs Debian's
 * chromium-l10n (scripts/test installs it). Spread into `chromium.launch`, then add the args.
 */
export const BRAZIL_LAUNCH = { env: { ...process.env, LANGUAGE: 'pt_BR' }, args: ['--lang=pt-BR'] };

/** Chromium speaks pt-BR itself (a required field's native message), else why not. */
export async function expectBrazilianBrowser(page) {
  const seen = await page.evaluate(() => {
    const i = document.createElement('input');
    i.required = true;
    return { message: i.validationMessage, tz: Intl.DateTimeFormat().resolvedOptions().timeZone, lang: navigator.language };
  });
  expect(seen.lang === 'pt-BR' && seen.tz === 'America/Sao_Paulo', `the context is not Brazilian: ${JSON.stringify(seen)}`);
  expect(!/please|fill/i.test(seen.message), `Chromium speaks English (“${seen.message}”): launch with BRAZIL_LAUNCH and install Debian's chromium-l10n`);
}

export const freePort = () => new Promise((resolve) => {
  const s = net.createServer().listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
});

/** An error outside any step counts as a failure too; then the summary line and the exit code. */
export function finish(err) {
  if (err && !err.reported) { tally.failed += 1; console.log(`FAIL ${err?.stack || err}`); }
  console.log(`${tally.passed} passed, ${tally.failed} failed`);
  process.exit(tally.failed === 0 ? 0 : 1);
}

/** Sideways scroll, boxes wider than the screen and (on touch) targets under 44 px. */
export function measure(touch) {
  const vw = window.innerWidth;
  const visible = (el) => {
    const cs = getComputedStyle(el);
    const r = el.getBoundingClientRect();
    return cs.display !== 'none' && cs.visibility !== 'hidden' && r.width > 0 && r.height > 0;
  };
  const wide = [...document.body.querySelectorAll('*')].filter((el) => visible(el) && !el.closest('dialog:not([open])'))
    .filter((el) => { const r = el.getBoundingClientRect(); return r.right > vw + 0.5 || r.left < -0.5; })
    .map((el) => el.tagName + (el.id ? `#${el.id}` : ''));
  const small = !touch ? [] : [...document.querySelectorAll('a[href], button, input, select, textarea')].filter(visible)
    .filter((el) => { const r = el.getBoundingClientRect(); return r.height < 43.5 || r.width < 43.5; })
    .map((el) => `${el.tagName}${el.id ? `#${el.id}` : ''} “${(el.textContent || '').trim().slice(0, 20)}”`);
  return { scroll: document.documentElement.scrollWidth, vw, wide: wide.slice(0, 8), small: small.slice(0, 8) };
}
export async function checkLayout(page, size, what) {
  const m = await page.evaluate(measure, size === 'phone');
  expect(m.scroll <= m.vw, `${what}: the page scrolls sideways (${m.scroll} > ${m.vw})`);
  expect(m.wide.length === 0, `${what}: wider than the screen: ${m.wide.join(', ')}`);
  expect(m.small.length === 0, `${what}: smaller than 44 px: ${m.small.join(', ')}`);
}
