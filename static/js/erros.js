// What a person reads when the server says no: the one table that turns the API's errors
// (`{"error": {"code", "message", "field"}}`, messages in English for developers) into pt-BR.
// The pages never show the server's message nor the code: `translate()` picks the text from the
// code, the field and the known shapes of the message, falling back to one sentence per HTTP
// status. No DOM here: the browser tests import this file too. docs/UI.md lists the codes.

/** The last resort, for an answer nothing below knows. */
export const GENERIC = 'Não foi possível concluir. Tente de novo.';

/** One sentence per HTTP status, for a code this table does not know (0: no answer at all). */
export const BY_STATUS = {
  0: 'Sem conexão com o servidor. Verifique a internet e tente de novo.',
  400: 'O pedido não pôde ser entendido. Recarregue a página e tente de novo.',
  401: 'Sua sessão terminou. Entre novamente.',
  403: 'Você não tem permissão para fazer isso.',
  404: 'Não encontrado: talvez tenha sido removido. Recarregue a página.',
  409: 'Os dados mudaram enquanto isso. Recarregue a página e tente de novo.',
  413: 'O envio é grande demais.',
  415: 'O pedido não pôde ser entendido. Recarregue a página e tente de novo.',
  422: 'Verifique os dados informados.',
  429: 'Muitas tentativas seguidas. Aguarde um pouco e tente de novo.',
  500: 'Erro no servidor. Tente de novo em instantes.',
  502: 'O serviço está indisponível no momento. Tente de novo em instantes.',
  503: 'O serviço está indisponível no momento. Tente de novo em instantes.',
  504: 'O servidor demorou para responder. Tente de novo.',
};

/** Every code the server sends (HTTP `error.code` and the WebSocket's `error` message). */
export const CODES = {
  bad_request: BY_STATUS[400],
  unauthorized: BY_STATUS[401],
  forbidden: BY_STATUS[403],
  not_found: BY_STATUS[404],
  conflict: BY_STATUS[409],
  invalid: BY_STATUS[422],
  too_large: BY_STATUS[413],
  unsupported_media_type: BY_STATUS[415],
  unavailable: BY_STATUS[503],
  too_many_requests: BY_STATUS[429],
  internal: BY_STATUS[500],
  password_change_required: 'Troque a sua senha provisória antes de continuar.',
  account_deactivated: 'Esta conta foi desativada. Fale com o gestor da sua imobiliária.',
  agency_suspended: 'O acesso desta imobiliária ao Roleta está suspenso. Fale com o gestor.',
  // The broker's WebSocket
  bad_message: 'A página enviou algo que o servidor não entendeu. Recarregue a página.',
  unsupported: 'A página enviou algo que o servidor não entendeu. Recarregue a página.',
  offer_not_found: 'Esta oferta não existe mais.',
  not_your_offer: 'Esta oferta foi feita a outro corretor.',
  offer_closed: 'Esta oferta já terminou.',
  deadline_passed: 'O tempo para responder esta oferta acabou.',
};

/** The API's field names as the forms label them. A path (`statuses[0].name`) uses its head. */
export const FIELDS = {
  name: 'Nome', email: 'E-mail', phone: 'Telefone', password: 'Senha', role: 'Papel',
  current_password: 'Senha atual', new_password: 'Nova senha', departments: 'Departamentos',
  department: 'Departamento', answer_seconds: 'Tempo para responder',
  max_missed_in_row: 'Ofertas perdidas seguidas', retry_pause_seconds: 'Pausa antes da nova rodada',
  fallback_broker_id: 'Corretor plantonista', everyone_refused: 'Quando todos recusarem',
  lead_number_template: 'Numeração dos leads', roulette_enabled: 'Roleta ligada', source: 'Fonte',
  broker_id: 'Corretor', attendance_kind: 'Tipo de atendimento', property_code: 'Código do imóvel',
  lead_type_id: 'Tipo de lead', ad_campaign: 'Campanha de anúncio', due_at: 'Prazo', location: 'Localização',
  manager_id: 'Gestor responsável', comment: 'Observações', client_role: 'O cliente quer', channel: 'Canal',
  urgent: 'Urgente', statuses: 'Status', initial_status: 'Status inicial', transitions: 'Transições',
  rules: 'Notificações', from: 'De', to: 'Até', quarantine_days: 'Quarentena', active_offer_enabled: 'Oferta ativa',
  expires_at: 'Validade', development: 'Imóvel ou empreendimento', description: 'Descrição', brokers: 'Corretores',
  supervisor_id: 'Supervisor', limit: 'Quantidade', team_id: 'Equipe ou campanha', campaign_id: 'Campanha',
  q: 'Busca', client_ids: 'Clientes', selection: 'Seleção', route: 'Encaminhamento', token: 'Pré-visualização',
  property_id: 'Imóvel', 'absence.reason': 'Ausência', 'absence.from': 'Início da ausência',
  'absence.to': 'Fim da ausência', in_roulette: 'Participa da roleta', is_default: 'Padrão', id: 'Usuário',
  note: 'Anotação', kind: 'Tipo', status: 'Status', owner_client_id: 'Proprietário', code: 'Código',
  label: 'Nome', purpose: 'Finalidade', address: 'Endereço', neighbourhood: 'Bairro', condominium: 'Condomínio',
  appraisal_address: 'Endereço para avaliação', external_id: 'Identificador externo', reason: 'Motivo',
  expires_in_days: 'Validade em dias', endpoint: 'Notificações do aparelho', 'keys.p256dh': 'Notificações do aparelho',
  'keys.auth': 'Notificações do aparelho', body: 'Dados enviados',
  department_id: 'Departamento', app_secret: 'Chave secreta do app', page_token: 'Token da página',
  page_id: 'ID da página', mapping: 'Campos do envio',
  url: 'Endereço do CRM', events: 'Eventos enviados', secret: 'Segredo',
};

const NO_PUSH = 'Não foi possível ativar as notificações neste aparelho. Tente de novo.';
const DATE = 'Use uma data válida (dd/mm/aaaa).';
const n = (m) => Number(m[1]).toLocaleString('pt-BR');

/**
 * `invalid` answers by field: a text, or [pattern of the server's message, text] pairs tried in
 * order and ending with a text for any other message on that field.
 */
export const FIELD_ERRORS = {
  answer_seconds: 'Use um tempo entre 1 e 600 segundos.',
  max_missed_in_row: 'Use um número entre 0 (nunca) e 100.',
  retry_pause_seconds: 'Use uma pausa entre 0 e 86.400 segundos (24 horas).',
  fallback_broker_id: [[/choose/i, 'Escolha o corretor plantonista.'],
    [/active/i, 'O plantonista precisa ser um corretor ativo.'], 'Este corretor não existe nesta imobiliária.'],
  lead_number_template: [[/longer than (\d+)/, (m) => `A numeração pode ter no máximo ${n(m)} caracteres.`],
    [/width/, 'Em {seq:N}, N vai de 1 a 12.'],
    'Use só {year}, {seq} ou {seq:N} entre chaves, cada chave aberta e fechada.'],
  status: 'Escolha um status da lista.',
  owner_client_id: 'Este cliente não existe nesta imobiliária.',
  quarantine_days: 'Use de 0 a 365 dias.',
  brokers: [[/not an active broker/, 'Um dos corretores escolhidos não está ativo nesta imobiliária.'],
    'Escolha pelo menos um corretor.'],
  property_id: 'Este imóvel não existe nesta imobiliária.',
  expires_at: [[/future/, 'A validade precisa ser uma data futura.'], DATE],
  due_at: DATE,
  selection: [[/(\d+) clients/, (m) => `Selecione de 1 a ${n(m)} clientes.`], 'Selecione pelo menos um cliente.'],
  route: 'Escolha como encaminhar os clientes ativos.',
  phone: [[/too long/, 'Telefone longo demais.'], [/required/, 'Informe o telefone.'],
    'Telefone inválido. Use DDD e número, como (11) 98765-4321.'],
  limit: [[/1 to (\d+)/, (m) => `Use um número de 1 a ${n(m)}.`], 'Use um número maior que zero.'],
  client_ids: 'Marque de 1 a 10.000 clientes.',
  from: [[/before/, 'A data inicial precisa ser anterior à final.'], DATE],
  to: DATE,
  lead_type_id: 'Este tipo de lead não existe nesta imobiliária.',
  manager_id: 'Escolha um gestor ativo desta imobiliária.',
  department: 'Este departamento não existe nesta imobiliária.',
  department_id: 'Este departamento não existe nesta imobiliária.',
  mapping: 'Use um caminho como contato.telefone, com até 200 caracteres.',
  app_secret: 'A chave secreta tem no máximo 200 caracteres.',
  page_token: 'O token tem no máximo 1.000 caracteres.',
  page_id: 'O ID da página tem no máximo 64 caracteres.',
  email: 'Informe um e-mail válido, como nome@exemplo.com.br.',
  broker_id: [[/active/, 'Escolha um corretor ativo.'], 'Este corretor não existe nesta imobiliária.'],
  attendance_kind: 'Para escolher o tipo de atendimento, escolha também o corretor.',
  kind: 'Escolha o tipo de contato.',
  statuses: [[/repeated/, 'Há um status repetido: cada status aparece uma vez.'],
    'Informe de 1 a 30 status, um por linha.'],
  initial_status: 'O status inicial precisa estar entre os status do tipo.',
  transitions: 'Cada transição liga dois status diferentes deste tipo, no formato “de > para”.',
  rules: 'Evento ou destinatário desconhecido. Recarregue a página.',
  new_password: [[/pelo menos|at least/, 'A senha precisa ter pelo menos 8 caracteres.'],
    [/no máximo (\d+)|at most (\d+)/, 'A senha é longa demais.'],
    'A nova senha precisa ser diferente da atual.'],
  current_password: 'A senha atual não confere.',
  password: 'A senha precisa ter de 8 a 256 caracteres (ou deixe em branco para gerar uma).',
  departments: [[/Só corretores|only brokers/, 'Só corretores pertencem a departamentos.'],
    'Este departamento não existe nesta imobiliária.'],
  id: [[/roleta/, 'Só corretores participam da roleta.'], 'Só corretores pertencem a departamentos.'],
  in_roulette: 'Informe se o corretor participa da roleta.',
  'absence.reason': 'Escolha o motivo da ausência: férias ou outra ausência.',
  'absence.from': [[/Informe/, 'Informe o primeiro dia da ausência.'], [/2000/, 'Use uma data entre os anos 2000 e 2100.'], DATE],
  'absence.to': [[/antes/, 'A volta não pode ser antes do início da ausência.'],
    [/no máximo (\d+)/, (m) => `Uma ausência dura no máximo ${n(m)} dias.`],
    [/Informe/, 'Informe o último dia da ausência.'], [/2000/, 'Use uma data entre os anos 2000 e 2100.'], DATE],
  is_default: 'Sempre há um departamento padrão: para trocá-lo, torne outro o padrão.',
  team_id: 'Escolha uma equipe ou uma campanha.',
  expires_in_days: [[/1 to (\d+)/, (m) => `Use de 1 a ${n(m)} dias.`], 'Use um número de dias maior que zero.'],
  endpoint: NO_PUSH, 'keys.p256dh': NO_PUSH, 'keys.auth': NO_PUSH,
  url: [[/must be an https/, 'Use um endereço que comece com https://.'],
    [/public address/, 'O endereço precisa ser público na internet, não de uma rede interna.'],
    [/not one this server may send/, 'Este servidor não envia eventos para este endereço.'],
    [/cannot be resolved/, 'Este endereço não foi encontrado. Confira o nome.'],
    [/user name or password/, 'Não coloque usuário e senha no endereço.'],
    'Informe um endereço válido, como https://crm.suaimobiliaria.com.br/roleta.'],
  events: 'Escolha pelo menos um evento da lista.',
  secret: [[/at least (\d+)/, (m) => `O segredo precisa ter pelo menos ${n(m)} caracteres.`], 'Use outro segredo.'],
};

/** Other answers whose message the server words in one known way, by code. */
export const KNOWN = {
  conflict: [
    [/departamento com esse nome/, 'Já existe um departamento com esse nome.'],
    [/departamento padrão não pode ser removido/, 'O departamento padrão não pode ser removido: torne outro departamento o padrão antes.'],
    [/última pessoa ativa com papel de gestor/, 'Esta é a última pessoa ativa com papel de gestor na imobiliária: dê o papel de gestor a outra pessoa antes.'],
    [/Departamento inexistente/, 'Este departamento não existe nesta imobiliária.'],
    [/e-mail não pode ser usado|e-mail .* já é usado/, 'Este e-mail não pode ser usado; escolha outro.'],
    [/própria conta/, 'Você não pode desativar a sua própria conta.'],
    [/the phone .* is client/, 'Este telefone já é de um cliente: vincule o lead a ele ou use outro telefone.'],
    [/roulette off can be forwarded/, 'Só leads que chegaram com a roleta desligada podem ser encaminhados à mão.'],
    [/campaign has expired/, 'Esta campanha venceu.'],
    [/changed since the preview: (\d+)/, (m) => `Os clientes ou a campanha mudaram desde a pré-visualização: agora seriam adicionados ${n(m)}.`],
    [/linked brokers outside the campaign/, 'Um dos corretores marcados não está entre os vinculados de fora da campanha.'],
    [/not being called by you/, 'Este cliente não está mais em ligação com você nesta campanha.'],
    [/supervisor is not an active/, 'O supervisor precisa ser um gestor ou corretor ativo desta imobiliária.'],
    [/is not an active broker/, 'Um dos corretores escolhidos não está ativo nesta imobiliária.'],
    [/team named/, 'Já existe uma equipe com esse nome.'],
    [/team has no brokers/, 'A equipe não tem corretores.'],
    [/lead type named/, 'Já existe um tipo de lead com esse nome.'],
    [/does not allow moving/, 'O tipo deste lead não permite essa mudança de status.'],
    [/lead has no type/, 'Este lead não tem tipo, então não tem status para mudar.'],
    [/status changed meanwhile/, 'O status mudou enquanto isso. Recarregue a lista.'],
    [/property with code/, 'Já existe um imóvel com esse código.'],
    [/moved on before this accept/, 'Este lead já seguiu para outro corretor.'],
    [/already ended/, CODES.offer_closed],
    [/run out/, CODES.deadline_passed],
    [/agency is suspended/, CODES.agency_suspended],
    [/Idempotency-Key/, 'Este envio repete outro com dados diferentes.'],
    [/subscription is paused/, 'Esta assinatura está pausada: retome o envio antes de reenviar.'],
    [/at most (\d+) subscriptions/, (m) => `Uma imobiliária pode ter no máximo ${n(m)} assinaturas.`],
  ],
  forbidden: [
    [/needs one of the roles/, 'O seu papel não permite esta ação.'],
    [/origin .* is not allowed/, 'Abra o Roleta pelo endereço da sua imobiliária e tente de novo.'],
    [/Oferta Ativa|active offer/, 'As campanhas de Oferta Ativa não fazem parte do plano ou não estão habilitadas nesta imobiliária.'],
    [/A roleta não faz parte do plano/, 'A roleta não faz parte do plano desta imobiliária.'],
    [/alterar outro administrador/, 'Só um administrador pode alterar outro administrador.'],
    [/only an admin can create an admin/, 'Só um administrador pode dar o papel de administrador.'],
    [/another broker/, CODES.not_your_offer],
    [/suspensa/, 'A imobiliária desta chave está suspensa: nenhum lead é aceito.'],
  ],
  unavailable: [
    [/another node|moving/, 'A roleta desta imobiliária está mudando de servidor. Tente de novo em instantes.'],
    [/shutting down/, 'O servidor está reiniciando. Tente de novo em instantes.'],
    [/ocupado verificando senhas/, 'O servidor está ocupado. Tente de novo em instantes.'],
  ],
  too_many_requests: [
    [/em (\d+) minutos?/, (m) => `Muitas tentativas de acesso. Tente de novo em ${m[1]} minuto${m[1] === '1' ? '' : 's'}.`],
    [/em (\d+) segundos|retry in (\d+) s/, (m) => `Muitas tentativas seguidas. Tente de novo em ${m[1] || m[2]} segundos.`],
  ],
};

/** Answers of any field, by the shape of the message (the server's shared field checks). */
const SHAPES = [
  [/is required$|é obrigatóri/, (m, label) => `Preencha o campo “${label}”.`],
  [/longer than (\d+) characters|no máximo (\d+) caracteres/, (m, label) => `O campo “${label}” pode ter no máximo ${m[1] || m[2]} caracteres.`],
  [/NUL character/, (m, label) => `O campo “${label}” tem um caractere que não pode ser usado.`],
  [/must be a date/, () => DATE],
];

/** The label of an API field or path; null for one this table does not know. */
export function fieldLabel(field) {
  if (!field) return null;
  const plain = String(field).replace(/\[\d+\]/g, '');
  return FIELDS[field] || FIELDS[plain] || FIELDS[plain.split('.')[0]] || null;
}

function pick(rule, message, label) {
  if (rule == null) return null;
  const list = Array.isArray(rule) ? rule : [rule];
  for (const r of list) {
    if (typeof r === 'string') return r;
    const m = r[0].exec(message);
    if (m) return typeof r[1] === 'function' ? r[1](m, label) : r[1];
  }
  return null;
}

/**
 * What to show for an error answer: `{ message, field }`, the message always from this table.
 * `error` is the body's `error` object (or nothing); `field` may be read off a JSON shape error.
 */
export function translate(status, error) {
  const code = error?.code;
  const message = String(error?.message ?? '');
  let field = error?.field || null;
  if (code === 'invalid' && !field) {
    // The JSON was of the wrong shape: "…target type: answer_seconds: invalid type…", "missing field `name`".
    const m = /target type: ([A-Za-z_][\w.[\]]*): /.exec(message) || /missing field `([^`]+)`/.exec(message);
    if (m) field = m[1];
  }
  if (code === 'invalid' && field) {
    const label = fieldLabel(field) || 'dados';
    const text = pick(SHAPES, message, label) || pick(FIELD_ERRORS[field] ?? FIELD_ERRORS[field.split(/[.[]/)[0]], message, label);
    return { message: text || `Verifique o campo “${label}”.`, field };
  }
  const known = pick(KNOWN[code], message);
  if (known) return { message: known, field };
  return { message: CODES[code] || BY_STATUS[status] || GENERIC, field };
}
