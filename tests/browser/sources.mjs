// The manager connects Grupo OLX on the integrations page (integracoes.html) in a real browser,
// reads the address and key the page shows once, and a lead posted exactly as the portal's
// manual says (Basic key, advertiser in the URL) reaches Ana's console; the page then counts it.
// A form integration with a field mapping too, and the page's errors in pt-BR. On a phone
// (390x844, touch) and on a desktop. Prints "N passed, M failed".
import { chromium } from 'playwright-core';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { step, expect, freePort, finish, noSideways, BRAZIL, BRAZIL_LAUNCH, ROOT, BIN, ARTIFACTS } from './harness.mjs';

const PASSWORD = 'demo1234';
const SIZES = {
  phone: { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 },
  desktop: { viewport: { width: 1366, height: 768 } },
};

const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roleta-sources-'));
const server = spawn(BIN, ['--port', String(port), '--database-url', `sqlite://${dir}/roleta.db?mode=rwc`], {
  cwd: ROOT, env: { ...process.env, ROLETA__LOG__FILTER: 'warn' }, stdio: ['ignore', 'ignore', 'inherit'],
});
let browser;
let failure;
const shot = (page, name) => page.screenshot({ path: path.join(ARTIFACTS, `sources-${name}.png`), fullPage: true });

async function signedIn(email, size) {
  const ctx = await browser.newContext({ ...SIZES[size], ...BRAZIL });
  const r = await ctx.request.post(`${base}/api/v1/auth/login`, { data: { email, password: PASSWORD } });
  expect(r.ok(), `sign-in of ${email}: ${r.status()}`);
  return ctx;
}

/** The value shown under a label in the "copy now" box. */
async function shown(page, label) {
  return page.evaluate((l) => {
    const strong = [...document.querySelectorAll('#created strong')].find((s) => s.textContent.trim() === l);
    return strong?.parentElement.querySelector('code')?.textContent.trim();
  }, label);
}

const english = /\b(the|must|is|not|required|longer|only|mapping)\b/i;

try {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  for (let i = 0; i < 100; i += 1) {
    try { if ((await fetch(`${base}/healthz`)).ok) break; } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 200));
  }
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium', ...BRAZIL_LAUNCH,
    args: [...BRAZIL_LAUNCH.args, '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });

  for (const size of ['phone', 'desktop']) {
    let url;
    let key;
    await step(`${size}: the manager connects Grupo OLX and is shown the address and key once`, async () => {
      const ctx = await signedIn('gestor@demo.roleta', size);
      const p = await ctx.newPage();
      await p.goto(`${base}/integracoes.html`);
      await p.waitForSelector('body[data-ready="1"]');
      if (size === 'phone') {
        await p.tap('.menu-btn');
        await p.waitForSelector('nav.tabs a[href="/integracoes.html"] >> visible=true');
        await p.tap('.menu-btn');
      }
      await p.selectOption('#kind', 'grupozap');
      await p.click('#new-source button[type=submit]');
      if (size === 'desktop') {
        // The phone run connected the agency's Grupo OLX: the page says so, and the manager
        // gives the existing one a new key instead — shown once, like at creation.
        await p.waitForSelector('#new-source [data-error-for=kind]:has-text("Já existe uma fonte com este nome")');
        p.once('dialog', (d) => d.accept());
        await p.locator('#sources tr', { hasText: 'Grupo OLX' }).locator('button', { hasText: 'Nova chave' }).click();
      }
      await p.waitForSelector('#created:not(.hidden)');
      url = await shown(p, 'Endereço (endpoint) para o Grupo OLX');
      key = await shown(p, 'Chave de segurança (SECRET_KEY)');
      expect(url?.startsWith(`${base}/hooks/grupozap/`), `the address shown: ${url}`);
      expect(key?.length >= 32, `the key shown: ${key}`);
      await noSideways(p, `${size} integrations page with the key shown`);
      await shot(p, `${size}-created`);
      await ctx.close();
    }).catch(() => {});

    await step(`${size}: a lead posted as the portal's manual says reaches Ana's console, and the page counts it`, async () => {
      expect(url && key, 'no address or key from the step before');
      const ana = await signedIn('ana@demo.roleta', size);
      const console_ = await ana.newPage();
      await console_.goto(`${base}/console.html`);
      await console_.waitForSelector('#conn[data-state="open"]');
      if ((await console_.textContent('#toggle-text')) !== 'Disponível') {
        await console_.click('#toggle');
        await console_.waitForSelector('#toggle[aria-checked="true"][data-state="ready"]');
      }
      const phone = size === 'phone' ? '977771234' : '977774321';
      const r = await fetch(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Basic ${Buffer.from(`vivareal:${key}`).toString('base64')}` },
        body: JSON.stringify({
          leadOrigin: 'VivaReal', timestamp: '2026-12-03T10:00:00.000Z', originLeadId: `olx-${size}`, originListingId: '87027856',
          clientListingId: 'AP-101', name: `Cliente do portal ${size}`, email: 'cliente@exemplo.com', ddd: '11', phone,
          message: 'Olá, tenho interesse neste imóvel.',
        }),
      });
      expect(r.status === 202, `the portal's POST answered ${r.status}`);
      await console_.waitForSelector('#offer[open]:not(.hidden) #offer-buttons:not(.hidden)', { timeout: 15000 });
      const client = await console_.textContent('#offer-client');
      expect(client.includes(`Cliente do portal ${size}`), `the offer names the client: ${client}`);
      await shot(console_, `${size}-offer`);
      await console_.click('#refuse');
      await ana.close();
      const ctx = await signedIn('gestor@demo.roleta', size);
      const p = await ctx.newPage();
      await p.goto(`${base}/integracoes.html`);
      await p.waitForSelector('body[data-ready="1"]');
      const row = p.locator('#sources tr', { hasText: 'Grupo OLX' }).first();
      const leads = (await row.locator('td[data-label="Leads recebidos"]').textContent()).trim();
      expect(Number(leads) >= 1, `leads received: ${leads}`);
      expect(!english.test(await p.locator('main').innerText()), 'English on the page');
      await shot(p, `${size}-list`);
      await ctx.close();
    }).catch(() => {});
  }

  await step('phone: a form with a mapping, and a bad path said in pt-BR next to its field', async () => {
    const ctx = await signedIn('gestor@demo.roleta', 'phone');
    const p = await ctx.newPage();
    await p.goto(`${base}/integracoes.html`);
    await p.waitForSelector('body[data-ready="1"]');
    await p.selectOption('#kind', 'form');
    await p.click('#new-source button[type=submit]');
    await p.waitForSelector('#new-source [data-error-for=name]:has-text("Dê um nome à fonte")');
    await p.fill('#name', 'Imovelweb');
    await p.fill('#new-source [name="mapping.phone"]', 'x'.repeat(201));
    await p.click('#new-source button[type=submit]');
    const slot = '#new-source [data-error-for="mapping.phone"]';
    await p.waitForSelector(`${slot}:has-text("Use um caminho como contato.telefone")`);
    const said = await p.textContent(slot);
    expect(!english.test(said), `English next to the field: ${said}`);
    await p.fill('#new-source [name="mapping.phone"]', 'contato.fones.0');
    await p.fill('#new-source [name="mapping.name"]', 'contato.nome');
    await p.click('#new-source button[type=submit]');
    await p.waitForSelector('#created:not(.hidden)');
    const address = await shown(p, 'Endereço para o portal ou o formulário');
    expect(/\/hooks\/form\/[0-9a-f]+\?key=[0-9a-f]{64}$/.test(address || ''), `the form's address: ${address}`);
    const r = await fetch(address, { method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ contato: { nome: 'Marta do Imovelweb', fones: ['(21) 98888-1111'] } }) });
    expect(r.status === 202, `the form's POST answered ${r.status}`);
    await p.reload();
    await p.waitForSelector('body[data-ready="1"]');
    const row = p.locator('#sources tr', { hasText: 'Imovelweb' });
    expect((await row.locator('td[data-label="Leads recebidos"]').textContent()).trim() === '1', 'the form\'s lead is counted');
    await row.locator('button', { hasText: 'Editar' }).click();
    await p.waitForSelector('#edit-dialog[open]');
    expect(await p.inputValue('#e-m-phone') === 'contato.fones.0', 'the dialog shows the mapping kept');
    await noSideways(p, 'the edit dialog on a phone');
    await shot(p, 'phone-edit');
    await ctx.close();
  }).catch(() => {});
} catch (err) {
  failure = err;
} finally {
  await browser?.close();
  server.kill('SIGTERM');
  fs.rmSync(dir, { recursive: true, force: true });
}
finish(failure);
