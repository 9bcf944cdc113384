// The import's reasons in pt-BR: the server sends each refused row's reason as a code with its
// column and what was typed (docs/IMPORT.md); this table words them. No DOM: the browser tests
// import it too. File-level refusals (a column missing, too large) are worded here as well.

/** The columns as the documentation and the example file name them. */
export const COLUMNS = {
  nome: 'Nome', telefone: 'Telefone', email: 'E-mail', corretor: 'E-mail do corretor',
  departamento: 'Departamento', observacoes: 'Observações', imoveis: 'Imóveis', codigo: 'Código',
  tipo: 'Tipo', transacao: 'Transação', preco: 'Preço', bairro: 'Bairro', quartos: 'Quartos',
  vagas: 'Vagas', endereco: 'Endereço', captador: 'E-mail do captador',
};

const col = (f) => COLUMNS[f] || 'Campo';
const q = (s) => `“${s ?? ''}”`;

const REASONS = {
  required: (p) => `${col(p.field)} em branco.`,
  too_long: (p) => `${col(p.field)} passa de ${p.detail} caracteres.`,
  phone_invalid: (p) => `Telefone ${q(p.detail)} não é um número válido.`,
  email_invalid: (p) => `${col(p.field)} ${q(p.detail)} não é um e-mail válido.`,
  broker_unknown: (p) => `Nenhum corretor ativo da imobiliária tem o e-mail ${q(p.detail)}.`,
  department_unknown: (p) => `O departamento ${q(p.detail)} não existe.`,
  property_unknown: (p) => `O imóvel de código ${q(p.detail)} não está cadastrado: importe os imóveis antes.`,
  kind_invalid: (p) => `Tipo ${q(p.detail)} não reconhecido: use apartamento, casa, terreno ou comercial.`,
  purpose_invalid: (p) => `Transação ${q(p.detail)} não reconhecida: use venda ou locação.`,
  price_invalid: (p) => `Preço ${q(p.detail)} não é um valor (exemplo: 850.000,00).`,
  number_invalid: (p) => `${col(p.field)} ${q(p.detail)} não é um número.`,
  too_many_properties: (p) => `Mais de ${p.detail} imóveis na mesma linha.`,
};

/** Why a staged row will not be imported, in pt-BR. */
export function rowReason(row, kind) {
  if (row.status === 'duplicate') {
    if (row.duplicate_of) return `Repete ${kind === 'properties' ? 'o código' : 'o telefone'} da linha ${row.duplicate_of}.`;
    return 'Já é cliente da imobiliária (mesmo telefone).';
  }
  const p = row.problem;
  return (p && REASONS[p.reason]?.(p)) || 'Linha com dados inválidos.';
}

/** Why a whole file was refused (the upload's error answer, or a failed import's `error`). */
export function fileError(status, error) {
  if (status === 413 || error === 'too_large') return 'O arquivo passa do limite de 64 MB. Divida-o em partes menores.';
  if (status === 415) return 'Escolha um arquivo CSV.';
  if (error === 'interrupted') return 'O envio foi interrompido antes do fim. Envie o arquivo de novo.';
  if (status === 422 && error?.field && COLUMNS[error.field]) {
    return `O arquivo não tem a coluna ${q(error.field)}. Confira a primeira linha (o cabeçalho) com os nomes das colunas.`;
  }
  if (status === 422 || error === 'unreadable') return 'O arquivo está vazio ou não pôde ser lido. Salve a planilha como CSV e tente de novo.';
  return null;
}
