// "Importar e exportar" in a real browser, as the demo agency's manager, on a phone (390x844,
// touch) and on a desktop: a CSV of clients with a bad phone, an unknown broker and a repeated
// phone is sent; the preview counts them and says why in pt-BR; confirming writes the valid
// rows; a file without the phone column is refused in pt-BR; the export downloads a CSV with a
// BOM and `;`. Screenshots to tests/artifacts/importar-*.png. Prints "N passed, M failed".
import { chromium } from 'playwright-core';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { step, expect, freePort, finish, checkLayout, BRAZIL, BRAZIL_LAUNCH, ROOT, BIN, ARTIFACTS } from './harness.mjs';

const PASSWORD = 'demo1234';
const SIZES = {
  phone: { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 },
  desktop: { viewport: { width: 1366, height: 768 } },
};
const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roleta-importar-'));
const server = spawn(BIN, ['--port', String(port), '--database-url', `sqlite://${dir}/roleta.db?mode=rwc`], {
  cwd: ROOT, env: { ...process.env, ROLETA__LOG__FILTER: 'warn' }, stdio: ['ignore', 'ignore', 'inherit'],
});
let browser;
let failure;
const shot = (page, name) => page.screenshot({ path: path.join(ARTIFACTS, `importar-${name}.png`), fullPage: true });

/** 40 clients: line 5 a bad phone, line 8 an unknown broker, line 11 repeats line 10's phone. */
function clientsCsv(prefix) {
  const lines = ['nome;telefone;email;corretor;departamento'];
  for (let i = 0; i < 40; i += 1) {
    let phone = `(11) 9${prefix}${String(i).padStart(2, '0')}-0000`;
    let broker = i % 2 ? 'ana@demo.roleta' : '';
    if (i === 3) phone = '12-34';
    if (i === 6) broker = 'ninguem@demo.roleta';
    if (i === 9) phone = `(11) 9${prefix}${String(8).padStart(2, '0')}-0000`;
    lines.push(`Cliente ${prefix}-${i};${phone};c${prefix}${i}@exemplo.com.br;${broker};Vendas`);
  }
  return Buffer.from(`${lines.join('\n')}\n`, 'utf8');
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
  for (const [size, prefix] of [['phone', '71'], ['desktop', '72']]) {
    const ctx = await browser.newContext({ ...SIZES[size], ...BRAZIL, acceptDownloads: true });
    const login = await ctx.request.post(`${base}/api/v1/auth/login`, { data: { email: 'gestor@demo.roleta', password: PASSWORD } });
    expect(login.ok(), `sign-in: ${login.status()}`);
    const page = await ctx.newPage();
    page.on('pageerror', (e) => errors.push(e.message));

    await step(`${size}: the menu reaches the page; a file without the phone column is refused in pt-BR`, async () => {
      await page.goto(`${base}/gestor.html`);
      await page.waitForSelector('#nav a[href="/importar.html"]', { state: 'attached' });
      await page.goto(`${base}/importar.html`);
      await page.waitForSelector('body[data-ready="1"]');
      expect((await page.textContent('h1')) === 'Importar e exportar', 'the title');
      await page.setInputFiles('#file', { name: 'sem-telefone.csv', mimeType: 'text/csv', buffer: Buffer.from('nome;email\nAna;a@b.com\n') });
      await page.click('#upload button[type=submit]');
      await page.waitForFunction(() => document.querySelector('[data-error-for="file"]').textContent.length > 0);
      const msg = await page.textContent('[data-error-for="file"]');
      expect(msg.includes('não tem a coluna “telefone”'), `the error: ${msg}`);
    });

    await step(`${size}: the preview counts the rows, names the broker and says why rows are refused`, async () => {
      await page.setInputFiles('#file', { name: 'clientes.csv', mimeType: 'text/csv', buffer: clientsCsv(prefix) });
      await page.click('#upload button[type=submit]');
      await page.waitForSelector('#preview:not(.hidden)');
      await page.waitForSelector('#problems tr[data-row="5"]');
      const counts = (await page.textContent('#counts')).replace(/\s+/g, ' ');
      expect(counts.includes('40linhas no arquivo') || counts.includes('40 linhas no arquivo'), `counts: ${counts}`);
      expect(/37\s*serão importados/.test(counts), `valid: ${counts}`);
      expect(/2\s*com erro/.test(counts), `invalid: ${counts}`);
      expect(/1\s*duplicados/.test(counts), `duplicates: ${counts}`);
      const brokers = await page.textContent('#brokers');
      expect(brokers.includes('Ana Corretora: 18 linhas') && brokers.includes('Sem corretor: 19 linhas'), `brokers: ${brokers}`);
      const bad = await page.textContent('#problems tr[data-row="5"]');
      expect(bad.includes('Telefone “12-34” não é um número válido.'), `row 5: ${bad}`);
      const unknown = await page.textContent('#problems tr[data-row="8"]');
      expect(unknown.includes('Nenhum corretor ativo da imobiliária tem o e-mail “ninguem@demo.roleta”.'), `row 8: ${unknown}`);
      await page.click('#more-problems');
      await page.waitForSelector('#problems tr[data-row="11"]');
      const dup = await page.textContent('#problems tr[data-row="11"]');
      expect(dup.includes('Repete o telefone da linha 10.'), `row 11: ${dup}`);
      await checkLayout(page, size, 'importar.html preview');
      await shot(page, `previa-${size}`);
    });

    await step(`${size}: confirming writes the valid rows and says so`, async () => {
      await page.click('#confirm');
      await page.waitForSelector('#result:not(.hidden)');
      const result = await page.textContent('#result');
      expect(result === 'Importação concluída: 37 clientes cadastrados.', `result: ${result}`);
      await page.waitForSelector('#recent tr td[data-label="Situação"]');
      expect((await page.textContent('#recent')).includes('Importada'), 'the recent list says Importada');
      await checkLayout(page, size, 'importar.html result');
      await shot(page, `resultado-${size}`);
    });

    await step(`${size}: the export downloads a spreadsheet CSV with a BOM and ;`, async () => {
      const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export-clients')]);
      const file = await download.path();
      const bytes = fs.readFileSync(file);
      expect(bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf, 'a UTF-8 BOM');
      const text = bytes.toString('utf8');
      expect(text.includes('Nome;Telefone;E-mail;Corretor (e-mail)'), `the header: ${text.slice(0, 80)}`);
      expect(text.includes(`Cliente ${prefix}-1;(11) 9${prefix}01-0000;`), 'an imported client with its phone as people write it');
      expect(download.suggestedFilename().startsWith('clientes-'), `the file name: ${download.suggestedFilename()}`);
    });
    await ctx.close();
  }
  await step('no script error on the page', async () => {
    expect(errors.length === 0, `page errors: ${errors.join(' | ')}`);
  });
} catch (err) {
  failure = err;
} finally {
  await browser?.close().catch(() => {});
  server.kill();
}
finish(failure);
