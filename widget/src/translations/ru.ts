import type { Translation } from './en'

const plural = new Intl.PluralRules('ru')
const pick = (count: number, one: string, few: string, many: string) => {
  const form = plural.select(count)
  return form === 'one' ? one : form === 'few' ? few : many
}

const ru: Translation = {
  $code: 'ru',
  $dir: 'ltr',
  countryLabel: 'Страна',
  countryButton: (country) => (country ? `Страна: ${country}` : 'Выберите страну'),
  countrySearch: 'Поиск страны, кода или телефонного кода',
  closeList: 'Закрыть',
  countryResults: (count) => `${count} ${pick(count, 'страна', 'страны', 'стран')}`,
  noCountryMatch: 'Страна не найдена.',
  phoneLabel: 'Номер телефона',
  phonePlaceholder: 'Номер мобильного',
  consentDefault:
    'Я согласен получить одноразовый код в SMS. Оператор может взимать плату за сообщения.',
  sendCode: 'Отправить код',
  sending: 'Отправляем…',
  codeLabel: (length) => `Код из ${length} ${pick(length, 'цифры', 'цифр', 'цифр')}`,
  codeSentTo: (to) => `Мы отправили код на ${to}.`,
  verify: 'Подтвердить',
  verifying: 'Проверяем…',
  resend: 'Отправить новый код',
  resendIn: (seconds) => `Новый код через ${seconds} с`,
  newCodeSent: 'Новый код уже в пути.',
  expiresAt: (time) => `Код действует до ${time}.`,
  attemptsLeft: (count) =>
    `${pick(count, 'Осталась', 'Осталось', 'Осталось')} ${count} ${pick(count, 'попытка', 'попытки', 'попыток')}.`,
  changeNumber: 'Изменить номер',
  startAgain: 'Начать заново',
  verified: (phone) => `Номер ${phone} подтверждён.`,
  required: 'Подтвердите номер телефона.',
  retry: 'Повторить',
  phoneErrors: {
    empty: 'Введите номер телефона.',
    extension: 'SMS не доходят до добавочного номера: введите номер без него.',
    tooShort: 'Номер слишком короткий.',
    tooLong: 'Номер слишком длинный.',
    invalidCountry: 'Выберите страну или начните номер с +.',
    invalid: 'Это неправильный номер телефона.',
    landline: 'Это стационарный номер. Чтобы получить SMS, введите номер мобильного.',
    notMobile: 'На этот номер нельзя отправить SMS. Введите номер мобильного.',
  },
  consentMissing: 'Подтвердите согласие на получение кода.',
  countryNotOffered: (country) =>
    `Номера этой страны (${country}) здесь использовать нельзя. Укажите номер другой страны.`,
  wrongCodesLater:
    'Слишком много неверных кодов для этого номера. Попробуйте позже или укажите другой номер.',
  errors: {
    unknown: 'Что-то пошло не так. Попробуйте ещё раз.',
    network_error: 'Не удалось связаться с сервером. Проверьте подключение и попробуйте ещё раз.',
    invalid_phone: 'Это неправильный номер телефона.',
    unsupported_number_type: 'На этот номер нельзя отправить SMS. Укажите номер мобильного.',
    country_not_allowed: 'Номера этой страны здесь не принимаются.',
    consent_required: 'Подтвердите согласие на получение кода.',
    incorrect_code: 'Код неверный.',
    invalid_code_format: 'Код состоит только из цифр.',
    verification_expired: 'Срок действия кода истёк. Начните заново, чтобы получить новый.',
    max_attempts_reached: 'Слишком много неверных кодов. Начните заново с вашим номером.',
    max_sends_reached: 'Отправлено слишком много кодов. Попробуйте позже.',
    verification_not_pending: 'Этот код уже использован. Начните заново.',
    verification_not_found: 'Эта проверка больше не действует. Начните заново.',
    blocked: 'Мы не можем отправить код на этот номер.',
    challenge_required: 'Не удалось подтвердить запрос. Попробуйте ещё раз.',
    invalid_api_key: 'Форма настроена неправильно (неверный ключ).',
    origin_not_allowed: 'Форма настроена неправильно (сайт не разрешён).',
    wrong_key_type: 'Форма настроена неправильно (не тот ключ).',
    service_unavailable: 'Сервис перегружен. Попробуйте через минуту.',
    rate_limited: 'Слишком много попыток. Попробуйте позже.',
  },
  rateLimited: (when) => `Слишком много попыток. Повторите ${when}.`,
}

export default ru
