// The pt-BR words for the API's codes (roles, channels, lead sources, states…): pages show
// these, never the code. One table per kind; `label()` falls back to a dash, never the code.

export const ROLES = { broker: 'Corretor', receptionist: 'Recepção', manager: 'Gestor', admin: 'Administrador', ops: 'Operação' };

/** Channels: the short badge text and the full name. */
export const CHANNELS = { lf: 'LF', lp: 'LP', ls: 'LS', phone: 'TEL', walk_in: 'REC', other: 'OUT' };
export const CHANNEL_NAMES = { lf: 'Lead do Facebook', lp: 'Lead de portal', ls: 'Lead do site', phone: 'Telefone', walk_in: 'Recepção', other: 'Outro' };

/**
 * Where a lead came from. The server names three itself; the others are the names a manager
 * gave the agency's API keys (shown as typed, the few usual ones capitalised).
 */
export const SOURCES = {
  reception: 'Recepção', oferta_ativa: 'Oferta ativa', equipe: 'Distribuição para equipe',
  site: 'Site', portal: 'Portal', facebook: 'Facebook', instagram: 'Instagram', whatsapp: 'WhatsApp',
  zap: 'Zap Imóveis', vivareal: 'Viva Real', olx: 'OLX', imovelweb: 'Imovelweb',
};

export const KINDS = { new: 'Novo', rule: 'Regra', returning: 'Retorno', transfer: 'Transferência' };
export const PROPERTY_KINDS = { apartment: 'Apartamento', house: 'Casa', land: 'Terreno', commercial: 'Comercial' };
export const PURPOSES = { sale: 'venda', rent: 'locação' };
export const CLIENT_ROLES = { buyer: 'Comprador', renter: 'Locatário', owner: 'Proprietário' };
export const OUTCOMES = {
  high_interest: 'Alto interesse', asked_info: 'Pediu informações', low_interest: 'Baixo interesse',
  no_answer: 'Não atendeu', no_interest: 'Sem interesse',
};
export const OFFER_STATES = { pending: 'Aguardando resposta', accepted: 'Aceita', refused: 'Recusada', expired: 'Expirada', cancelled: 'Cancelada' };
export const LEAD_STATES = { unrouted: 'Sem corretor', waiting: 'Na fila', offered: 'Em oferta', assigned: 'Com corretor' };
export const CONTACT_KINDS = { call: 'Ligação', whatsapp: 'WhatsApp', email: 'E-mail', visit: 'Visita', note: 'Anotação' };
/** A contact attempt's channel (the one-tap log after Ligar or WhatsApp). */
export const ATTEMPT_CHANNELS = { phone: CONTACT_KINDS.call, whatsapp: CONTACT_KINDS.whatsapp };
export const PROPERTY_STATUSES = { available: 'Disponível', reserved: 'Reservado', sold: 'Vendido', rented: 'Alugado', unavailable: 'Indisponível' };
export const ABSENCE_REASONS = { ferias: 'férias', ausencia: 'ausência' };

/** Notification rules (L6). */
export const EVENTS = {
  lead_created: 'Lead registrado', lead_assigned: 'Lead encaminhado a um corretor', lead_status_changed: 'Status do lead mudou',
  lead_recontact: 'Novo contato num lead em aberto',
  campaign_positive: 'Resultado positivo na oferta ativa', clients_distributed: 'Clientes distribuídos',
};
export const RECIPIENTS = { broker: 'Corretor', responsible_manager: 'Gestor responsável', supervisor: 'Supervisor da equipe', managers: 'Todos os gestores' };

/** The word for `code` in `table`; a dash (or `fallback`) when the table does not know it. */
export const label = (table, code, fallback = '—') => (code == null || code === '' ? fallback : (table[code] ?? fallback));

/** A lead's source: the server's own names translated, an API key's name as the manager typed it. */
export const sourceLabel = (s) => (s ? SOURCES[s] ?? s : '—');

/** The events a CRM may subscribe to (docs/WEBHOOKS.md), in the order the page lists them. */
export const WEBHOOK_EVENTS = {
  'lead.created': 'Lead criado', 'offer.made': 'Oferta feita', 'offer.accepted': 'Oferta aceita',
  'offer.refused': 'Oferta recusada', 'offer.expired': 'Oferta expirada', 'lead.assigned': 'Lead atribuído',
  'attendance.concluded': 'Atendimento concluído', 'broker.online': 'Corretor disponível',
  'broker.offline': 'Corretor indisponível',
};
