import type { Translation } from './en'

const de: Translation = {
  $code: 'de',
  $dir: 'ltr',
  countryLabel: 'Land',
  countryButton: (country) => (country ? `Land: ${country}` : 'Land auswählen'),
  countrySearch: 'Land, Kürzel oder Vorwahl suchen',
  closeList: 'Schließen',
  countryResults: (count) => (count === 1 ? '1 Land' : `${count} Länder`),
  noCountryMatch: 'Kein Land gefunden.',
  phoneLabel: 'Telefonnummer',
  phonePlaceholder: 'Handynummer',
  consentDefault:
    'Ich bin einverstanden, einen Einmalcode per SMS zu erhalten. Es können Gebühren anfallen.',
  sendCode: 'Code senden',
  sending: 'Wird gesendet…',
  codeLabel: (length) => `${length}-stelliger Code`,
  codeSentTo: (to) => `Wir haben einen Code an ${to} gesendet.`,
  verify: 'Bestätigen',
  verifying: 'Wird geprüft…',
  resend: 'Neuen Code senden',
  resendIn: (seconds) => `Neuer Code in ${seconds} s`,
  newCodeSent: 'Ein neuer Code ist unterwegs.',
  expiresAt: (time) => `Der Code läuft um ${time} ab.`,
  attemptsLeft: (count) => (count === 1 ? 'Noch 1 Versuch.' : `Noch ${count} Versuche.`),
  changeNumber: 'Nummer ändern',
  startAgain: 'Neu beginnen',
  verified: (phone) => `${phone} ist bestätigt.`,
  required: 'Bestätigen Sie Ihre Telefonnummer.',
  retry: 'Erneut versuchen',
  phoneErrors: {
    empty: 'Geben Sie Ihre Telefonnummer ein.',
    extension: 'Eine SMS kann keine Durchwahl erreichen: Geben Sie die Nummer ohne Durchwahl ein.',
    tooShort: 'Diese Nummer ist zu kurz.',
    tooLong: 'Diese Nummer ist zu lang.',
    invalidCountry: 'Wählen Sie Ihr Land oder beginnen Sie die Nummer mit +.',
    invalid: 'Das ist keine gültige Telefonnummer.',
    landline:
      'Das ist eine Festnetznummer. Geben Sie eine Handynummer ein, um eine SMS zu erhalten.',
    notMobile: 'Diese Nummer kann keine SMS empfangen. Geben Sie eine Handynummer ein.',
  },
  consentMissing: 'Bitte stimmen Sie dem Empfang des Codes zu.',
  countryNotOffered: (country) =>
    `Nummern aus ${country} können hier nicht verwendet werden. Bitte nutzen Sie eine Nummer aus einem anderen Land.`,
  wrongCodesLater:
    'Zu viele falsche Codes für diese Nummer. Versuchen Sie es später oder mit einer anderen Nummer.',
  errors: {
    unknown: 'Etwas ist schiefgelaufen. Bitte versuchen Sie es erneut.',
    network_error:
      'Der Server ist nicht erreichbar. Prüfen Sie Ihre Verbindung und versuchen Sie es erneut.',
    invalid_phone: 'Das ist keine gültige Telefonnummer.',
    unsupported_number_type:
      'Diese Nummer kann keine SMS empfangen. Verwenden Sie eine Handynummer.',
    country_not_allowed: 'Nummern aus diesem Land werden hier nicht akzeptiert.',
    consent_required: 'Bitte stimmen Sie dem Empfang des Codes zu.',
    incorrect_code: 'Dieser Code ist nicht richtig.',
    invalid_code_format: 'Der Code besteht nur aus Ziffern.',
    verification_expired:
      'Dieser Code ist abgelaufen. Beginnen Sie neu, um einen neuen zu erhalten.',
    max_attempts_reached: 'Zu viele falsche Codes. Beginnen Sie neu mit Ihrer Nummer.',
    max_sends_reached: 'Es wurden zu viele Codes gesendet. Versuchen Sie es später erneut.',
    verification_not_pending: 'Dieser Code wurde bereits verwendet. Beginnen Sie neu.',
    verification_not_found: 'Diese Bestätigung ist nicht mehr gültig. Beginnen Sie neu.',
    blocked: 'An diese Nummer können wir keinen Code senden.',
    challenge_required:
      'Wir konnten diese Anfrage nicht bestätigen. Bitte versuchen Sie es erneut.',
    invalid_api_key: 'Dieses Formular ist falsch eingerichtet (ungültiger Schlüssel).',
    origin_not_allowed: 'Dieses Formular ist falsch eingerichtet (Website nicht erlaubt).',
    wrong_key_type: 'Dieses Formular ist falsch eingerichtet (falscher Schlüssel).',
    service_unavailable: 'Der Dienst ist ausgelastet. Bitte versuchen Sie es gleich noch einmal.',
    rate_limited: 'Zu viele Versuche. Versuchen Sie es später erneut.',
  },
  rateLimited: (when) => `Zu viele Versuche. Versuchen Sie es ${when} erneut.`,
}

export default de
