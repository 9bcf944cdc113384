// "Importar e exportar": a CSV of clients or properties is sent (progress while it uploads and
// the server reads it), its preview shown (counts, brokers, the rows refused and why), then
// confirmed (progress while it is written); the exports are links. docs/IMPORT.md.
import { api, me, topbar, bell, managerNav, esc, errorText, showError, clearErrors, dateTimeBR, phone } from './api.js';
import { rowReason, fileError } from './importar-motivos.js';

const $ = (id) => document.getElementById(id);
const n = (v) => Number(v || 0).toLocaleString('pt-BR');
const form = $('upload');
const KIND_NAMES = { clients: 'Clientes', properties: 'Imóveis' };
const STATUS = { previewing: 'Lendo o arquivo', ready: 'Aguardando confirmação', failed: 'Não concluída',
  confirming: 'Gravando', confirmed: 'Importada' };
const COLUMNS_HELP = {
  clients: 'Colunas: nome e telefone (obrigatórias), email, corretor (e-mail do corretor), departamento, observacoes, imoveis (códigos separados por |).',
  properties: 'Colunas: codigo, tipo e transacao (obrigatórias), preco, bairro, quartos, vagas, endereco, captador (e-mail do corretor).',
};
let current = null;
let after = 0;
let phase = 'invalid';

function showColumns() { $('columns').textContent = COLUMNS_HELP[$('kind').value]; }

/** Sends the file with XMLHttpRequest for its upload progress; the answer as { status, body }. */
function send(kind, file, onProgress) {
  return new Promise((resolve) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `/api/v1/imports/${kind}`);
    xhr.setRequestHeader('Content-Type', 'text/csv');
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) onProgress(e.loaded / e.total); };
    xhr.onload = () => {
      let body = null;
      try { body = JSON.parse(xhr.responseText); } catch { body = null; }
      resolve({ status: xhr.status, body });
    };
    xhr.onerror = () => resolve({ status: 0, body: null });
    xhr.send(file);
  });
}

/** While the file uploads: how many rows the server has read (the newest import being read). */
async function pollReading(started, stop) {
  while (!stop.done) {
    await new Promise((r) => setTimeout(r, 800));
    try {
      const list = await api('GET', '/api/v1/imports');
      const mine = list.find((i) => i.status === 'previewing' && i.created_at_ms >= started - 60000);
      if (mine && !stop.done) $('read-text').textContent = `${n(mine.rows)} linhas lidas…`;
    } catch { /* the upload's own answer says what went wrong */ }
  }
}

async function upload(e) {
  e.preventDefault();
  clearErrors(form);
  const file = $('file').files[0];
  if (!file) { showError(form, { field: 'file', message: 'Escolha o arquivo CSV.' }); return; }
  const kind = $('kind').value;
  $('preview').classList.add('hidden');
  $('reading').classList.remove('hidden');
  $('read-bar').value = 0;
  $('read-text').textContent = 'Enviando…';
  form.querySelector('button[type=submit]').disabled = true;
  const stop = { done: false };
  pollReading(Date.now(), stop);
  const r = await send(kind, file, (f) => { $('read-bar').value = Math.round(f * 100); });
  stop.done = true;
  form.querySelector('button[type=submit]').disabled = false;
  $('reading').classList.add('hidden');
  if (r.status !== 201) {
    const message = fileError(r.status, r.body?.error) || errorText({});
    showError(form, { field: 'file', message });
    loadRecent();
    return;
  }
  show(r.body);
  loadRecent();
}

function count(label, value, bad) {
  return `<li${bad ? ' class="bad"' : ''}><strong>${n(value)}</strong>${esc(label)}</li>`;
}

function show(imp) {
  current = imp;
  after = 0;
  phase = 'invalid';
  const props = imp.kind === 'properties';
  $('counts').innerHTML = count('linhas no arquivo', imp.rows)
    + count(props ? 'serão importados' : 'serão importados como clientes novos', imp.valid)
    + (props ? count('atualizam imóveis já cadastrados', imp.updates) : '')
    + count('com erro', imp.invalid, imp.invalid > 0)
    + count(props ? 'códigos repetidos' : 'duplicados (telefone repetido ou já cliente)', imp.duplicates, imp.duplicates > 0);
  $('brokers').innerHTML = imp.brokers.map((b) => `<li>${esc(b.name || (props ? 'Sem captador' : 'Sem corretor'))}: ${n(b.rows)} ${b.rows === 1 ? 'linha' : 'linhas'}</li>`).join('')
    || '<li class="muted">Nenhuma linha a importar.</li>';
  $('same-file').classList.toggle('hidden', !imp.same_file_as);
  $('same-file').textContent = 'Este mesmo arquivo já foi importado antes. Nenhum registro será duplicado.';
  $('ignored').classList.toggle('hidden', !imp.ignored_columns.length);
  $('ignored').textContent = `Colunas não usadas: ${imp.ignored_columns.join(', ')}.`;
  $('problems').innerHTML = '';
  $('problems-box').classList.toggle('hidden', imp.invalid + imp.duplicates === 0);
  $('result').classList.add('hidden');
  $('writing').classList.add('hidden');
  const done = imp.status === 'confirmed';
  $('confirm').classList.toggle('hidden', done || imp.valid === 0);
  $('confirm').textContent = `Confirmar importação de ${n(imp.valid)} ${imp.valid === 1 ? 'linha' : 'linhas'}`;
  if (done) showResult(imp);
  $('preview').classList.remove('hidden');
  loadProblems();
}

/** The refused rows, 100 at a time: those with an error first, then the duplicates. */
async function loadProblems() {
  if (phase === 'invalid' && current.invalid === 0) { phase = 'duplicate'; after = 0; }
  const rows = await api('GET', `/api/v1/imports/${current.id}/rows?status=${phase}&after=${after}&limit=100`);
  $('problems').insertAdjacentHTML('beforeend', rows.map((r) => `<tr data-row="${r.row}" data-status="${esc(r.status)}"><td data-label="Linha">${r.row}</td>
    <td data-label="Registro">${esc(r.label || '—')}${r.key ? ` <span class="muted">${esc(r.key.startsWith('+') ? phone(r.key) : r.key)}</span>` : ''}</td>
    <td data-label="Motivo">${esc(rowReason(r, current.kind))}</td></tr>`).join(''));
  after = rows.at(-1)?.row ?? after;
  const full = rows.length === 100;
  if (!full && phase === 'invalid') { phase = 'duplicate'; after = 0; }
  $('more-problems').classList.toggle('hidden', !full && !(phase === 'duplicate' && after === 0 && current.duplicates > 0 && current.invalid > 0));
}

function showResult(imp) {
  const props = imp.kind === 'properties';
  const parts = props
    ? [`${n(imp.created)} imóveis cadastrados`, `${n(imp.updated)} atualizados`]
    : [`${n(imp.created)} clientes cadastrados`];
  if (imp.skipped) parts.push(`${n(imp.skipped)} já eram clientes quando a importação foi confirmada`);
  $('result').textContent = `Importação concluída: ${parts.join(', ')}.`;
  $('result').classList.remove('hidden');
  $('confirm').classList.add('hidden');
}

async function confirmImport() {
  const id = current.id;
  $('confirm').disabled = true;
  $('writing').classList.remove('hidden');
  const stop = { done: false };
  (async () => {
    while (!stop.done) {
      await new Promise((r) => setTimeout(r, 700));
      try {
        const i = await api('GET', `/api/v1/imports/${id}`);
        if (stop.done) break;
        $('write-bar').value = i.valid ? Math.round((i.written / i.valid) * 100) : 100;
        $('write-text').textContent = `${n(i.written)} de ${n(i.valid)} linhas gravadas…`;
      } catch { /* the confirmation's own answer says what went wrong */ }
    }
  })();
  try {
    const done = await api('POST', `/api/v1/imports/${id}/confirm`);
    $('write-bar').value = 100;
    $('writing').classList.add('hidden');
    showResult(done);
  } catch (err) {
    $('writing').classList.add('hidden');
    $('result').textContent = errorText(err);
    $('result').className = 'notice bad';
  } finally {
    stop.done = true;
    $('confirm').disabled = false;
    loadRecent();
  }
}

async function loadRecent() {
  const list = await api('GET', '/api/v1/imports');
  $('recent').innerHTML = list.map((i) => `<tr><td data-label="Quando">${esc(dateTimeBR(i.created_at_ms))}</td>
    <td data-label="Tipo">${esc(KIND_NAMES[i.kind] || '—')}</td>
    <td data-label="Situação">${esc(STATUS[i.status] || '—')}${i.status === 'failed' ? ` — ${esc(fileError(0, i.error) || '')}` : ''}</td>
    <td data-label="Linhas">${n(i.rows)}</td><td data-label="Gravadas">${i.status === 'confirmed' ? n(i.created + i.updated) : '—'}</td></tr>`).join('')
    || '<tr><td colspan="5" class="muted">Nenhuma importação ainda.</td></tr>';
}

function exportLinks() {
  const sep = encodeURIComponent($('sep').value);
  $('export-clients').href = `/api/v1/exports/clients.csv?sep=${sep}`;
  $('export-leads').href = `/api/v1/exports/leads.csv?sep=${sep}`;
}

const { user } = await me();
if (!['manager', 'admin'].includes(user.role)) location.href = '/';
$('nav').innerHTML = managerNav('/importar.html');
topbar(user);
form.addEventListener('submit', upload);
$('kind').addEventListener('change', showColumns);
$('confirm').addEventListener('click', confirmImport);
$('cancel').addEventListener('click', () => { $('preview').classList.add('hidden'); $('file').value = ''; $('file').focus(); });
$('more-problems').addEventListener('click', loadProblems);
$('sep').addEventListener('change', exportLinks);
showColumns();
exportLinks();
await loadRecent();
bell().catch(() => {});
document.body.dataset.ready = '1';
