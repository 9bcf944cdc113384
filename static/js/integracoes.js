// The manager's lead sources (docs/SOURCES.md): connect Grupo OLX, Meta lead ads, RD Station or
// any form, see the exact address and key to paste into the sender (shown once), and follow
// what each source brought.
import { api, me, topbar, managerNav, esc, showError, clearErrors, notice, dateTimeBR, bell, errorText, ApiError } from './api.js';

const $ = (id) => document.getElementById(id);
const KINDS = {
  grupozap: 'Grupo OLX', meta: 'Facebook e Instagram', rdstation: 'RD Station', form: 'Portal ou formulário',
};
const CHANNELS = { ls: 'Site', lp: 'Portal', lf: 'Redes sociais' };
const MAPPED = [
  ['name', 'Nome do cliente', 'contato.nome'], ['phone', 'Telefone', 'contato.telefone'],
  ['email', 'E-mail', 'contato.email'], ['property_code', 'Código do imóvel', 'imovel.codigo'],
  ['external_id', 'Identificador do contato no portal', 'id'], ['message', 'Mensagem', 'mensagem'],
];
/** Why the Facebook could not be read yet, in words (the server keeps a short code). */
function graphError(code) {
  if (!code) return '';
  if (code === 'token') return 'o Facebook recusou o token da página: gere outro e atualize aqui';
  if (code === 'no_token') return 'falta o token de acesso da página';
  if (code.startsWith('unreachable')) return 'sem conexão com o Facebook; nova tentativa em instantes';
  if (/^graph_5/.test(code)) return 'o Facebook está fora do ar; nova tentativa em instantes';
  if (code.startsWith('graph_')) return 'o Facebook recusou o pedido; confira o token e o ID da página';
  return 'nova tentativa em instantes';
}

let departments = [];
let sources = [];

function departmentOptions(selected) {
  return `<option value="">Departamento padrão da imobiliária</option>${departments
    .map((d) => `<option value="${d.id}" ${d.id === selected ? 'selected' : ''}>${esc(d.name)}</option>`).join('')}`;
}

function field(id, name, label, { type = 'text', hint = '', placeholder = '', value = '' } = {}) {
  return `<div class="field"><label for="${id}">${label}</label>
    <input id="${id}" name="${name}" type="${type}" autocomplete="off" placeholder="${esc(placeholder)}" value="${esc(value)}">
    ${hint ? `<span class="hint">${hint}</span>` : ''}<span class="error" data-error-for="${name}"></span></div>`;
}

/** The fields a kind needs; `s` is the source being edited (secrets are never shown back). */
function kindFields(kind, p, s) {
  const kept = (k) => (s?.configured?.includes(k) ? 'configurado — deixe em branco para manter' : '');
  const map = s?.mapping || {};
  if (kind === 'grupozap') {
    return '<p class="hint">O código do anúncio que o portal envia liga o lead ao imóvel cadastrado com o mesmo código, e o perfil de interesse se preenche sozinho.</p>';
  }
  if (kind === 'meta') {
    return `<div class="row">${field(`${p}app_secret`, 'app_secret', 'Chave secreta do app', { type: 'password', placeholder: kept('app_secret'), hint: 'Em Configurações do app › Básico, no painel de desenvolvedores da Meta.' })}
      ${field(`${p}page_token`, 'page_token', 'Token de acesso da página', { type: 'password', placeholder: kept('page_token') })}
      ${field(`${p}page_id`, 'page_id', 'ID da página', { value: s?.page_id || '', placeholder: 'opcional' })}</div>`;
  }
  if (kind === 'rdstation') {
    return `<div class="row">${field(`${p}m-property_code`, 'mapping.property_code', 'Campo personalizado com o código do imóvel', { value: map.property_code || '', placeholder: 'cf_codigo_imovel (opcional)' })}</div>`;
  }
  return `<p class="hint">Diga onde cada informação está no envio do portal ou do formulário, como <strong>contato.telefone</strong>. Em branco, lê o campo de mesmo nome (nome, telefone, email, mensagem).</p>
    <div class="row">${MAPPED.map(([k, label, ex]) => field(`${p}m-${k}`, `mapping.${k}`, label, { value: map[k] || '', placeholder: ex })).join('')}
    <div class="field"><label for="${p}channel">Como o lead aparece</label><select id="${p}channel" name="channel">
      ${Object.entries(CHANNELS).map(([v, l]) => `<option value="${v}" ${(s?.channel || 'ls') === v ? 'selected' : ''}>${l}</option>`).join('')}
    </select><span class="error" data-error-for="channel"></span></div></div>`;
}

/** What the form says, as the API takes it; empty fields are left out (kept as they are). */
function bodyOf(form, kind) {
  const b = {};
  const dep = form.department_id.value;
  b.department_id = dep ? Number(dep) : null;
  for (const k of ['app_secret', 'page_token', 'page_id']) if (form[k]?.value.trim()) b[k] = form[k].value.trim();
  const mapping = {};
  for (const input of form.querySelectorAll('input[name^="mapping."]')) {
    if (input.value.trim()) mapping[input.name.slice(8)] = input.value.trim();
  }
  if (kind === 'form' || kind === 'rdstation') b.mapping = mapping;
  if (kind === 'form') b.channel = form.channel.value;
  return b;
}

function copyBox(label, value) {
  return `<div class="u-mt-12"><strong>${label}</strong><code>${esc(value)}</code>
    <button class="btn small" type="button" data-copy="${esc(value)}">Copiar</button></div>`;
}

/** The address and key to paste into the sender, with where they go. */
function showCreated(kind, path, key) {
  const url = `${location.origin}${path}`;
  let html = '<strong>Copie agora — a chave não será mostrada de novo.</strong>';
  if (kind === 'grupozap') {
    html += copyBox('Endereço (endpoint) para o Grupo OLX', url) + copyBox('Chave de segurança (SECRET_KEY)', key)
      + '<p class="u-small">Envie os dois ao Grupo OLX (integração de leads) ou cadastre no painel do anunciante. Cada lead chega uma única vez, mesmo quando o portal reenvia.</p>';
  } else if (kind === 'meta') {
    html += copyBox('URL de retorno de chamada', url) + copyBox('Token de verificação', key)
      + '<p class="u-small">No painel da Meta, em Webhooks › Página, cole os dois e assine o campo “leadgen”. Os leads chegam mesmo se o Facebook ficar fora do ar por um tempo.</p>';
  } else {
    html += copyBox(kind === 'rdstation' ? 'URL do webhook de conversão (RD Station)' : 'Endereço para o portal ou o formulário', `${url}?key=${key}`)
      + '<p class="u-small">Quem tiver este endereço pode enviar leads: guarde-o como uma senha.</p>';
  }
  const box = $('created');
  box.innerHTML = html;
  box.classList.remove('hidden');
  box.scrollIntoView({ block: 'nearest' });
}

document.addEventListener('click', async (e) => {
  const b = e.target.closest('[data-copy]');
  if (!b) return;
  try { await navigator.clipboard.writeText(b.dataset.copy); b.textContent = 'Copiado'; } catch { b.textContent = 'Selecione e copie'; }
});

function situation(s) {
  if (!s.active) return '<span class="tag">Desativada</span>';
  const parts = ['Ativa'];
  if (s.waiting) parts.push(`${s.waiting} aguardando o Facebook: ${graphError(s.last_error)}`);
  if (s.refused) parts.push(`${s.refused} sem telefone no formulário, não registrados`);
  return esc(parts.join(' · '));
}

function render() {
  const dep = (id) => departments.find((d) => d.id === id)?.name || 'Padrão da imobiliária';
  $('sources').innerHTML = sources.map((s) => `<tr data-source="${esc(s.name)}">
      <td data-label="Fonte"><strong>${esc(s.name)}</strong>${KINDS[s.kind] && KINDS[s.kind] !== s.name ? `<br><span class="muted u-small">${esc(KINDS[s.kind])}</span>` : ''}</td>
      <td data-label="Departamento">${esc(dep(s.department_id))}</td>
      <td data-label="Leads recebidos">${s.leads.toLocaleString('pt-BR')}</td>
      <td data-label="Último lead">${s.last_lead_at_ms ? esc(dateTimeBR(s.last_lead_at_ms)) : '—'}</td>
      <td data-label="Situação">${situation(s)}</td>
      <td><div class="actions">
        <button class="btn small" data-edit="${s.id}">Editar</button>
        <button class="btn small" data-key="${s.id}">Nova chave</button>
        <button class="btn small" data-toggle="${s.id}">${s.active ? 'Desativar' : 'Ativar'}</button></div></td></tr>`).join('')
    || '<tr><td colspan="6" class="muted">Nenhuma fonte conectada ainda.</td></tr>';
}

async function load() {
  sources = await api('GET', '/api/v1/integrations');
  render();
}

const form = $('new-source');
function kindChanged() {
  const kind = form.kind.value;
  $('kind-fields').innerHTML = kindFields(kind, 'n-');
  form.querySelector('[data-for="form"]').classList.toggle('hidden', kind !== 'form');
}
form.kind.addEventListener('change', kindChanged);

form.addEventListener('submit', async (e) => {
  e.preventDefault();
  clearErrors(form);
  const kind = form.kind.value;
  const body = { kind, ...bodyOf(form, kind) };
  if (kind === 'form') {
    if (!form.name.value.trim()) return showError(form, { field: 'name', message: 'Dê um nome à fonte, como Imovelweb ou Site.' });
    body.name = form.name.value.trim();
  }
  try {
    const out = await api('POST', '/api/v1/integrations', body);
    notice(form, `Fonte “${out.integration.name}” conectada.`);
    form.name.value = '';
    kindChanged();
    showCreated(kind, out.path, out.key);
    await load();
  } catch (err) {
    if (err instanceof ApiError && err.status === 409) {
      showError(form, { field: kind === 'form' ? 'name' : 'kind', message: 'Já existe uma fonte com este nome: use outro nome ou edite a existente.' });
    } else showError(form, err);
  }
});

/** A word under the list of sources. */
function say(text, bad = false) {
  const n = $('list-notice');
  n.textContent = text;
  n.className = `form-notice notice${bad ? ' bad' : ''}`;
}

const dialog = $('edit-dialog');
const edit = $('edit-source');
let editing = null;
edit.querySelector('[data-close]').addEventListener('click', () => dialog.close());
edit.addEventListener('submit', async (e) => {
  e.preventDefault();
  clearErrors(edit);
  try {
    await api('PUT', `/api/v1/integrations/${editing.id}`, { active: editing.active, ...bodyOf(edit, editing.kind) });
    dialog.close();
    await load();
    say(`Fonte “${editing.name}” atualizada.`);
  } catch (err) { showError(edit, err); }
});

$('sources').addEventListener('click', async (e) => {
  const b = e.target.closest('button');
  if (!b) return;
  const s = sources.find((x) => String(x.id) === (b.dataset.edit || b.dataset.key || b.dataset.toggle));
  if (!s) return;
  try {
    if (b.dataset.edit) {
      editing = s;
      $('edit-title').textContent = `Editar ${s.name}`;
      edit.department_id.innerHTML = departmentOptions(s.department_id);
      $('e-kind-fields').innerHTML = kindFields(s.kind, 'e-', s);
      clearErrors(edit);
      dialog.showModal();
    } else if (b.dataset.key) {
      if (!confirm(`Gerar uma nova chave para ${s.name}? A chave atual deixa de funcionar na hora, e a fonte precisa receber a nova.`)) return;
      const out = await api('POST', `/api/v1/integrations/${s.id}/key`);
      showCreated(s.kind, out.path, out.key);
    } else {
      await api('PUT', `/api/v1/integrations/${s.id}`, { active: !s.active, department_id: s.department_id });
      await load();
      say(s.active ? `Fonte “${s.name}” desativada: os envios dela são recusados.` : `Fonte “${s.name}” ativada.`);
    }
  } catch (err) { say(errorText(err), true); }
});

const { user } = await me();
if (!['manager', 'admin'].includes(user.role)) location.href = '/';
$('nav').innerHTML = managerNav('/integracoes.html');
topbar(user);
bell();
departments = await api('GET', '/api/v1/departments');
form.department_id.innerHTML = departmentOptions(null);
kindChanged();
await load();
document.body.dataset.ready = '1';
