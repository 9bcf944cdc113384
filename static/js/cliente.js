// The client record (cliente.html?id=N): who the client is, Ligar/WhatsApp, the interest profile
// (edited here, replaced whole), the leads, the client's properties and the timeline in pt-BR.
import { api, me, topbar, esc, errorText, showError, clearErrors, notice, money, dateTimeBR, ApiError } from './api.js';
import { formatPhone, contactButtons, wireAttempts, fillTemplate } from './contato.js';
import { CHANNEL_NAMES, LEAD_STATES, PROPERTY_KINDS, PURPOSES, PROPERTY_STATUSES, sourceLabel } from './labels.js';
import { navFor, OBJECTIVES } from './clientes-comum.js';
import { describe } from './cliente-linha.js';

const id = new URLSearchParams(location.search).get('id');
const form = document.getElementById('profile');
const $ = (x) => document.getElementById(x);
const SOURCES_OF_PROFILE = { manual: 'Perfil preenchido à mão.', lead: 'Perfil tirado do último lead do cliente.', none: 'Perfil ainda não informado.' };

function missing(text) {
  $('record').classList.add('hidden');
  $('missing').textContent = text;
  $('missing').classList.remove('hidden');
  document.body.dataset.ready = '1';
}

function facts(c) {
  const rows = [
    ['Telefone', `<span class="phone-num">${esc(formatPhone(c.phone))}</span>`],
    ['E-mail', c.email ? `<span class="email">${esc(c.email)}</span>` : ''],
    ['Corretor', esc(c.broker_name || 'Sem corretor')],
    ['Cliente desde', esc(dateTimeBR(c.created_at_ms))],
    ['Objetivo', esc(OBJECTIVES[c.objective] || 'Não informado')],
  ];
  return rows.filter(([, v]) => v).map(([k, v]) => `<dt>${k}</dt><dd>${v}</dd>`).join('');
}

const num = (v) => (v == null ? '' : String(v));
const priceText = (cents) => (cents == null ? '' : Math.round(cents / 100).toLocaleString('pt-BR'));

function fill(c) {
  const i = c.interest || {};
  form.objective.value = c.objective || '';
  form['interest.kind'].value = i.kind || '';
  form['interest.purpose'].value = i.purpose || '';
  form['interest.price_cents'].value = priceText(i.price_cents);
  form['interest.neighbourhood'].value = i.neighbourhood || '';
  form['interest.bedrooms'].value = num(i.bedrooms);
  form['interest.parking'].value = num(i.parking);
  form.appraisal_address.value = c.appraisal_address || '';
  form.condominium.value = c.condominium || '';
  $('profile-source').textContent = SOURCES_OF_PROFILE[c.interest_source] || '';
}

/** A whole number from the field, null when empty; `{ field, message }` when not a number. */
function whole(name, label, scale = 1) {
  const t = form[name].value.trim().replace(/^R\$\s*/, '').replace(/\./g, '');
  if (!t) return null;
  if (!/^\d+$/.test(t)) throw { field: name, message: `Use só números em “${label}”.` };
  return Number(t) * scale;
}

form.addEventListener('submit', async (e) => {
  e.preventDefault();
  clearErrors(form);
  let body;
  try {
    const opt = (name) => form[name].value.trim() || null;
    body = {
      objective: form.objective.value || null,
      interest: {
        kind: form['interest.kind'].value || null,
        purpose: form['interest.purpose'].value || null,
        price_cents: whole('interest.price_cents', 'Valor', 100),
        neighbourhood: opt('interest.neighbourhood'),
        bedrooms: whole('interest.bedrooms', 'Dormitórios'),
        parking: whole('interest.parking', 'Vagas'),
      },
      appraisal_address: opt('appraisal_address'),
      condominium: opt('condominium'),
    };
  } catch (bad) { showError(form, bad); return; }
  const btn = form.querySelector('button[type=submit]');
  btn.disabled = true;
  try {
    await api('PUT', `/api/v1/clients/${encodeURIComponent(id)}/profile`, body);
    notice(form, 'Perfil salvo.');
    await load();
  } catch (err) { showError(form, err); } finally { btn.disabled = false; }
});

function leadRow(l) {
  return `<li><strong>Lead ${esc(l.number || l.id)}</strong> · ${esc(LEAD_STATES[l.state] || '—')}${l.status ? ` · ${esc(l.status)}` : ''}
    <div class="muted u-small">${esc(CHANNEL_NAMES[l.channel] || CHANNEL_NAMES.other)}${l.source && sourceLabel(l.source) !== CHANNEL_NAMES[l.channel] ? ` · ${esc(sourceLabel(l.source))}` : ''} · ${esc(dateTimeBR(l.created_at_ms))}${l.broker_name ? ` · ${esc(l.broker_name)}` : ''}</div></li>`;
}

function propertyRow(p) {
  const parts = [PROPERTY_KINDS[p.kind], PURPOSES[p.purpose], money(p.price_cents), p.neighbourhood,
    p.bedrooms != null ? `${p.bedrooms} dorm.` : '', p.parking_spaces != null ? `${p.parking_spaces} vaga${p.parking_spaces === 1 ? '' : 's'}` : ''];
  return `<li><strong>${esc(p.code || `Imóvel ${p.id}`)}</strong> · ${esc(PROPERTY_STATUSES[p.status] || '—')}
    <div class="muted u-small">${esc(parts.filter(Boolean).join(' · '))}${p.address ? `<br>${esc(p.address)}` : ''}</div></li>`;
}

function timelineRow(e) {
  const d = describe(e);
  return `<li data-kind="${esc(e.kind)}"><span class="when">${esc(dateTimeBR(e.at_ms))}</span>
    <span class="what">${esc(d.what)}</span>${d.note ? `<span class="note">${esc(d.note)}</span>` : ''}</li>`;
}

let ctx = { user: null, agency: null };

async function load() {
  const [c, timeline] = await Promise.all([
    api('GET', `/api/v1/clients/${encodeURIComponent(id)}`),
    api('GET', `/api/v1/clients/${encodeURIComponent(id)}/timeline`),
  ]);
  document.title = `${c.name || 'Cliente'} — Roleta`;
  $('name').textContent = c.name || 'Cliente sem nome';
  $('facts').innerHTML = facts(c);
  const lastLead = c.leads?.[0]?.id || '';
  const text = fillTemplate(ctx.agency?.whatsapp_template, { cliente: c.name, corretor: ctx.user.name, imobiliaria: ctx.agency?.name });
  $('contact').innerHTML = contactButtons({ leadId: lastLead, phone: c.phone, text, name: c.name });
  fill(c);
  $('leads').innerHTML = (c.leads || []).map(leadRow).join('') || '<li class="muted">Nenhum lead.</li>';
  $('properties').innerHTML = (c.properties || []).map(propertyRow).join('') || '<li class="muted">Nenhum imóvel cadastrado para este cliente.</li>';
  $('timeline').innerHTML = timeline.map(timelineRow).join('');
  $('timeline-empty').classList.toggle('hidden', timeline.length > 0);
  $('record').classList.remove('hidden');
  document.body.dataset.ready = '1';
}

wireAttempts($('contact'));
try {
  const m = await me();
  ctx = { user: m.user, agency: m.agency };
  $('nav').innerHTML = navFor(m.user, '/clientes.html');
  $('role-name').textContent = m.user.role === 'broker' ? 'Corretor' : 'Gestão';
  topbar(m.user);
  if (!/^\d+$/.test(id || '')) missing('Cliente não encontrado.');
  else await load();
} catch (err) {
  missing(err instanceof ApiError && err.status === 404 ? 'Cliente não encontrado.' : errorText(err));
}
