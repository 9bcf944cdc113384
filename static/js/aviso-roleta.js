// The broker's notice when they are away from the roulette (the manager's "participa da
// roleta" off, or an absence period): no roulette leads reach them until it ends, while their
// clients and pending attendances stay theirs. Checked again every minute, so it goes away
// by itself when the absence ends.
import { api } from './api.js';

const box = document.getElementById('aviso-roleta');
const REASONS = { ferias: 'férias', ausencia: 'ausência' };
const br = (d) => d.split('-').reverse().slice(0, 2).join('/');
const KEEP = 'Seus clientes e atendimentos pendentes continuam com você.';

async function check() {
  const a = await api('GET', '/api/v1/me/availability');
  let text = '';
  let cls = 'notice bad';
  if (!a.in_roulette) {
    text = `Você está fora da roleta: o gestor tirou você da distribuição de leads. ${KEEP}`;
  } else if (a.absent_now) {
    text = `Você está fora da roleta até ${br(a.absence.to)} (${REASONS[a.absence.reason]}). ${KEEP}`;
  } else if (a.absence && a.absence.starts_at_ms > Date.now()) {
    text = `${REASONS[a.absence.reason] === 'férias' ? 'Férias marcadas' : 'Ausência marcada'} de ${br(a.absence.from)} a ${br(a.absence.to)}: nesse período você não recebe leads da roleta.`;
    cls = 'notice';
  }
  box.textContent = text;
  box.className = text ? cls : 'hidden';
}

if (box) {
  check().catch(() => {});
  setInterval(() => check().catch(() => {}), 60000);
}
