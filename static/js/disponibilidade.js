// The manager's "participa da roleta" and absence periods (férias / ausência), one broker at a
// time: an away broker gets no roulette offers but keeps their clients and pending attendances.
// Renders into <section id="disponibilidade"> of gestor.html.
import { api, esc, showError, clearErrors, notice } from './api.js';
import { ABSENCE_REASONS as REASONS } from './labels.js';

const box = document.getElementById('disponibilidade');

/** "2026-01-05" → "05/01/2026" */
const br = (d) => (d ? d.split('-').reverse().join('/') : '');

/** What the manager reads next to the broker's name. */
function status(a) {
  if (!a.in_roulette) return ['rule', 'Fora da roleta'];
  if (a.absent_now) return ['rule', `De ${REASONS[a.absence.reason]} até ${br(a.absence.to)}`];
  if (a.absence && a.absence.starts_at_ms > Date.now()) {
    return ['returning', `Recebe ofertas · ${REASONS[a.absence.reason]} a partir de ${br(a.absence.from)}`];
  }
  return ['new', 'Recebe ofertas'];
}

function form(u) {
  const a = u.availability;
  const [cls, text] = status(a);
  const ab = a.absence || {};
  const id = `av-${u.id}`;
  return `
    <details class="u-mb-6" data-broker="${u.id}">
      <summary><span class="u-bold">${esc(u.name)}</span> <span class="tag ${cls}" data-status>${esc(text)}</span></summary>
      <form class="stack u-mt-8" novalidate data-broker="${u.id}">
        <div class="form-notice hidden" role="status"></div>
        <label class="check"><input type="checkbox" name="in_roulette" ${a.in_roulette ? 'checked' : ''}> Participa da roleta</label>
        <div class="row">
          <div class="field"><label for="${id}-reason">Ausência</label>
            <select id="${id}-reason" name="absence.reason">
              <option value="">Nenhuma</option>
              <option value="ferias" ${ab.reason === 'ferias' ? 'selected' : ''}>Férias</option>
              <option value="ausencia" ${ab.reason === 'ausencia' ? 'selected' : ''}>Outra ausência</option>
            </select><span class="error" data-error-for="absence.reason"></span></div>
          <div class="field"><label for="${id}-from">De</label>
            <input id="${id}-from" name="absence.from" type="date" value="${esc(ab.from || '')}">
            <span class="error" data-error-for="absence.from"></span></div>
          <div class="field"><label for="${id}-to">Até (inclusive)</label>
            <input id="${id}-to" name="absence.to" type="date" value="${esc(ab.to || '')}">
            <span class="error" data-error-for="absence.to"></span></div>
        </div>
        <span class="hint muted u-small">Fora da roleta ou ausente, o corretor não recebe leads da roleta, nem de clientes seus
          (vão para o próximo da vez), mas continua com seus clientes e atendimentos pendentes.</span>
        <div><button class="btn" type="submit">Salvar</button></div>
      </form>
    </details>`;
}

async function load() {
  const users = await api('GET', '/api/v1/users');
  const brokers = users.filter((u) => u.role === 'broker' && u.availability);
  box.innerHTML = `<h2 id="h-disponibilidade">Participação na roleta e ausências</h2>
    ${brokers.map(form).join('') || '<p class="muted">Nenhum corretor cadastrado.</p>'}
    <button class="btn small" type="button" data-reload>Atualizar lista</button>`;
  box.setAttribute('aria-labelledby', 'h-disponibilidade');
}

box.addEventListener('click', (e) => {
  if (e.target.closest('[data-reload]')) load().catch(() => {});
});

box.addEventListener('submit', async (e) => {
  e.preventDefault();
  const f = e.target;
  clearErrors(f);
  const reason = f.elements['absence.reason'].value;
  const from = f.elements['absence.from'].value;
  const to = f.elements['absence.to'].value;
  if (!reason && (from || to)) {
    return showError(f, { field: 'absence.reason', message: 'Escolha o motivo da ausência ou apague as datas.' });
  }
  if (reason && !from) return showError(f, { field: 'absence.from', message: 'Informe o primeiro dia da ausência.' });
  if (reason && !to) return showError(f, { field: 'absence.to', message: 'Informe o último dia da ausência.' });
  const body = {
    in_roulette: f.elements.in_roulette.checked,
    absence: reason ? { reason, from, to } : null,
  };
  try {
    const saved = await api('PUT', `/api/v1/users/${f.dataset.broker}/availability`, body);
    const [cls, text] = status(saved);
    const tag = box.querySelector(`details[data-broker="${f.dataset.broker}"] [data-status]`);
    tag.className = `tag ${cls}`;
    tag.textContent = text;
    if (!saved.absence) { f.elements['absence.from'].value = ''; f.elements['absence.to'].value = ''; }
    notice(f, 'Salvo. Vale a partir da próxima oferta.');
  } catch (err) { showError(f, err); }
});

load().catch(() => { box.innerHTML = '<p class="muted">Não foi possível carregar os corretores.</p>'; });
