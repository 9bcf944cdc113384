// The client's timeline in pt-BR: one sentence per entry, every server code turned into words
// (an unknown code reads as a neutral sentence, never the code). No DOM, no network.
import { CHANNEL_NAMES, KINDS, CONTACT_KINDS, OUTCOMES, sourceLabel } from './labels.js';

const HOW = { contact_log: 'com o registro de um contato', lead_edit: 'com a edição do lead' };
const ATTEMPTS = { whatsapp: 'WhatsApp', phone: 'ligação' };

/** `{ what, note }`: the sentence and, when there is one, the note under it. */
export function describe(e) {
  const who = e.broker_name || 'um corretor';
  const lead = e.lead_number ? ` (lead ${e.lead_number})` : '';
  switch (e.kind) {
    case 'lead_created':
      return { what: `Lead ${e.lead_number || ''} registrado — ${CHANNEL_NAMES[e.code] || CHANNEL_NAMES.other}${e.to && sourceLabel(e.to) !== CHANNEL_NAMES[e.code] ? ` · ${sourceLabel(e.to)}` : ''}`.replace('  ', ' ') };
    case 'offered':
      return { what: `Oferecido a ${who}${e.sticky ? ' (retorno ao mesmo corretor)' : ''}${lead}` };
    case 'offer_accepted':
      return { what: `${who} aceitou${lead}` };
    case 'offer_refused':
      return { what: `Oferecido a ${who} — recusou${e.note ? `: ${e.note}` : ''}${lead}` };
    case 'offer_expired':
      return { what: `Expirou sem resposta com ${who}${lead}` };
    case 'offer_cancelled':
      return { what: `Oferta a ${who} cancelada${lead}` };
    case 'attendance_opened':
      return { what: `Atendimento aberto com ${who}${KINDS[e.code] ? ` · ${KINDS[e.code]}` : ''}${lead}` };
    case 'attendance_concluded':
      return { what: `Atendimento de ${who} concluído${HOW[e.code] ? ` ${HOW[e.code]}` : ''}${lead}` };
    case 'contact_logged':
      return { what: `Contato registrado por ${who}: ${CONTACT_KINDS[e.code] || 'Outro'}${lead}`, note: e.note };
    case 'contact_attempt':
      return { what: `Tentativa de contato por ${ATTEMPTS[e.code] || 'telefone'} — ${who}${lead}` };
    case 'client_contact':
    case 'campaign_result':
      return { what: `${e.kind === 'campaign_result' ? 'Resultado na campanha' : 'Contato na campanha'}${e.to ? ` ${e.to}` : ''}: ${OUTCOMES[e.code] || 'Outro'} — ${who}`, note: e.note };
    case 'status_changed':
      return { what: `${e.from ? `Status mudou de ${e.from} para ${e.to || '—'}` : `Status: ${e.to || '—'}`}${e.broker_name ? ` — por ${e.broker_name}` : ''}${lead}` };
    case 'recontact':
      return { what: `Novo contato pelo lead em aberto — ${sourceLabel(e.from)}${lead}`, note: e.to };
    case 'profile_edited':
      return { what: `Perfil do cliente editado por ${who}` };
    default:
      return { what: 'Outro acontecimento' };
  }
}
