// A broker's whole day on a phone (390x844, touch, pt-BR, Brasília time), step by step as she
// lives it: she signs in, goes online, a lead arrives from a portal (POST /api/v1/leads with the
// agency's key) while the phone is in another app, she answers from the notification's
// "Atender" (the service worker's handler), taps WhatsApp (the agency's own first message, the
// 55-prefixed number) and logs the attempt in one tap, logs the contact, then finds the client
// on "Meus clientes" and reads the offer accepted, the attempt and the contact on the record's
// timeline in pt-BR. Against the real `roleta` binary serving this worktree's static/ on a fresh
// SQLite file with the demo agency. Screenshots: tests/artifacts/day-*.png.
// Prints "N passed, M failed".
import { chromium } from 'playwright-core';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { step, expect, freePort, finish, BRAZIL, BRAZIL_LAUNCH, expectBrazilianBrowser, apiCall, noSideways, ROOT, BIN, ARTIFACTS } from './harness.mjs';

const root = ROOT;
const bin = BIN;
const artifacts = ARTIFACTS;
const API_KEY = 'rk_demo_site_0123456789abcdef';
const PASSWORD = 'demo1234';
const BROKER = { email: 'ana@demo.roleta', name: 'Ana Corretora' };
// The agency's own first message (not the default), so the link is seen to carry it.
const TEMPLATE = 'Bom dia, {cliente}! Aqui é {corretor}, da {imobiliaria}. Vi que você gostou do imóvel {imovel}.';
const CLIENT = { name: 'Renata Albuquerque', phone: '(21) 99876-5432', property: 'AP-101' };
const WANT_TEXT = `Bom dia, ${CLIENT.name}! Aqui é ${BROKER.name}, da Imobiliária Demo. Vi que você gostou do imóvel AP-101.`;
const NOTE = 'Respondeu no WhatsApp: quer visitar o AP-101 na quinta às 18h';
const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 };

const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roleta-day-'));
const server = spawn(bin, ['--port', String(port), '--database-url', `sqlite://${dir}/roleta.db?mode=rwc`], {
  cwd: root,
  env: { ...process.env, ROLETA__LOG__FILTER: 'warn', ROLETA__SERVER__STATIC_DIR: process.env.ROLETA__SERVER__STATIC_DIR || path.join(root, 'static') },
  stdio: ['ignore', 'ignore', 'inherit'],
});
let browser;
let failure;
let managerToken;
const errors = [];
const shot = (page, name) => page.screenshot({ path: path.join(artifacts, `day-${name}.png`), fullPage: true });

const call = (method, url, body, token = managerToken) => apiCall(base, method, url, body, token);


/** The control is on screen, at least 44 px each way, and a tap at its centre reaches it. */
async function tappable(page, sel) {
  await page.locator(sel).first().scrollIntoViewIfNeeded();
  const r = await page.evaluate((s) => {
    const el = document.querySelector(s);
    const b = el.getBoundingClientRect();
    const hit = document.elementFromPoint(b.x + b.width / 2, b.y + b.height / 2);
    return { x: b.x, y: b.y, w: b.width, h: b.height, iw: innerWidth, ih: innerHeight, hit: !!hit?.closest(s) };
  }, sel);
  expect(r.x >= 0 && r.y >= 0 && r.x + r.w <= r.iw && r.y + r.h <= r.ih, `${sel} outside the screen: ${JSON.stringify(r)}`);
  expect(r.w >= 43.5 && r.h >= 43.5, `${sel} smaller than 44 px: ${r.w}×${r.h}`);
  expect(r.hit, `${sel} is covered by something else`);
}

/** Taps like a thumb: the control must be tappable first. */
async function tap(page, sel) {
  await page.waitForSelector(sel);
  await tappable(page, sel);
  await page.tap(sel);
}

/** What a broker must never read: English words or the server's codes. */
function noCodes(text, where) {
  const bad = /offer_accepted|contact_logged|contact_attempt|lead_created|attendance_|whatsapp_|\bundefined\b|\bnull\b|\bNaN\b|\b(accepted|offered|attempt|contact|broker|lead created)\b/i.exec(text);
  expect(!bad, `${where}: “${bad?.[0]}” is shown: ${text}`);
}

try {
  for (let i = 0; i < 100; i += 1) {
    try { if ((await fetch(`${base}/healthz`)).ok) break; } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 200));
  }
  const login = await call('POST', '/api/v1/auth/login', { email: 'gestor@demo.roleta', password: PASSWORD });
  expect(login.status === 200, `the manager's sign-in: ${login.status}`);
  managerToken = login.body.token;
  expect((await call('PUT', '/api/v1/settings/messages', { whatsapp_template: TEMPLATE })).status === 200, 'the agency\'s message');
  // Time enough to answer from the notification; a refused lead does not come back during the test.
  expect((await call('PUT', '/api/v1/settings/roulette', { answer_seconds: 30, retry_pause_seconds: 86400, max_missed_in_row: 3 })).status === 200,
    'the roulette settings');

  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium', ...BRAZIL_LAUNCH,
    args: [...BRAZIL_LAUNCH.args, '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic',
      '--no-first-run', '--disable-component-update', '--disable-sync', '--autoplay-policy=no-user-gesture-required'],
  });
  const ctx = await browser.newContext({ ...PHONE, ...BRAZIL, permissions: ['notifications'], serviceWorkers: 'allow' });
  const ana = await ctx.newPage();
  ana.on('pageerror', (e) => errors.push(`console/clientes: ${e.message}`));

  let anaId;
  await step('1. Ana signs in on her phone and lands on her console, told what to do', async () => {
    await ana.goto(`${base}/`);
    await expectBrazilianBrowser(ana);
    await ana.waitForSelector('#login');
    await noSideways(ana, 'the sign-in page');
    await shot(ana, '01-entrar');
    await ana.fill('#email', BROKER.email);
    await ana.fill('#password', PASSWORD);
    await tap(ana, '#login button[type=submit]');
    await ana.waitForURL(/console\.html/);
    await ana.waitForSelector('body[data-ready="1"]');
    await ana.waitForSelector('#conn[data-state="open"]');
    await ana.waitForSelector('#toggle[data-state="ready"][aria-checked="false"]');
    anaId = await ana.evaluate(async () => (await (await fetch('/api/v1/me')).json()).user.id);
    expect((await ana.textContent('#toggle-text')) === 'Indisponível', `the toggle reads: ${await ana.textContent('#toggle-text')}`);
    expect((await ana.textContent('#empty')).includes('Fique disponível para receber leads'), 'the empty console says what to do');
    await noSideways(ana, 'the empty console');
    await shot(ana, '02-console');
  });

  await step('2. one tap on the toggle: she is online ("Disponível")', async () => {
    await tap(ana, '#toggle');
    await ana.waitForSelector('#toggle[aria-checked="true"][data-state="ready"]');
    expect((await ana.textContent('#toggle-text')) === 'Disponível', `the toggle reads: ${await ana.textContent('#toggle-text')}`);
    await shot(ana, '03-disponivel');
  });

  let lead; let offerId; let worker;
  await step('3. a portal sends a lead while the phone is in another app: the OS shows "Atender"', async () => {
    worker = ctx.serviceWorkers()[0] || await ctx.waitForEvent('serviceworker');
    // The phone is in another app: the console is not the focused page. Headless Chromium keeps
    // every tab focused, so the page is told so, as a phone in the background would tell it.
    await ana.evaluate(() => { window.dayFocus = document.hasFocus; document.hasFocus = () => false; });
    const r = await fetch(`${base}/api/v1/leads`, {
      method: 'POST', headers: { Authorization: `Bearer ${API_KEY}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: CLIENT.name, phone: CLIENT.phone, property_code: CLIENT.property }),
    });
    expect(r.status === 202, `the portal's lead: ${r.status}`);
    lead = await r.json();
    await ana.waitForSelector('#offer[open]:not(.hidden) #offer-buttons:not(.hidden)');
    offerId = await ana.evaluate(() => window.roleta.offer.offer_id);
    expect((await ana.textContent('#offer-client')).includes(CLIENT.name), 'the sheet names the client');
    const shown = await worker.evaluate(async (tag) => {
      for (let i = 0; i < 50; i += 1) {
        const [n] = await self.registration.getNotifications({ tag });
        if (n) return { title: n.title, body: n.body, data: n.data, actions: n.actions.map((a) => `${a.action}=${a.title}`) };
        await new Promise((res) => setTimeout(res, 100));
      }
      return null;
    }, `offer-${offerId}`);
    expect(shown, 'no notification was shown for the offer');
    expect(shown.title === 'Novo lead na roleta', `the notification's title: ${shown.title}`);
    expect(shown.body.startsWith(`${CLIENT.name} — você tem `) && shown.body.endsWith(' s para atender'), `its text: ${shown.body}`);
    expect(shown.actions.join('|') === 'accept=Atender|refuse=Recusar', `its actions: ${shown.actions.join('|')}`);
    expect(shown.data?.offer_id === offerId, `it carries the offer: ${JSON.stringify(shown.data)}`);
    await ana.evaluate(() => { document.hasFocus = window.dayFocus; });
    await ana.waitForTimeout(300); // the sheet's entrance animation
    await shot(ana, '04-oferta');
  });

  await step('4. "Atender" on the notification: the lead is hers and the console says so', async () => {
    // What the worker's notificationclick does with the notification it is given (a
    // NotificationEvent cannot be made by hand): close it, answer with its action, focus the console.
    const status = await worker.evaluate(async (tag) => {
      const [n] = await self.registration.getNotifications({ tag });
      n.close();
      return self.answerFromNotification(n.data, 'accept');
    }, `offer-${offerId}`);
    expect(status === 204, `the worker's answer: ${status}`);
    const view = await call('GET', `/api/v1/leads/${lead.lead_id}`);
    expect(view.body?.broker_id === anaId, `the lead's broker: ${JSON.stringify(view.body?.broker_id)} (Ana is ${anaId})`);
    await ana.waitForSelector('#offer-title:has-text("Lead atribuído")');
    await ana.waitForSelector(`#pending tr[data-lead="${lead.lead_id}"]`);
    const left = await worker.evaluate(async (tag) => (await self.registration.getNotifications({ tag })).length, `offer-${offerId}`);
    expect(left === 0, `the notification is still there: ${left}`);
    await shot(ana, '05-atribuido');
    await tap(ana, '#offer-dismiss');
    await ana.waitForSelector('#offer', { state: 'hidden' });
    const row = await ana.textContent(`#pending tr[data-lead="${lead.lead_id}"]`);
    expect(row.includes(CLIENT.name) && row.includes(CLIENT.phone), `the pending card: ${row}`);
    await noSideways(ana, 'the console with the pending card');
  });

  const card = () => `#pending tr[data-lead="${lead.lead_id}"]`;
  await step('5. WhatsApp opens the chat with the agency\'s message; the attempt is logged in one tap', async () => {
    const wa = `${card()} a.wa-btn`;
    const href = await ana.getAttribute(wa, 'href');
    expect(href.startsWith('https://wa.me/5521998765432?text='), `the wa.me link: ${href}`);
    const text = decodeURIComponent(href.split('?text=')[1]);
    expect(text === WANT_TEXT, `the first message: “${text}”`);
    // Keep the browser on the page: the test machine has no way out to wa.me.
    await ana.evaluate(() => document.addEventListener('click', (e) => { if (e.target.closest('a[data-attempt]')) e.preventDefault(); }, true));
    await tap(ana, wa);
    const log = `${card()} [data-log-attempt]`;
    await ana.waitForSelector(log);
    expect((await ana.textContent(log)) === 'Registrar tentativa de contato (WhatsApp)', `the one-tap log: ${await ana.textContent(log)}`);
    await shot(ana, '06-whatsapp');
    await tap(ana, log);
    await ana.waitForSelector(`${card()} .attempt-ok:has-text("Tentativa registrada")`);
    expect(await ana.isVisible(card()), 'the attempt does not conclude the attendance');
    await shot(ana, '07-tentativa');
  });

  await step('6. "Registrar contato": she writes what they talked about and the attendance is done', async () => {
    await tap(ana, `${card()} [data-contact]`);
    await ana.waitForSelector('#contact-dialog[open]');
    await noSideways(ana, 'the contact form');
    await ana.selectOption('#contact-kind', 'whatsapp');
    await ana.fill('#contact-note', NOTE);
    await shot(ana, '08-contato');
    await tap(ana, '#contact-save');
    await ana.waitForSelector('#contact-dialog', { state: 'hidden' });
    await ana.waitForSelector(card(), { state: 'detached' });
    await ana.waitForSelector('#empty:not(.hidden)');
    await shot(ana, '09-concluido');
  });

  await step('7. "Meus clientes": she finds the client by name, with the phone formatted', async () => {
    await tap(ana, 'header a[href="/clientes.html"]');
    await ana.waitForURL(/clientes\.html/);
    await ana.waitForSelector('body[data-ready="1"]');
    expect((await ana.textContent('h1')).includes('Meus clientes'), 'the title says Meus clientes');
    await ana.fill('#f-q', 'Renata');
    await tap(ana, '#filters button[type=submit]');
    await ana.waitForFunction(() => {
      const rows = document.querySelectorAll('#list li[data-client]');
      return rows.length === 1 && rows[0].textContent.includes('Renata');
    });
    const row = await ana.textContent('#list li[data-client]');
    expect(row.includes(CLIENT.name) && row.includes(CLIENT.phone), `the client's row: ${row}`);
    noCodes(row, 'the client\'s row');
    await noSideways(ana, 'Meus clientes');
    await shot(ana, '10-meus-clientes');
  });

  await step('8. the client record\'s timeline reads the offer accepted, the attempt and the contact, in pt-BR', async () => {
    await tap(ana, '#list li[data-client] a.open');
    await ana.waitForURL(/cliente\.html\?id=\d+/);
    await ana.waitForSelector('#record:not(.hidden)');
    expect((await ana.textContent('#name')) === CLIENT.name, `the record's name: ${await ana.textContent('#name')}`);
    const entries = await ana.$$eval('#timeline li', (lis) => lis.map((li) => ({
      kind: li.dataset.kind, when: li.querySelector('.when')?.textContent, what: li.querySelector('.what')?.textContent,
      note: li.querySelector('.note')?.textContent || '',
    })));
    const find = (kind) => entries.find((e) => e.kind === kind);
    const number = (await call('GET', `/api/v1/leads/${lead.lead_id}`)).body?.number;
    const lead_ = number ? ` (lead ${number})` : '';
    const accepted = find('offer_accepted');
    const attempt = find('contact_attempt');
    const contact = find('contact_logged');
    expect(accepted?.what === `${BROKER.name} aceitou${lead_}`, `the accepted offer: ${JSON.stringify(accepted)} in ${JSON.stringify(entries)}`);
    expect(attempt?.what === `Tentativa de contato por WhatsApp — ${BROKER.name}${lead_}`, `the attempt: ${JSON.stringify(attempt)} in ${JSON.stringify(entries)}`);
    expect(contact?.what === `Contato registrado por ${BROKER.name}: WhatsApp${lead_}`, `the contact: ${JSON.stringify(contact)} in ${JSON.stringify(entries)}`);
    expect(contact.note === NOTE, `the contact's note: ${contact.note}`);
    for (const e of [accepted, attempt, contact]) expect(/^\d{2}\/\d{2}\/\d{4} \d{2}:\d{2}$/.test(e.when), `a date as dd/mm/aaaa hh:mm: ${e.when}`);
    // One order for the day, whichever way the timeline runs: accepted, attempt, contact.
    const at = [accepted, attempt, contact].map((e) => entries.indexOf(e));
    expect((at[0] < at[1] && at[1] < at[2]) || (at[0] > at[1] && at[1] > at[2]), `the day's order on the timeline: ${at.join(', ')}`);
    noCodes(await ana.textContent('#timeline'), 'the timeline');
    await noSideways(ana, 'the client record');
    await ana.locator('#timeline').scrollIntoViewIfNeeded();
    await ana.screenshot({ path: path.join(artifacts, 'day-11-linha-do-tempo.png') });
    await ana.evaluate(() => scrollTo(0, 0));
    await shot(ana, '12-ficha');
  });

  await step('no script error on any page of the day', async () => {
    expect(errors.length === 0, `page errors: ${errors.join(' | ')}`);
  });
} catch (err) {
  failure = err;
} finally {
  await browser?.close().catch(() => {});
  server.kill();
  fs.rmSync(dir, { recursive: true, force: true });
}
finish(failure);
