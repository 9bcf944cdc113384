// The broker's day in a real browser, on a phone (390×844, touch) and a desktop (1366×768):
// no sideways scrolling, the offer sheet's Atender / Recusar inside the screen and tappable, the
// sound repeating until the offer is answered, Esc not refusing, the sheet above an open dialog,
// Ligar / WhatsApp with the agency's message and the contact-attempt log, an offer answered from
// the notification action (the service worker's handler), the toggle's queued tap while
// reconnecting, auto-offline in pt-BR with one tap back, and the offline shell. Against the real
// `roleta` binary serving this worktree's static/ on a fresh SQLite file with the demo agency.
// Screenshots: tests/artifacts/broker-*.png. Prints "N passed, M failed".
import { chromium } from 'playwright-core';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { step, expect, freePort, finish, BRAZIL, BRAZIL_LAUNCH, apiCall, noSideways, ROOT, BIN, ARTIFACTS } from './harness.mjs';

const root = ROOT;
const bin = BIN;
const artifacts = ARTIFACTS;
const API_KEY = 'rk_demo_site_0123456789abcdef';
const PASSWORD = 'demo1234';
// The agency's first WhatsApp message: the default on the phone run, its own on the desktop run.
const CUSTOM = 'Oi {cliente}! Sou {corretor}, da {imobiliaria}, sobre o imóvel {imovel}.';
const expectedText = (size, cliente) => (size === 'phone'
  ? `Olá ${cliente}, aqui é Ana Corretora da Imobiliária Demo. Recebi seu interesse no imóvel AP-101 e estou à disposição para ajudar.`
  : `Oi ${cliente}! Sou Ana Corretora, da Imobiliária Demo, sobre o imóvel AP-101.`);

// A fresh server (and database) for each screen size: leads left waiting by one run's refusals
// and silences would be offered first in the other.
let base; let server; let dir;
async function startServer() {
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roleta-broker-'));
  server = spawn(bin, ['--port', String(port), '--database-url', `sqlite://${dir}/roleta.db?mode=rwc`], {
    cwd: root,
    env: { ...process.env, ROLETA__LOG__FILTER: 'warn', ROLETA__SERVER__STATIC_DIR: path.join(root, 'static') },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  for (let i = 0; i < 100; i += 1) {
    try { if ((await fetch(`${base}/healthz`)).ok) break; } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 200));
  }
  const login = await (await fetch(`${base}/api/v1/auth/login`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email: 'gestor@demo.roleta', password: PASSWORD }),
  })).json();
  managerToken = login.token;
  // Long enough to look at the sheet; a refused lead does not come back during the test.
  const set = await call('PUT', '/api/v1/settings/roulette', { answer_seconds: 20, retry_pause_seconds: 86400, max_missed_in_row: 3 });
  expect(set.status === 200, `settings: ${set.status}`);
}
async function stopServer() {
  if (server && server.exitCode === null) {
    const gone = new Promise((r) => server.once('exit', r));
    server.kill('SIGTERM');
    await gone;
  }
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
}

/** Without the server the console still opens from the worker's cache; other pages say "sem conexão". */
async function offlineShell(size, page) {
  await step(`${size}: without the server the console opens from the cache and other pages say "sem conexão"`, async () => {
    await stopServer();
    await page.goto(`${base}/console.html`);
    await page.waitForSelector('#toggle-hint:has-text("Sem conexão — verifique a internet")');
    await noSideways(page, 'offline console');
    await shot(page, `${size}-console-sem-conexao`);
    await page.goto(`${base}/pagina-que-nao-existe.html`);
    await page.waitForSelector('text=Sem conexão — verifique a internet e tente de novo');
    await noSideways(page, 'offline page');
    await shot(page, `${size}-sem-conexao`);
  });
}

let browser;
let managerToken;
let phoneSeq = 0;
let failure = null;

const call = (method, url, body, token = managerToken) => apiCall(base, method, url, body, token);

async function postLead(name, propertyCode) {
  phoneSeq += 1;
  const phone = `(11) 9${String(8200 + phoneSeq)}-${String(1000 + phoneSeq)}`;
  const r = await fetch(`${base}/api/v1/leads`, {
    method: 'POST', headers: { Authorization: `Bearer ${API_KEY}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ name, phone, property_code: propertyCode }),
  });
  expect(r.status === 202, `lead not accepted: ${r.status}`);
  return { ...(await r.json()), phone };
}

const SIZES = {
  phone: { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true },
  desktop: { viewport: { width: 1366, height: 768 } },
};

async function signIn(size, email) {
  const ctx = await browser.newContext({ ...SIZES[size], ...BRAZIL, permissions: ['notifications'], serviceWorkers: 'allow' });
  const page = await ctx.newPage();
  page.on('pageerror', (e) => console.log(`     page error (${email}, ${size}): ${e.message}`));
  await page.goto(`${base}/`);
  await page.fill('#email', email);
  await page.fill('#password', PASSWORD);
  await page.click('button[type=submit]');
  await page.waitForURL(/console\.html/);
  await page.waitForSelector('body[data-ready="1"]');
  await page.waitForSelector('#conn[data-state="open"]');
  return page;
}

const shot = (page, name) => page.screenshot({ path: path.join(artifacts, `broker-${name}.png`) });


/** The button is inside the viewport, at least 44 px each way, and a tap at its centre reaches it. */
async function tappable(page, sel) {
  const r = await page.evaluate((s) => {
    const el = document.querySelector(s);
    const b = el.getBoundingClientRect();
    const hit = document.elementFromPoint(b.x + b.width / 2, b.y + b.height / 2);
    return { x: b.x, y: b.y, w: b.width, h: b.height, iw: innerWidth, ih: innerHeight, hit: !!hit?.closest(s) };
  }, sel);
  expect(r.x >= 0 && r.y >= 0 && r.x + r.w <= r.iw && r.y + r.h <= r.ih, `${sel} outside the viewport: ${JSON.stringify(r)}`);
  expect(r.w >= 44 && r.h >= 44, `${sel} smaller than 44 px: ${r.w}×${r.h}`);
  expect(r.hit, `${sel} is covered by something else`);
}

const sheetOpen = '#offer[open]:not(.hidden) #offer-buttons:not(.hidden)';

async function brokerDay(size, email) {
  let ana; let anaId;
  await step(`${size}: the console fits, says what to do when empty and goes online`, async () => {
    ana = await signIn(size, email);
    anaId = await ana.evaluate(async () => (await (await fetch('/api/v1/me')).json()).user.id);
    await ana.waitForSelector('#toggle[data-state="ready"]');
    await ana.waitForSelector('#empty:not(.hidden)');
    expect((await ana.textContent('#empty')).includes('Fique disponível para receber leads'), 'empty state says what to do');
    await noSideways(ana, 'empty console');
    await tappable(ana, '#toggle');
    await shot(ana, `${size}-vazio`);
    await ana.click('#toggle');
    await ana.waitForSelector('#toggle[aria-checked="true"][data-state="ready"]');
  });

  let first;
  await step(`${size}: the offer sheet's buttons are on screen and tappable; the sound repeats until the accept`, async () => {
    first = await postLead(`Maria ${size}`, 'AP-101');
    await ana.waitForSelector(sheetOpen);
    await ana.waitForTimeout(300); // the entrance animation
    await tappable(ana, '#accept');
    await tappable(ana, '#refuse');
    await noSideways(ana, 'offer sheet');
    const box = await ana.evaluate(() => { const b = document.getElementById('offer').getBoundingClientRect(); return { l: b.left, r: b.right, t: b.top, b: b.bottom, iw: innerWidth, ih: innerHeight }; });
    if (size === 'phone') expect(Math.abs(box.b - box.ih) < 1 && box.l <= 0.5 && Math.abs(box.r - box.iw) < 1, `a bottom sheet: ${JSON.stringify(box)}`);
    else expect(Math.abs((box.l + box.r) / 2 - box.iw / 2) < 2 && Math.abs((box.t + box.b) / 2 - box.ih / 2) < 2, `a centred dialog: ${JSON.stringify(box)}`);
    expect((await ana.title()).includes('Novo lead') || (await ana.evaluate(() => new Promise((r) => setTimeout(() => r(document.title), 1100)))).includes('Novo lead'),
      'the tab title flashes');
    await shot(ana, `${size}-oferta`);
    const b0 = await ana.evaluate(() => window.roleta.beeps);
    await ana.waitForTimeout(4300);
    const b1 = await ana.evaluate(() => window.roleta.beeps);
    expect(b1 - b0 >= 2, `the sound repeats every 2 s: ${b0} → ${b1}`);
    await ana.click('#accept');
    await ana.waitForSelector('#offer-contact:not(.hidden) .wa-btn');
    const b2 = await ana.evaluate(() => window.roleta.beeps);
    await ana.waitForTimeout(2500);
    expect(await ana.evaluate(() => window.roleta.beeps) === b2, 'the sound stops once answered');
    expect(!(await ana.title()).includes('Novo lead'), 'the title is back');
  });

  await step(`${size}: the accepted client has Ligar and WhatsApp with the agency's message`, async () => {
    const href = await ana.getAttribute('#offer-contact .wa-btn', 'href');
    const digits = `55${first.phone.replace(/\D/g, '')}`;
    expect(href.startsWith(`https://wa.me/${digits}?text=`), `wa.me link: ${href}`);
    const text = decodeURIComponent(href.split('?text=')[1]);
    expect(text === expectedText(size, `Maria ${size}`), `template text: ${text}`);
    expect(await ana.getAttribute('#offer-contact .call-btn', 'href') === `tel:+${digits}`, 'tel: link');
    const shown = await ana.textContent('#offer-contact .phone-num');
    expect(/^\(11\) 9\d{4}-\d{4}$/.test(shown), `formatted phone: ${shown}`);
    await tappable(ana, '#offer-contact .wa-btn');
    await shot(ana, `${size}-aceito`);
    await ana.click('#offer-dismiss');
    await ana.waitForSelector('#offer', { state: 'hidden' });
  });

  await step(`${size}: the pending card has WhatsApp; a tap offers to log the attempt, which is recorded`, async () => {
    const card = `#pending tr[data-lead="${first.lead_id}"]`;
    await ana.waitForSelector(`${card} .wa-btn`);
    await noSideways(ana, 'pending grid');
    const nowrap = await ana.$eval(`${card} .phone-num`, (e) => getComputedStyle(e).whiteSpace);
    expect(nowrap === 'nowrap', `the phone number never breaks: ${nowrap}`);
    await shot(ana, `${size}-pendentes`);
    // Keep the browser on the page: the test machine has no way out to wa.me.
    await ana.evaluate(() => document.addEventListener('click', (e) => { if (e.target.closest('a[data-attempt]')) e.preventDefault(); }, true));
    await ana.click(`${card} .wa-btn`);
    await ana.click(`${card} [data-log-attempt]`);
    await ana.waitForSelector(`${card} .attempt:not(.hidden)`);
    await shot(ana, `${size}-tentativa`);
    await ana.waitForSelector(`${card} .attempt-ok:has-text("Tentativa registrada")`);
    expect(await ana.isVisible(card), 'the attempt does not conclude the attendance');
  });

  await step(`${size}: "Editar" with a comment too long says so in erros.js's pt-BR, next to the field`, async () => {
    await ana.click(`#pending tr[data-lead="${first.lead_id}"] [data-edit]`);
    await ana.waitForSelector('#edit-dialog[open]');
    await ana.fill('#edit-comment', 'x'.repeat(4001));
    await ana.click('#edit-form button[value="save"]');
    await ana.waitForSelector('#edit-comment[aria-invalid="true"]');
    const said = await ana.textContent('#edit-form [data-error-for="comment"]');
    expect(said === 'O campo “Observações” pode ter no máximo 4000 caracteres.', `the comment's error: ${said}`);
    await ana.click('#edit-form button[value="cancel"]');
    await ana.waitForSelector('#edit-dialog', { state: 'hidden' });
    expect(await ana.isVisible(`#pending tr[data-lead="${first.lead_id}"]`), 'the refused edit does not conclude the attendance');
  });

  await step(`${size}: an offer while the contact form is open comes on top; Esc neither refuses nor hides it`, async () => {
    await ana.click(`#pending tr[data-lead="${first.lead_id}"] [data-contact]`);
    await ana.waitForSelector('#contact-dialog[open]');
    await ana.fill('#contact-note', 'Anotando enquanto chega outro lead');
    await postLead(`João ${size}`);
    await ana.waitForSelector(sheetOpen);
    await ana.waitForTimeout(300);
    await tappable(ana, '#accept');
    await ana.keyboard.press('Escape');
    await ana.waitForTimeout(200);
    await ana.keyboard.press('Escape');
    await ana.waitForTimeout(500);
    expect(await ana.isVisible('#offer-buttons'), 'the sheet is still there after Esc');
    expect(await ana.evaluate(() => window.roleta.offer !== null), 'the offer is still open');
    await tappable(ana, '#refuse');
    await shot(ana, `${size}-oferta-sobre-formulario`);
    await ana.click('#refuse');
    await ana.waitForSelector('#offer-closed:has-text("Você recusou")');
    await ana.waitForSelector('#offer', { state: 'hidden' });
    expect(await ana.inputValue('#contact-note') === 'Anotando enquanto chega outro lead', 'the form kept what was typed');
    await ana.click('#contact-dialog button[value="cancel"]');
  });

  await step(`${size}: an offer answered from the notification's Atender is the broker's`, async () => {
    const lead = await postLead(`Paula ${size}`);
    await ana.waitForSelector(sheetOpen);
    const offerId = await ana.evaluate(() => window.roleta.offer.offer_id);
    const sw = ana.context().serviceWorkers()[0] || await ana.context().waitForEvent('serviceworker');
    const status = await sw.evaluate((id) => self.answerFromNotification({ offer_id: id }, 'accept'), offerId);
    expect(status === 204, `the worker's answer: ${status}`);
    const view = await call('GET', `/api/v1/leads/${lead.lead_id}`);
    expect(view.body?.broker_id === anaId, `the lead's broker: ${JSON.stringify(view.body?.broker_id)}`);
    await ana.waitForSelector('#offer-title:has-text("Lead atribuído")');
    await ana.waitForSelector(`#pending tr[data-lead="${lead.lead_id}"]`);
    await shot(ana, `${size}-aceito-pela-notificacao`);
    await ana.click('#offer-dismiss');
  });
  return ana;
}

async function oferta(size, ana) {
  await step(`${size}: the calling screen fits and its buttons are tappable`, async () => {
    await ana.goto(`${base}/oferta.html`);
    await ana.waitForSelector('body[data-ready="1"]');
    await noSideways(ana, 'oferta.html');
    await shot(ana, `${size}-oferta-ativa`);
    await ana.goto(`${base}/console.html`);
    await ana.waitForSelector('body[data-ready="1"]');
  });
}

try {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium', ...BRAZIL_LAUNCH,
    args: [...BRAZIL_LAUNCH.args, '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic',
      '--no-first-run', '--disable-component-update', '--disable-sync', '--autoplay-policy=no-user-gesture-required'],
  });
  await startServer();
  const phone = await brokerDay('phone', 'ana@demo.roleta');
  await oferta('phone', phone);

  await step('phone: a tap on the toggle while reconnecting is applied when the socket returns', async () => {
    await phone.click('#toggle'); // off
    await phone.waitForSelector('#toggle[aria-checked="false"][data-state="ready"]');
    await phone.context().setOffline(true);
    await phone.evaluate(() => window.roleta.socket?.close());
    await phone.waitForSelector('#conn[data-state="reconnecting"]');
    await phone.click('#toggle');
    await phone.waitForSelector('#toggle-hint:not(.hidden):has-text("assim que a conexão voltar")');
    await shot(phone, 'phone-reconectando');
    await phone.context().setOffline(false);
    await phone.waitForSelector('#conn[data-state="open"]', { timeout: 40000 });
    await phone.waitForSelector('#toggle[aria-checked="true"][data-state="ready"]');
    await phone.waitForSelector('#toggle-hint', { state: 'hidden' });
  });

  await step('phone: after 3 silent offers the broker is told in pt-BR and comes back in one tap', async () => {
    expect((await call('PUT', '/api/v1/settings/roulette', { answer_seconds: 2 })).status === 200, 'short answer time');
    for (let i = 0; i < 3; i += 1) await postLead(`Silêncio ${i}`);
    try {
      await phone.waitForSelector('#toggle[aria-checked="false"][data-state="ready"]', { timeout: 30000 });
      await phone.waitForSelector('#auto-offline:not(.hidden)', { timeout: 3000 });
    } finally {
      await call('PUT', '/api/v1/settings/roulette', { answer_seconds: 20 });
    }
    expect((await phone.textContent('#auto-offline')).includes('Você ficou indisponível após 3 ofertas sem resposta'), 'the pt-BR reason');
    expect(!(await phone.textContent('body')).includes('without an answer'), 'no English from the server');
    await phone.waitForSelector('#offer', { state: 'hidden' });
    await tappable(phone, '#back-online');
    await shot(phone, 'phone-indisponivel');
    await phone.click('#back-online');
    await phone.waitForSelector('#toggle[aria-checked="true"][data-state="ready"]');
    await phone.waitForSelector('#auto-offline', { state: 'hidden' });
  });

  await step('phone: the sound switch is kept per user on this device and silences the next offer', async () => {
    await phone.click('#sound');
    await phone.waitForSelector('#sound[aria-checked="false"]');
    const id = await phone.evaluate(async () => (await (await fetch('/api/v1/me')).json()).user.id);
    expect(await phone.evaluate((k) => localStorage.getItem(k), `roleta.sound.${id}`) === 'off', 'stored under the user id');
    await phone.reload();
    await phone.waitForSelector('body[data-ready="1"]');
    await phone.waitForSelector('#sound[aria-checked="false"]');
    await phone.waitForSelector('#toggle[data-state="ready"]');
    if ((await phone.getAttribute('#toggle', 'aria-checked')) !== 'true') await phone.click('#toggle');
    await phone.waitForSelector('#toggle[aria-checked="true"][data-state="ready"]');
    await postLead('Sem Som');
    await phone.waitForSelector(sheetOpen);
    await phone.waitForTimeout(2500);
    expect(await phone.evaluate(() => window.roleta.beeps) === 0, 'no sound with the switch off');
    await phone.click('#accept');
    await phone.waitForSelector('#offer-title:has-text("Lead atribuído")');
    await phone.click('#offer-dismiss');
    await phone.click('#toggle');
    await phone.waitForSelector('#toggle[aria-checked="false"][data-state="ready"]');
  });

  await offlineShell('phone', phone);

  await startServer();
  const custom = await call('PUT', '/api/v1/settings/messages', { whatsapp_template: CUSTOM });
  expect(custom.status === 200, `the agency's own message: ${custom.status}`);
  const desktop = await brokerDay('desktop', 'ana@demo.roleta');
  await oferta('desktop', desktop);
  await offlineShell('desktop', desktop);
} catch (err) {
  failure = err;
} finally {
  await browser?.close();
  await stopServer();
}
finish(failure);
