import type { Translation } from './en'

// Portuguese says "0 país" as it says "1 país" (CLDR: 0 and 1 are "one").
const plural = new Intl.PluralRules('pt-BR')
const one = (count: number) => plural.select(count) === 'one'

const ptBR: Translation = {
  $code: 'pt-BR',
  $dir: 'ltr',
  countryLabel: 'País',
  countryButton: (country) => (country ? `País: ${country}` : 'Escolha um país'),
  countrySearch: 'Busque país, sigla ou código de discagem',
  closeList: 'Fechar',
  countryResults: (count) => `${count} ${one(count) ? 'país' : 'países'}`,
  noCountryMatch: 'Nenhum país encontrado.',
  phoneLabel: 'Número de telefone',
  phonePlaceholder: 'Número de celular',
  consentDefault:
    'Concordo em receber um código de uso único por SMS. Podem ser cobradas tarifas de mensagens e dados.',
  sendCode: 'Enviar código',
  sending: 'Enviando…',
  codeLabel: (length) => `Código de ${length} dígitos`,
  codeSentTo: (to) => `Enviamos um código para ${to}.`,
  verify: 'Verificar',
  verifying: 'Verificando…',
  resend: 'Enviar novo código',
  resendIn: (seconds) => `Novo código em ${seconds} s`,
  newCodeSent: 'Um novo código está a caminho.',
  expiresAt: (time) => `O código expira às ${time}.`,
  attemptsLeft: (count) =>
    one(count) ? `Resta ${count} tentativa.` : `Restam ${count} tentativas.`,
  changeNumber: 'Trocar número',
  startAgain: 'Começar de novo',
  verified: (phone) => `${phone} foi verificado.`,
  required: 'Verifique seu número de telefone.',
  retry: 'Tentar novamente',
  phoneErrors: {
    empty: 'Digite seu número de telefone.',
    extension: 'Um SMS não chega a um ramal: digite o número sem o ramal.',
    tooShort: 'Este número é curto demais.',
    tooLong: 'Este número é longo demais.',
    invalidCountry: 'Escolha seu país ou comece o número com +.',
    invalid: 'Este número de telefone não é válido.',
    landline: 'Este é um número fixo. Digite um número de celular para receber SMS.',
    notMobile: 'Este número não recebe SMS. Digite um número de celular.',
  },
  consentMissing: 'Aceite receber o código.',
  countryNotOffered: (country) =>
    `Números deste país (${country}) não podem ser usados aqui. Use um número de outro país.`,
  wrongCodesLater: 'Muitos códigos errados para este número. Tente mais tarde ou use outro número.',
  errors: {
    unknown: 'Algo deu errado. Tente novamente.',
    network_error: 'Não foi possível acessar o servidor. Verifique sua conexão e tente novamente.',
    invalid_phone: 'Este número de telefone não é válido.',
    unsupported_number_type: 'Este número não recebe SMS. Use um número de celular.',
    country_not_allowed: 'Números deste país não são aceitos aqui.',
    consent_required: 'Aceite receber o código.',
    incorrect_code: 'Esse código não está certo.',
    invalid_code_format: 'O código tem apenas dígitos.',
    verification_expired: 'Este código expirou. Comece de novo para receber outro.',
    max_attempts_reached: 'Muitos códigos errados. Comece de novo com seu número.',
    max_sends_reached: 'Muitos códigos foram enviados. Tente mais tarde.',
    verification_not_pending: 'Este código já foi usado. Comece de novo.',
    verification_not_found: 'Esta verificação não é mais válida. Comece de novo.',
    blocked: 'Não podemos enviar um código para este número.',
    challenge_required: 'Não conseguimos confirmar esta solicitação. Tente novamente.',
    invalid_api_key: 'Este formulário não está configurado corretamente (chave inválida).',
    origin_not_allowed: 'Este formulário não está configurado corretamente (site não permitido).',
    wrong_key_type: 'Este formulário não está configurado corretamente (chave errada).',
    service_unavailable: 'O serviço está ocupado. Tente novamente em instantes.',
    rate_limited: 'Muitas tentativas. Tente mais tarde.',
  },
  rateLimited: (when) => `Muitas tentativas. Tente novamente ${when}.`,
}

export default ptBR
