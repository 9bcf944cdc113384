// The broker's client pages in a real browser: "Meus clientes" (clientes.html) and the client
// record (cliente.html). A lead arrives, Ana accepts it on the console and logs a call; then on a
// phone (390x844, touch) she finds the client, opens the record and reads the call's note and
// her accepted offer on the timeline in pt-BR; the same pages at 1366x768. Prints "N passed, M failed".
import { chromium } from 'playwright-core';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { step, expect, freePort, finish, checkLayout, BRAZIL, BRAZIL_LAUNCH, ROOT, BIN, ARTIFACTS } from './harness.mjs';

const root = ROOT;
const bin = BIN;
const artifacts = ARTIFACTS;
const API_KEY = 'rk_demo_site_0123456789abcdef';
const PASSWORD = 'demo1234';
const NOTE = 'Ligou de volta, quer visitar no sábado às 10h';
const SIZES = {
  phone: { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 },
  desktop: { viewport: { width: 1366, height: 768 } },
};

const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roleta-clientes-'));
const server = spawn(bin, ['--port', String(port), '--database-url', `sqlite://${dir}/roleta.db?mode=rwc`], {
  cwd: root, env: { ...process.env, ROLETA__LOG__FILTER: 'warn' }, stdio: ['ignore', 'ignore', 'inherit'],
});
let browser;
let failure;
const shot = (page, name) => page.screenshot({ path: path.join(artifacts, `clientes-${name}.png`), fullPage: true });

async function signedIn(email, size) {
  const ctx = await browser.newContext({ ...SIZES[size], ...BRAZIL });
  const r = await ctx.request.post(`${base}/api/v1/auth/login`, { data: { email, password: PASSWORD } });
  expect(r.ok(), `sign-in of ${email}: ${r.status()}`);
  return ctx;
}

try {
  for (let i = 0; i < 100; i += 1) {
    try { if ((await fetch(`${base}/healthz`)).ok) break; } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 200));
  }
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium', ...BRAZIL_LAUNCH,
    args: [...BRAZIL_LAUNCH.args, '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
  });
  const errors = [];

  let leadId;
  let anaDesk;
  await step('a lead arrives, Ana accepts it on the console and logs a call', async () => {
    anaDesk = await signedIn('ana@demo.roleta', 'desktop');
    const console_ = await anaDesk.newPage();
    console_.on('pageerror', (e) => errors.push(e.message));
    await console_.goto(`${base}/console.html`);
    await console_.waitForSelector('#conn[data-state="open"]');
    await console_.click('#toggle');
    await console_.waitForSelector('#toggle[aria-checked="true"]');
    const r = await fetch(`${base}/api/v1/leads`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${API_KEY}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'Marina Teixeira', phone: '+5511987654321', email: 'marina@exemplo.com.br', property_code: 'AP-101' }),
    });
    expect(r.status === 202, `lead not accepted: ${r.status}`);
    const body = await r.json();
    leadId = body.lead_id ?? body.id;
    expect(leadId, 'the new lead has an id');
    await console_.waitForSelector('#offer[open] #accept', { timeout: 15000 });
    await console_.click('#accept');
    await console_.waitForSelector('#offer-contact:not(.hidden)', { timeout: 10000 });
    const c = await anaDesk.request.post(`${base}/api/v1/leads/${leadId}/contacts`, { data: { kind: 'call', note: NOTE } });
    expect(c.ok(), `contact not logged: ${c.status()}`);
    await console_.close();
  });

  for (const size of ['phone', 'desktop']) {
    let clientUrl;
    await step(`${size}: "Meus clientes" finds Marina by name, with her phone formatted and Ligar/WhatsApp`, async () => {
      const ctx = size === 'desktop' ? anaDesk : await signedIn('ana@demo.roleta', 'phone');
      const page = await ctx.newPage();
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`${base}/clientes.html`);
      await page.waitForSelector('body[data-ready="1"]');
      expect((await page.textContent('h1')).includes('Meus clientes'), 'the title says Meus clientes');
      await page.fill('#f-q', 'Marina');
      await page.click('#filters button[type=submit]');
      await page.waitForSelector('#list li[data-client]');
      const row = await page.textContent('#list li[data-client]');
      expect(row.includes('Marina Teixeira'), `the row names the client: ${row}`);
      expect(row.includes('(11) 98765-4321'), `the phone is formatted: ${row}`);
      expect(!/\+5511987654321/.test(row), 'the raw E.164 number is not shown');
      expect(await page.isVisible('#list a.call-btn[href="tel:+5511987654321"]'), 'Ligar dials the client');
      expect(await page.isVisible('#list a.wa-btn[href^="https://wa.me/5511987654321"]'), 'WhatsApp opens the chat');
      await checkLayout(page, size, 'clientes.html');
      await shot(page, `lista-${size}`);
      // A search that finds nobody says what to do.
      await page.fill('#f-q', 'Ninguém com este nome');
      await page.click('#filters button[type=submit]');
      await page.waitForSelector('#empty:not(.hidden)');
      expect((await page.textContent('#empty')).includes('Limpe a busca'), 'the empty state says what to do');
      // The status filter lists the agency's pipeline statuses in pt-BR; "Perdido" hides Marina.
      const opts = await page.$$eval('#f-status option', (os) => os.map((o) => `${o.value}=${o.textContent}`));
      expect(opts.join('|') === '=Todos|Novo=Novo|Em atendimento=Em atendimento|Proposta=Proposta|Fechado=Fechado|Perdido=Perdido',
        `the status options: ${opts.join('|')}`);
      await page.fill('#f-q', 'Marina');
      await page.selectOption('#f-status', 'Perdido');
      await page.click('#filters button[type=submit]');
      await page.waitForSelector('#empty:not(.hidden)');
      await page.selectOption('#f-status', 'Novo');
      await page.click('#filters button[type=submit]');
      await page.waitForSelector('#list li[data-client]');
      expect((await page.textContent('#list li[data-client]')).includes('Novo'), 'Marina\'s lead is Novo');
      await page.selectOption('#f-status', '');
      // A date that is not one is refused next to its field.
      await page.fill('#f-q', 'Marina');
      await page.fill('#f-from', '31/02/2026');
      await page.click('#filters button[type=submit]');
      await page.waitForSelector('#f-from[aria-invalid="true"]');
      expect((await page.textContent('[data-error-for="created_from_ms"]')).includes('dd/mm/aaaa'), 'bad date message');
      await page.fill('#f-from', '01/01/2020');
      await page.click('#filters button[type=submit]');
      await page.waitForSelector('#list li[data-client]');
      await page.click('#list li[data-client] a.open');
      await page.waitForURL(/cliente\.html\?id=\d+/);
      clientUrl = page.url();
      await page.waitForSelector('body[data-ready="1"]');
      await page.waitForSelector('#record:not(.hidden)');
      expect((await page.textContent('#name')) === 'Marina Teixeira', 'the record is Marina\'s');
      const back = await page.$('#back');
      expect(back && await back.isVisible() && (await back.getAttribute('href')) === '/clientes.html', 'the broker\'s back link leads to her clients');
      const tabs = await page.$$eval('#nav a', (as) => as.map((a) => a.textContent));
      expect(tabs.join('|') === 'Atendimentos|Oferta ativa|Meus clientes', `the broker's own tabs: ${tabs.join('|')}`);
      const tl = await page.textContent('#timeline');
      expect(tl.includes(NOTE), `the call's note is on the timeline: ${tl}`);
      expect(tl.includes('Ana') && tl.includes('aceitou'), `the accepted offer reads "Ana … aceitou": ${tl}`);
      expect(tl.includes('Contato registrado por Ana Corretora: Ligação'), `the call is worded in pt-BR: ${tl}`);
      expect(!/offer_accepted|contact_logged|lead_created|\bcall\b/.test(tl), `no raw code on the timeline: ${tl}`);
      expect(/\d{2}\/\d{2}\/\d{4} \d{2}:\d{2}/.test(tl), 'dates as dd/mm/aaaa hh:mm');
      await checkLayout(page, size, 'cliente.html');
      await shot(page, `ficha-${size}`);
      if (size === 'phone') {
        // The profile edit: a price typed as "720.000" replaces the one from the lead and is read back.
        await page.selectOption('#p-objective', 'buy');
        await page.selectOption('#p-kind', 'apartment');
        await page.fill('#p-price', '720.000');
        await page.fill('#p-neigh', 'Moema');
        await page.click('#profile button[type=submit]');
        await page.waitForSelector('#profile .form-notice.notice');
        await page.reload();
        await page.waitForSelector('#record:not(.hidden)');
        expect((await page.inputValue('#p-price')) === '720.000', 'the price is read back');
        expect((await page.textContent('#facts')).includes('Comprar'), 'the objective shows in pt-BR');
        expect((await page.textContent('#timeline')).includes('Perfil do cliente editado por Ana'), 'the edit is on the timeline');
        await page.fill('#p-bed', 'três');
        await page.click('#profile button[type=submit]');
        await page.waitForSelector('#p-bed[aria-invalid="true"]');
      }
      await page.close();
      if (size === 'phone') await ctx.close();
    });
    await step(`${size}: an unknown client reads "Cliente não encontrado"`, async () => {
      const page = await anaDesk.newPage();
      await page.goto(`${base}/cliente.html?id=999999`);
      await page.waitForSelector('#missing:not(.hidden)');
      expect((await page.textContent('#missing')).includes('Cliente não encontrado'), 'the 404 message');
      expect(clientUrl, 'the record was opened before');
      await page.close();
    });
  }
  await step('a manager sees the same client on "Clientes" with the broker\'s name', async () => {
    const ctx = await signedIn('gestor@demo.roleta', 'desktop');
    const page = await ctx.newPage();
    await page.goto(`${base}/clientes.html?`);
    await page.waitForSelector('body[data-ready="1"]');
    const row = await page.textContent('#list');
    expect(row.includes('Marina Teixeira') && row.includes('Corretor: Ana'), `the manager's list: ${row}`);
    const menu = async (p) => p.$$eval('#nav a', (as) => as.map((a) => `${a.textContent}${a.getAttribute('aria-current') ? '*' : ''}`).join('|'));
    const WANT = 'Gestão|Campanhas|Leads|Clientes*|Recepção|Painel|Integrações|Importar|Eventos';
    expect(await menu(page) === WANT, `the manager's menu on clientes.html: ${await menu(page)}`);
    await page.click('#list li[data-client] a.open');
    await page.waitForSelector('#record:not(.hidden)');
    expect(await menu(page) === WANT, `the manager's menu on cliente.html: ${await menu(page)}`);
    expect((await page.textContent('#role-name')) === 'Gestão', 'the bar says Gestão');
    // Every manager page's menu reaches the client list.
    for (const p of ['/gestor.html', '/campanhas.html', '/leads.html', '/recepcao.html', '/painel.html', '/integracoes.html', '/importar.html', '/webhooks.html']) {
      await page.goto(`${base}${p}`);
      await page.waitForSelector('#nav a[href="/clientes.html"]', { state: 'attached' });
      const m = await menu(page);
      expect(m.replace('*', '') === WANT.replace('*', ''), `the menu on ${p}: ${m}`);
    }
    await ctx.close();
  });
  await step('no script error on any page', async () => {
    expect(errors.length === 0, `page errors: ${errors.join(' | ')}`);
  });
} catch (err) {
  failure = err;
} finally {
  await browser?.close().catch(() => {});
  server.kill();
}
finish(failure);
