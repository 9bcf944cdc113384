// Roleta's pages in a real browser: Debian's Chromium, headless, driven by playwright-core,
// against the real `roleta` binary on a fresh SQLite file with the demo agency. Each flow is
// a step; screenshots of every page go to tests/artifacts/. Prints "N passed, M failed".
import { chromium } from 'playwright-core';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { BRAZIL, BRAZIL_LAUNCH, ROOT, BIN, ARTIFACTS } from './harness.mjs';

const root = ROOT;
const bin = BIN;
const artifacts = ARTIFACTS;
const API_KEY = 'rk_demo_site_0123456789abcdef';
const PASSWORD = 'demo1234';

const freePort = () => new Promise((resolve) => {
  const s = net.createServer().listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
});

let passed = 0;
let failed = 0;
async function step(name, fn) {
  const t0 = Date.now();
  try {
    await fn();
    passed += 1;
    console.log(`ok   ${name} (${Date.now() - t0} ms)`);
  } catch (err) {
    failed += 1;
    console.log(`FAIL ${name}\n     ${String(err?.stack || err).split('\n').slice(0, 4).join('\n     ')}`);
    throw Object.assign(err instanceof Error ? err : new Error(String(err)), { reported: true });
  }
}
function expect(cond, msg) { if (!cond) throw new Error(msg); }

const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roleta-browser-'));
const server = spawn(bin, ['--port', String(port), '--database-url', `sqlite://${dir}/roleta.db?mode=rwc`], {
  cwd: root, env: { ...process.env, ROLETA__LOG__FILTER: 'warn' }, stdio: ['ignore', 'ignore', 'inherit'],
});
let browser;
const cspViolations = [];

async function postLead(name, phone) {
  const r = await fetch(`${base}/api/v1/leads`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${API_KEY}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ name, phone, comment: 'Quer visitar no sábado', property_code: 'AP-101' }),
  });
  expect(r.status === 202, `lead not accepted: ${r.status}`);
  return r.json();
}

async function login(email, permissions = []) {
  const ctx = await browser.newContext({ viewport: { width: 1360, height: 820 }, ...BRAZIL, permissions });
  const page = await ctx.newPage();
  page.on('pageerror', (e) => console.log(`     page error (${email}): ${e.message}`));
  await page.goto(`${base}/`);
  await page.fill('#email', email);
  await page.fill('#password', PASSWORD);
  await page.click('button[type=submit]');
  await page.waitForURL(/(console|gestor|recepcao|painel)\.html/);
  return page;
}

async function goOnline(page) {
  await page.waitForSelector('#conn[data-state="open"]');
  await page.click('#toggle');
  await page.waitForSelector('#toggle[aria-checked="true"]');
}

const secondsLeft = async (page) => Number((await page.textContent('#offer-secs')).replace(/\D/g, ''));
const shot = (page, name) => page.screenshot({ path: path.join(artifacts, `${name}.png`), fullPage: false });

try {
  for (let i = 0; i < 100; i += 1) {
    try { if ((await fetch(`${base}/healthz`)).ok) break; } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 200));
  }
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium', ...BRAZIL_LAUNCH,
    args: [...BRAZIL_LAUNCH.args, '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic',
      '--no-first-run', '--disable-component-update', '--disable-sync'],
  });
  // Every page of every context reports Content-Security-Policy violations (Chromium logs each
  // one on the console); the last step fails if there was any.
  const newContext = browser.newContext.bind(browser);
  browser.newContext = async (...args) => {
    const ctx = await newContext(...args);
    ctx.on('page', (p) => p.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) cspViolations.push(`${p.url()}: ${m.text()}`);
    }));
    return ctx;
  };

  let manager; let ana; let bruno;
  await step('the login page signs a manager in and shows field errors from the server', async () => {
    const ctx = await browser.newContext({ viewport: { width: 1360, height: 820 }, ...BRAZIL });
    const p = await ctx.newPage();
    await p.goto(`${base}/`);
    await shot(p, '00-login');
    await p.fill('#email', 'gestor@demo.roleta');
    await p.fill('#password', 'errada');
    await p.click('button[type=submit]');
    await p.waitForSelector('.form-notice.notice.bad');
    expect((await p.textContent('.form-notice')).includes('incorretos'), 'wrong password message');
    await ctx.close();
    manager = await login('gestor@demo.roleta');
    await manager.waitForSelector('body[data-ready="1"]');
    await manager.fill('#answer_seconds', '0');
    await manager.click('#settings button[type=submit]');
    await manager.waitForSelector('#answer_seconds[aria-invalid="true"]');
    expect((await manager.textContent('[data-error-for="answer_seconds"]')).length > 0, 'error next to the field');
    await manager.fill('#answer_seconds', '6');
    await manager.click('#settings button[type=submit]');
    await manager.waitForSelector('#settings .form-notice.notice');
    await shot(manager, '01-gestor');
  });

  await step('two brokers go online from their consoles', async () => {
    ana = await login('ana@demo.roleta', ['notifications']);
    bruno = await login('bruno@demo.roleta', ['notifications']);
    await goOnline(ana);
    await goOnline(bruno);
  });

  await step('a lead is offered to A with a countdown; A refuses; B gets it and accepts', async () => {
    await postLead('Cliente Navegador', '(11) 98111-0001');
    await ana.waitForSelector('#offer:not(.hidden) #offer-buttons:not(.hidden)');
    expect((await ana.textContent('#offer-client')) === 'Cliente Navegador', 'client name in the popup');
    const s = await secondsLeft(ana);
    expect(s >= 1 && s <= 6, `countdown follows the 6 s answer time: ${s}`);
    expect(await ana.getAttribute('#offer', 'role') === 'alertdialog', 'announced as an alert dialog');
    await ana.waitForTimeout(300); // let the popup's entrance animation finish
    await shot(ana, '02-oferta');
    await ana.click('#refuse');
    await bruno.waitForSelector('#offer:not(.hidden) #offer-buttons:not(.hidden)');
    expect((await bruno.textContent('#offer-client')) === 'Cliente Navegador', 'same lead moved to B');
    await bruno.click('#accept');
    await bruno.waitForSelector('#pending tr:has-text("Cliente Navegador")');
    const row = await bruno.textContent('#pending tr');
    expect(row.includes('(11) 98111-0001') && row.includes('Novo'), `A2 fields in the row: ${row}`);
    await shot(bruno, '03-pendentes');
  });

  await step('logging a contact concludes the attendance and it leaves the grid', async () => {
    await bruno.waitForSelector('#offer', { state: 'hidden' });
    await bruno.click('#pending [data-contact]');
    await bruno.fill('#contact-note', 'Liguei, visita marcada para sábado');
    await bruno.click('#contact-save');
    await bruno.waitForSelector('#empty:not(.hidden)');
    expect((await bruno.$$('#pending tr')).length === 0, 'grid empty');
  });

  await step('a second lead times out on A and moves to B', async () => {
    await postLead('Cliente Sem Resposta', '(11) 98111-0002');
    await ana.waitForSelector('#offer:not(.hidden) #offer-buttons:not(.hidden)');
    await ana.waitForSelector('#offer-closed:has-text("Tempo esgotado")', { timeout: 15000 });
    await bruno.waitForSelector('#offer:not(.hidden) #offer-buttons:not(.hidden)');
    expect((await bruno.textContent('#offer-client')) === 'Cliente Sem Resposta', 'moved to B');
    await bruno.click('#accept');
    await bruno.waitForSelector('#pending tr:has-text("Cliente Sem Resposta")');
  });

  await step('the wallboard follows: 2 accepted, 1 refused, 1 expired, brokers online', async () => {
    await manager.goto(`${base}/painel.html`);
    await manager.waitForSelector('[data-dept="Vendas"] [data-k="accepted"]');
    await manager.waitForFunction(() => {
      const card = document.querySelector('[data-dept="Vendas"]');
      const v = (k) => card?.querySelector(`[data-k="${k}"]`)?.textContent;
      return v('accepted') === '2' && v('refused') === '1' && v('expired') === '1';
    }, null, { timeout: 5000 });
    const chips = await manager.textContent('[data-dept="Vendas"] .chips');
    expect(chips.includes('Ana') && chips.includes('Bruno'), `online brokers: ${chips}`);
    expect((await manager.textContent('[data-dept="Vendas"] [data-k="p50"]')) !== '—', 'time to accept shown');
    await shot(manager, '04-painel');
  });

  await step('the manager changes the answer time and the next popup counts from it', async () => {
    await manager.goto(`${base}/gestor.html`);
    await manager.waitForSelector('body[data-ready="1"]');
    await manager.fill('#answer_seconds', '25');
    await manager.click('#settings button[type=submit]');
    await manager.waitForSelector('#settings .form-notice.notice');
    await postLead('Cliente Novo Tempo', '(11) 98111-0003');
    await ana.waitForSelector('#offer:not(.hidden) #offer-buttons:not(.hidden)');
    const s = await secondsLeft(ana);
    expect(s > 20 && s <= 25, `new countdown: ${s}`);
    await ana.waitForTimeout(300);
    await shot(ana, '05-nova-contagem');
    // The wallboard shows it in flight within a second.
    await manager.goto(`${base}/painel.html`);
    await manager.waitForSelector('[data-dept="Vendas"] .flight:has-text("Ana")', { timeout: 3000 });
    await ana.click('#accept');
    await ana.waitForSelector('#pending tr:has-text("Cliente Novo Tempo")');
  });

  await step('a broker who loses the connection gets the open offer back on reconnect', async () => {
    await postLead('Cliente Reconexão', '(11) 98111-0004');
    // Rotation: B is next (A had the last turn).
    await bruno.waitForSelector('#offer:not(.hidden) #offer-buttons:not(.hidden)');
    const first = await bruno.evaluate(() => window.roleta.offer.offer_id);
    await bruno.context().setOffline(true);
    await bruno.evaluate(() => window.roleta.socket?.close());
    await bruno.waitForSelector('#conn[data-state="reconnecting"]');
    await bruno.context().setOffline(false);
    await bruno.waitForSelector('#conn[data-state="open"]', { timeout: 40000 });
    await bruno.waitForFunction((id) => window.roleta.offer?.offer_id === id, first);
    expect(await bruno.isVisible('#offer-buttons'), 'the same offer is shown again');
    await bruno.click('#accept');
    await bruno.waitForSelector('#pending tr:has-text("Cliente Reconexão")');
  });

  await step('the receptionist registers a walk-in client and forwards them to B', async () => {
    const recep = await login('recepcao@demo.roleta');
    await recep.waitForSelector('body[data-ready="1"]');
    await recep.fill('#name', 'Joana Balcão');
    await recep.fill('#phone', 'abc');
    await recep.click('#forward button[type=submit]');
    await recep.waitForSelector('#phone[aria-invalid="true"]');
    await recep.fill('#phone', '(11) 3333-4444');
    await recep.selectOption('#broker_id', { label: 'Bruno Corretor' });
    await recep.click('#forward button[type=submit]');
    await recep.waitForSelector('#forward .form-notice.notice:has-text("encaminhado")');
    await shot(recep, '06-recepcao');
    await bruno.waitForSelector('#pending tr:has-text("Joana Balcão")');
    const row = await bruno.textContent('#pending tr:has-text("Joana Balcão")');
    expect(row.includes('REC'), `walk-in badge: ${row}`);
    await shot(bruno, '07-pendentes-recepcao');
  });

  const isoDay = (days) => new Date(Date.now() + days * 86400000).toISOString().slice(0, 10);

  await step('O1–O3: the manager creates a campaign, picks clients from a search and confirms the preview', async () => {
    await manager.goto(`${base}/campanhas.html`);
    await manager.waitForSelector('body[data-ready="1"]');
    await manager.fill('#c-name', 'Oferta Navegador');
    await manager.click('#new-campaign button[type=submit]');
    await manager.waitForSelector('#c-expires[aria-invalid="true"]');
    await manager.fill('#c-expires', isoDay(10));
    for (const name of ['Ana Corretora', 'Bruno Corretor']) await manager.check(`#c-brokers label:has-text("${name}") input`);
    await manager.click('#new-campaign button[type=submit]');
    await manager.waitForSelector('tr[data-campaign="Oferta Navegador"]');
    await manager.click('tr[data-campaign="Oferta Navegador"] [data-add]');
    await manager.fill('#s-q', 'cliente');
    await manager.click('#search button[type=submit]');
    await manager.waitForSelector('#results input[name="pick"]');
    await manager.check('#all');
    await manager.click('#preview-btn');
    await manager.waitForSelector('#preview:not(.hidden) [data-p="selected"]:text("4")');
    const v = async (k) => manager.textContent(`#preview [data-p="${k}"]`);
    expect(await v('to_add') === '4' && await v('active_clients') === '4' && await v('in_quarantine') === '0', 'preview counts');
    await manager.check('#p-route input[value="own"]');
    await shot(manager, '08-previa');
    await manager.click('#confirm');
    await manager.waitForSelector('#preview .form-notice.notice:has-text("4 cliente(s) adicionados, 4 para o próprio corretor")');
    await manager.waitForSelector('tr[data-campaign="Oferta Navegador"] [data-k="queued"]:text("4")');
    // O3: the same clients are in quarantine for the other campaign.
    await manager.click('tr[data-campaign="Lançamento Vila Nova"] [data-add]');
    await manager.click('#preview-btn');
    await manager.waitForSelector('#preview [data-p="in_quarantine"]:text("4")');
    expect(await v('to_add') === '0', 'nothing to add while in quarantine');
  });

  await step('O4–O5: the broker attends, saves a positive result and gets a pending attendance; continue later keeps the client', async () => {
    await ana.goto(`${base}/oferta.html`);
    await ana.waitForSelector('body[data-ready="1"]');
    await ana.click('[data-campaign="Oferta Navegador"] [data-attend]');
    await ana.waitForSelector('#call:not(.hidden)');
    expect((await ana.textContent('#call-client')) === 'Cliente Novo Tempo', 'Ana gets her own client');
    expect(await ana.isVisible('#call-own'), 'routed to her as her client');
    await ana.check('#outcomes input[value="high_interest"]');
    await ana.fill('#call-comment', 'Quer visitar o decorado');
    await shot(ana, '09-oferta-ativa');
    await ana.click('#save');
    await ana.waitForSelector('#list-notice:has-text("Não há mais clientes")');
    await ana.goto(`${base}/console.html`);
    await ana.waitForSelector('#pending tr:has-text("Cliente Novo Tempo")');
    await bruno.goto(`${base}/oferta.html`);
    await bruno.waitForSelector('body[data-ready="1"]');
    await bruno.click('[data-campaign="Oferta Navegador"] [data-attend]');
    await bruno.waitForSelector('#call:not(.hidden)');
    const first = await bruno.textContent('#call-client');
    await bruno.fill('#call-comment', 'Ligar depois das 18h');
    await bruno.click('#later');
    await bruno.waitForSelector('#list-notice:has-text("guardado")');
    await bruno.click('[data-campaign="Oferta Navegador"] [data-attend]');
    await bruno.waitForSelector('#call:not(.hidden)');
    expect((await bruno.textContent('#call-client')) === first, 'the kept client comes back first');
    expect((await bruno.inputValue('#call-comment')) === 'Ligar depois das 18h', 'with the comment so far');
    await bruno.click('#save');
    await bruno.waitForSelector('#result .form-notice.notice.bad:has-text("Escolha o resultado")');
    await bruno.check('#outcomes input[value="no_answer"]');
    await bruno.click('#save');
    await bruno.waitForFunction((f) => document.querySelector('#call-client')?.textContent !== f, first);
  });

  await step('T1–T4: the manager builds a team and distributes a client; the broker records the contact', async () => {
    await manager.goto(`${base}/campanhas.html`);
    await manager.waitForSelector('body[data-ready="1"]');
    // Bruno still holds the client he was shown last: the manager puts it back in the queue.
    await manager.waitForSelector('tr[data-campaign="Oferta Navegador"] [data-k="held"]:text("1")');
    manager.once('dialog', (d) => d.accept());
    await manager.click('tr[data-campaign="Oferta Navegador"] [data-release]');
    await manager.waitForSelector('tr[data-campaign="Oferta Navegador"] [data-k="held"]:text("0")');
    await manager.fill('#t-name', 'Equipe Navegador');
    await manager.check('#t-brokers label:has-text("Ana Corretora") input');
    await manager.click('#new-team button[type=submit]');
    await manager.waitForSelector('tr[data-team="Equipe Navegador"]');
    // T3: a client marked as already worked stays out of the distribution until unmarked.
    await manager.fill('#s-q', 'joana');
    await manager.click('#search button[type=submit]');
    await manager.waitForSelector('#results tr:has-text("Joana Balcão") input[name="pick"]');
    await manager.check('#all');
    await manager.click('#mark-worked');
    await manager.waitForSelector('#results tr:has-text("Joana Balcão") [data-worked]');
    await manager.fill('#d-q', 'joana');
    await manager.fill('#d-limit', '5');
    await manager.selectOption('#d-target', { label: 'Equipe Equipe Navegador' });
    await manager.click('#distribute button[type=submit]');
    await manager.waitForSelector('#distribute .form-notice.notice:has-text("0 cliente(s) distribuídos")');
    await manager.check('#results tr:has-text("Joana Balcão") input[name="pick"]');
    await manager.click('#unmark-worked');
    await manager.waitForSelector('#worked-notice:has-text("voltam às distribuições")');
    await manager.click('#distribute button[type=submit]');
    await manager.waitForSelector('#distribute .form-notice.notice:has-text("1 cliente(s) distribuídos (Ana Corretora: 1)")');
    await ana.goto(`${base}/oferta.html`);
    await ana.waitForSelector('#team-clients tr[data-client="Joana Balcão"]');
    await ana.selectOption('#team-clients tr[data-client="Joana Balcão"] select', 'no_answer');
    await ana.click('#team-clients tr[data-client="Joana Balcão"] [data-contact]');
    await ana.waitForSelector('#team-clients tr[data-client="Joana Balcão"] .tag:has-text("trabalhado")');
  });

  await step('L1–L6: the lead form links a known phone; the lead list shows overdue and urgent; reports and notifications follow', async () => {
    const recep = await login('recepcao@demo.roleta');
    await recep.waitForSelector('body[data-ready="1"]');
    await recep.fill('#name', 'Joana de Novo');
    await recep.fill('#phone', '(11) 3333-4444');
    await recep.press('#phone', 'Tab');
    await recep.waitForSelector('#phone-match:not(.hidden):has-text("Joana Balcão")');
    await shot(recep, '10-telefone-conhecido');
    await recep.click('#forward button[type=submit]');
    await recep.waitForSelector('#forward .form-notice.notice.bad');
    await recep.click('#link-yes');
    await recep.fill('#ad_campaign', 'Navegador');
    await recep.fill('#location', 'Moema');
    await recep.fill('#due_at', `${isoDay(-2)}T09:00`);
    await recep.check('#urgent');
    await recep.selectOption('#manager_id', { label: 'Gestora Demo' });
    await recep.selectOption('#broker_id', { label: 'Bruno Corretor' });
    await recep.click('#forward button[type=submit]');
    await recep.waitForSelector('#forward .form-notice.notice:has-text("encaminhado")');
    await manager.goto(`${base}/leads.html`);
    await manager.waitForSelector('body[data-ready="1"]');
    await manager.check('#only-overdue');
    // Linked: the lead is the known client's. Due two days ago (Brasília time): a day and more.
    const row = '#leads tr:has-text("Joana Balcão"):has-text("Navegador")';
    await manager.waitForSelector(`${row} [data-overdue]:has-text("Atrasado há")`);
    const badge = await manager.textContent(`${row} [data-overdue]`);
    expect(/há [12] d/.test(badge), `overdue by how long: ${badge}`);
    expect((await manager.textContent(row)).includes('URGENTE'), 'urgent badge');
    await manager.selectOption(`${row} select`, 'Em atendimento');
    await manager.waitForSelector('#leads-notice:has-text("Em atendimento")');
    // L4 on an existing lead: the due date is removed, the badge goes.
    await manager.click(`${row} [data-edit]`);
    await manager.check('#pl-clear');
    await manager.fill('#pl-location', 'Moema, São Paulo');
    await manager.click('#pipeline button[type=submit]');
    await manager.waitForSelector('#pipeline-dialog', { state: 'hidden' });
    await manager.uncheck('#only-overdue');
    await manager.waitForSelector(`#leads tr:has-text("Moema, São Paulo")`);
    expect(!(await manager.$('#leads tr:has-text("Moema, São Paulo") [data-overdue]')), 'no overdue badge without a due date');
    await manager.waitForSelector('#leads-notice:has-text("Em atendimento")');
    await manager.waitForSelector('#marketing tr[data-ad="Navegador"] [data-k="leads"]:text("1")');
    await manager.waitForSelector('#contacts tr[data-broker="Ana Corretora"]');
    await manager.waitForSelector('[data-bell] [data-unread]:not(:empty)');
    await manager.uncheck('input[value="lead_created|responsible_manager"]');
    await manager.click('#rules button[type=submit]');
    await manager.waitForSelector('#rules .form-notice.notice:has-text("salvas")');
    await shot(manager, '11-leads');
  });

  await step('the login and manager pages fit a phone screen', async () => {
    const ctx = await browser.newContext({ viewport: { width: 390, height: 844 }, ...BRAZIL, isMobile: true, hasTouch: true });
    const p = await ctx.newPage();
    await p.goto(`${base}/`);
    await shot(p, '12-phone-login');
    await p.fill('#email', 'gestor@demo.roleta');
    await p.fill('#password', PASSWORD);
    await p.click('button[type=submit]');
    await p.waitForURL(/gestor\.html/);
    await p.waitForSelector('body[data-ready="1"]');
    await shot(p, '13-phone-gestor');
    await ctx.close();
  });

  let carla; let carlaId; let carlaPassword;
  await step('a new broker gets a one-time password and must choose their own at first sign-in', async () => {
    await manager.goto(`${base}/gestor.html`);
    await manager.waitForSelector('body[data-ready="1"]');
    await manager.fill('#u-name', 'Carla Corretora');
    await manager.fill('#u-email', 'carla@demo.roleta');
    await manager.selectOption('#u-role', 'broker');
    await manager.check('#u-deps input[type=checkbox] >> nth=0');
    await manager.click('#new-user button[type=submit]');
    await manager.waitForSelector('#users-secret:not(.hidden) [data-otp]');
    const otp = (await manager.textContent('[data-otp]')).trim();
    expect(/^[a-z2-9]{4}(-[a-z2-9]{4}){3}$/.test(otp), `a one-time password: ${otp}`);
    await manager.waitForSelector('#users tr:has-text("Carla Corretora") .tag:has-text("senha provisória")');
    carlaId = Number(await manager.getAttribute('#users tr:has-text("Carla Corretora")', 'data-user'));
    await shot(manager, '14-senha-provisoria');

    const ctx = await browser.newContext({ viewport: { width: 390, height: 844 }, ...BRAZIL, isMobile: true, hasTouch: true });
    carla = await ctx.newPage();
    carla.on('pageerror', (e) => console.log(`     page error (carla): ${e.message}`));
    await carla.goto(`${base}/`);
    await carla.fill('#email', 'carla@demo.roleta');
    await carla.fill('#password', otp);
    await carla.click('#login button[type=submit]');
    await carla.waitForSelector('#change:not(.hidden)');
    expect(await carla.isHidden('#current-field'), 'the password just typed is not asked again');
    carlaPassword = 'senha-da-carla-1';
    await carla.fill('#new_password', carlaPassword);
    await carla.fill('#confirm_password', 'outra-coisa');
    await carla.click('#change button[type=submit]');
    await carla.waitForSelector('#confirm_password[aria-invalid="true"]');
    await carla.fill('#confirm_password', carlaPassword);
    await shot(carla, '15-phone-troca-senha');
    await carla.click('#change button[type=submit]');
    await carla.waitForURL(/console\.html/);
    await goOnline(carla);
  });

  await step('a deactivated broker is signed out at once and told why; the manager sees it', async () => {
    manager.once('dialog', (d) => d.accept());
    await manager.click(`[data-deactivate="${carlaId}"]`);
    await carla.waitForURL(/motivo=desativada/);
    await carla.waitForSelector('#login .form-notice.notice.bad');
    expect((await carla.textContent('#login .form-notice')).includes('desativada'), 'the reason on the sign-in page');
    await carla.fill('#email', 'carla@demo.roleta');
    await carla.fill('#password', carlaPassword);
    await carla.click('#login button[type=submit]');
    await carla.waitForFunction(() => document.querySelector('#login .form-notice')?.textContent.includes('gestor'));
    await shot(carla, '16-phone-conta-desativada');
    await manager.waitForSelector(`#users tr[data-user="${carlaId}"] .tag:has-text("desativado")`);
    expect(await manager.isVisible(`[data-reactivate="${carlaId}"]`), 'a reactivate button');
    await carla.context().close();
  });

  await step('the manager edits a user and renames a department, on a phone', async () => {
    const ctx = await browser.newContext({ viewport: { width: 390, height: 844 }, ...BRAZIL, isMobile: true, hasTouch: true });
    const p = await ctx.newPage();
    await p.goto(`${base}/`);
    await p.fill('#email', 'gestor@demo.roleta');
    await p.fill('#password', PASSWORD);
    await p.click('button[type=submit]');
    await p.waitForURL(/gestor\.html/);
    await p.waitForSelector('body[data-ready="1"]');
    await p.locator('#h-users').scrollIntoViewIfNeeded();
    await shot(p, '17-phone-usuarios');
    await p.click(`[data-edit="${carlaId}"]`);
    await p.waitForSelector('#user-dialog[open]');
    await p.fill('#e-name', 'Carla Souza');
    await shot(p, '18-phone-editar-usuario');
    await p.click('#edit-user button[type=submit]');
    await p.waitForSelector('#user-dialog', { state: 'hidden' });
    await p.waitForSelector(`#users tr[data-user="${carlaId}"]:has-text("Carla Souza")`);
    const dep = p.locator('#departments li', { hasText: 'Locação' });
    await dep.locator('[data-rename]').click();
    await p.waitForSelector('#dep-dialog[open]');
    await p.fill('#d-name', 'Aluguel');
    await p.click('#edit-department button[type=submit]');
    await p.waitForSelector('#departments li:has-text("Aluguel")');
    await p.locator('#h-deps').scrollIntoViewIfNeeded();
    await shot(p, '19-phone-departamentos');
    const page = await p.evaluate(() => document.documentElement.scrollWidth);
    expect(page <= 390, `the manager page scrolls sideways on a phone: ${page} px`);
    await ctx.close();
  });

  await step('no page broke the Content-Security-Policy', async () => {
    expect(cspViolations.length === 0, `CSP violations:\n${cspViolations.join('\n')}`);
  });
} catch (err) {
  // A step's failure is already reported; anything else (the browser not starting) is one too.
  if (!err?.reported) {
    failed += 1;
    console.log(`FAIL setup\n     ${String(err?.stack || err).split('\n').slice(0, 4).join('\n     ')}`);
  }
} finally {
  await browser?.close();
  server.kill('SIGTERM');
  fs.rmSync(dir, { recursive: true, force: true });
  console.log(`${passed} passed, ${failed} failed`);
  process.exitCode = failed ? 1 : 0;
}
