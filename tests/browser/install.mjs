// The install story in a real browser (issue "a real install"), on SQLite and on PostgreSQL:
// the `roleta` binary copied alone into an empty folder, `migrate`, `agency create` (a one-time
// password), `serve` over HTTPS with a self-signed certificate this test makes (Chromium is told
// to trust it by its key's hash), the manager's forced password change, a broker and a lead-source
// key created on the manager page, the broker signed in on a phone-sized page (forced change too),
// online, a lead posted with the manager's key, the popup shown, and the service worker
// registered in a secure context. Screenshots go to tests/artifacts/install-*.png.
// Prints "N passed, M failed".
import { chromium } from 'playwright-core';
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { step, expect, freePort, finish, BRAZIL, BRAZIL_LAUNCH } from './harness.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const built = process.env.ROLETA_BIN || path.join(root, 'target/debug/roleta');
const artifacts = path.join(root, 'tests/artifacts');
fs.mkdirSync(artifacts, { recursive: true });
const PG = process.env.ROLETA_TEST_PG || 'postgres://postgres@127.0.0.1:5432';

// An empty folder holding only the binary: no static/, no config/, no source tree.
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roleta-install-'));
const bin = path.join(dir, 'roleta');
fs.copyFileSync(built, bin);
fs.chmodSync(bin, 0o755);

// A self-signed certificate for localhost, and its key's SHA-256 for Chromium to trust.
const cert = path.join(dir, 'cert.pem');
const key = path.join(dir, 'key.pem');
execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
  '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=localhost',
  '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { stdio: 'ignore' });
const spki = execFileSync('sh', ['-c',
  `openssl x509 -pubkey -noout -in '${cert}' | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64`]).toString().trim();
const ca = fs.readFileSync(cert);

function roleta(args, db) {
  return execFileSync(bin, [...args, '--database-url', db], {
    cwd: dir, encoding: 'utf8', env: { ...process.env, ROLETA__PUSH__ENABLED: 'false' },
  });
}
const oneTime = (out) => {
  const m = out.match(/Senha provisória: (\S+)/);
  expect(m, `no one-time password in: ${out}`);
  return m[1];
};

/** POST JSON over HTTPS trusting only the test's certificate. */
function postJson(url, headers, body) {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method: 'POST', ca, headers: { 'Content-Type': 'application/json', ...headers } }, (res) => {
      let text = '';
      res.on('data', (c) => { text += c; });
      res.on('end', () => resolve({ status: res.statusCode, text }));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

async function startServer(db, port) {
  const server = spawn(bin, ['serve', '--no-demo', '--port', String(port), '--host', '127.0.0.1',
    '--tls-cert', cert, '--tls-key', key, '--database-url', db], {
    cwd: dir, env: { ...process.env, ROLETA__LOG__FILTER: 'info', NO_COLOR: '1', ROLETA__PUSH__ENABLED: 'false' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const ready = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`no ready line: ${out}`)), 60000);
    server.stdout.on('data', (chunk) => {
      out += chunk;
      const m = out.match(/Roleta is ready at (\S+)/);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    server.on('exit', (code) => reject(new Error(`server exited with ${code}: ${out}`)));
  });
  server.stdout.resume();
  return { server, ready };
}

const shot = (page, name) => page.screenshot({ path: path.join(artifacts, `install-${name}.png`), fullPage: true });

async function signIn(ctx, base, email, password) {
  const page = await ctx.newPage();
  page.on('pageerror', (e) => console.log(`     page error (${email}): ${e.message}`));
  await page.goto(`${base}/`);
  await page.fill('#email', email);
  await page.fill('#password', password);
  await page.click('button[type=submit]');
  return page;
}

/** The forced change: the page asks for a new password before anything else. */
async function changePassword(page, current, next) {
  await page.waitForSelector('#change:not(.hidden)');
  if (await page.isVisible('#current_password')) await page.fill('#current_password', current);
  await page.fill('#new_password', next);
  await page.fill('#confirm_password', next);
  await page.click('#change button[type=submit]');
}

let browser;
const servers = [];
let failure;
try {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium', ...BRAZIL_LAUNCH,
    args: [...BRAZIL_LAUNCH.args, '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic',
      '--no-first-run', '--disable-component-update', '--disable-sync',
      `--ignore-certificate-errors-spki-list=${spki}`],
  });
  for (const backend of ['sqlite', 'postgres']) {
    let db;
    if (backend === 'sqlite') {
      db = `sqlite://${dir}/roleta.db?mode=rwc`;
    } else {
      const name = `roleta_t_install_${process.pid}`;
      execFileSync('psql', [`${PG}/postgres`, '-qc', `DROP DATABASE IF EXISTS ${name}`, '-c', `CREATE DATABASE ${name}`], { stdio: 'ignore' });
      db = `${PG}/${name}`;
    }
    const tag = backend === 'sqlite' ? 'sqlite' : 'pg';
    const port = await freePort();
    let base; let managerPassword;
    await step(`${backend}: migrate, agency create and serve over HTTPS from the copied binary`, async () => {
      const migrated = roleta(['migrate'], db);
      expect(/Banco de dados atualizado/.test(migrated), migrated);
      const created = roleta(['agency', 'create', '--name', 'Imobiliária Exemplo', '--manager-email', 'gestora@exemplo.com.br'], db);
      managerPassword = oneTime(created);
      const { server, ready } = await startServer(db, port);
      servers.push(server);
      expect(ready.startsWith('https://'), `ready line names https: ${ready}`);
      base = ready.replace(/\/$/, '').replace('127.0.0.1', 'localhost');
    });

    let manager; let brokerPassword; let sourceKey;
    await step(`${backend}: the manager must choose a new password, then creates a broker and a lead-source key`, async () => {
      const ctx = await browser.newContext({ viewport: { width: 1360, height: 820 }, ...BRAZIL });
      manager = await signIn(ctx, base, 'gestora@exemplo.com.br', managerPassword);
      await changePassword(manager, managerPassword, 'gestora-nova-senha-1');
      await manager.waitForURL(/gestor\.html/);
      await manager.waitForSelector('body[data-ready="1"]');
      expect(await manager.evaluate(() => window.isSecureContext), 'the manager page is a secure context');
      const cookies = await ctx.cookies();
      const session = cookies.find((c) => c.name === 'roleta_session');
      expect(session?.secure && session?.httpOnly, `session cookie Secure and HttpOnly: ${JSON.stringify(session)}`);
      // A broker in the agency's default department.
      await manager.fill('#u-name', 'Ana Corretora');
      await manager.fill('#u-email', 'ana@exemplo.com.br');
      await manager.selectOption('#u-role', 'broker');
      brokerPassword = 'ana-senha-inicial-1';
      await manager.fill('#u-password', brokerPassword);
      const dep = await manager.$('#u-deps input[type=checkbox]');
      if (dep && !(await dep.isChecked())) await dep.check();
      await manager.click('#new-user button[type=submit]');
      await manager.waitForSelector('#users tr:has-text("Ana Corretora")');
      await manager.fill('#k-source', 'site');
      await manager.click('#new-key button[type=submit]');
      await manager.waitForSelector('#new-key-secret:not(.hidden)');
      const secret = await manager.textContent('#new-key-secret');
      const m = secret.match(/rk_\S+/);
      expect(m, `the new key is shown once: ${secret}`);
      sourceKey = m[0];
      await shot(manager, `${tag}-gestor`);
    });

    await step(`${backend}: the broker signs in on a phone, goes online and gets the lead's popup; the service worker is registered`, async () => {
      const ctx = await browser.newContext({
        viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true,
        ...BRAZIL, permissions: ['notifications'],
      });
      const ana = await signIn(ctx, base, 'ana@exemplo.com.br', brokerPassword);
      if (await ana.waitForSelector('#change:not(.hidden)', { timeout: 3000 }).catch(() => null)) {
        await changePassword(ana, brokerPassword, 'ana-nova-senha-1');
      }
      await ana.waitForURL(/console\.html/);
      await ana.waitForSelector('#conn[data-state="open"]');
      await ana.click('#toggle');
      await ana.waitForSelector('#toggle[aria-checked="true"]');
      const r = await postJson(`${base}/api/v1/leads`, { Authorization: `Bearer ${sourceKey}`, 'Idempotency-Key': `install-${backend}` },
        { name: 'Cliente Instalação', phone: '(11) 98222-0001', comment: 'Viu o anúncio no site' });
      expect(r.status === 202, `lead accepted with the manager's key: ${r.status} ${r.text}`);
      await ana.waitForSelector('#offer:not(.hidden) #offer-buttons:not(.hidden)');
      expect((await ana.textContent('#offer-client')) === 'Cliente Instalação', 'the popup names the client');
      const sw = await ana.evaluate(async () => {
        const reg = await navigator.serviceWorker.ready;
        return { secure: window.isSecureContext, scope: reg.scope, active: !!reg.active };
      });
      expect(sw.secure && sw.active, `service worker registered in a secure context: ${JSON.stringify(sw)}`);
      await ana.waitForTimeout(300);
      await shot(ana, `${tag}-oferta-celular`);
      // Accepting on a 390 px page is the phone issue's: the pending grid widens the page past
      // the screen today and the popup's buttons fall outside it (see the screenshot).
      await ctx.close();
      await manager.context().close();
    });
  }
} catch (err) {
  failure = err;
} finally {
  if (browser) await browser.close();
  for (const s of servers) s.kill();
  fs.rmSync(dir, { recursive: true, force: true });
}
finish(failure);
