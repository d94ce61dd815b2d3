/**
 * valibot schemas of every request and response of the Textgate HTTP API.
 * The server validates with them; the widget and store servers take their types.
 * @module
 */
import * as v from 'valibot'
import { countryCode, notACountry } from './countries'
import { REDEEM_FAILURES } from './errors'

export const CODE_LENGTH_MIN = 4
export const CODE_LENGTH_MAX = 10

const isoTimestamp = v.pipe(v.string(), v.isoTimestamp())

/**
 * Free text from a client: no control characters (NUL, newlines, escapes, C1). They have no place
 * in a note or a tag, PostgreSQL refuses NUL in text, and they make logs lie.
 */
const CONTROL_CHARACTERS = /[\p{Cc}]/u
const noControlCharacters = (field: string) =>
  v.check(
    (value: string) => !CONTROL_CHARACTERS.test(value),
    `${field} must not contain control characters`,
  )

const OTHER_DIGIT = /[^\P{Nd}0-9]|＋/u
const OTHER_DIGITS = /[^\P{Nd}0-9]|＋/gu
const DIGIT = /^\p{Nd}$/u

/**
 * Every Unicode decimal digit (Arabic-Indic, Persian, Devanagari, full-width…) as 0–9, and a
 * full-width plus as +, as the widget reads what shoppers type: a caller that passes a
 * shopper's input on as it was typed gets the same answer as the widget.
 * @example
 * asciiDigits('＋٤٤ ٧٤٠٠') // '+44 7400'
 */
export function asciiDigits(text: string): string {
  // Nearly every input has ASCII digits only: nothing to replace.
  if (!OTHER_DIGIT.test(text)) return text
  return text.replace(OTHER_DIGITS, (ch) => {
    if (ch === '＋') return '+'
    const code = ch.codePointAt(0) as number
    // Unicode keeps each script's digits 0–9 as one run of ten code points.
    let zero = code
    while (zero > code - 50 && DIGIT.test(String.fromCodePoint(zero - 1))) zero--
    return String((code - zero) % 10)
  })
}

/** Goes into the signed token as `consent.version`: a short tag in a safe alphabet. */
export const CONSENT_VERSION = /^[A-Za-z0-9._:+/@ -]{1,64}$/

/**
 * A country from an operator or API caller: an ISO 3166-1 alpha-2 code of a country numbers are
 * parsed for (see countries.ts; `UK` and `XX` are refused, named), in any case on the way in,
 * upper case after parsing.
 */
export const CountryCode = v.pipe(
  v.string('a country is an ISO 3166-1 alpha-2 code such as GB'),
  v.metadata({
    description:
      'An ISO 3166-1 alpha-2 code of a country with a numbering plan (libphonenumber), in any case: GB, not UK.',
    pattern: '^[A-Za-z]{2}$',
    examples: ['GB'],
  }),
  v.check(
    (value) => countryCode(value) !== undefined,
    (issue) => notACountry(String(issue.input)),
  ),
  v.transform((value) => countryCode(value) as string),
)

export const Consent = v.object(
  {
    accepted: v.literal(true, 'consent.accepted must be true'),
    version: v.optional(
      v.pipe(
        v.string('consent.version must be a string'),
        v.trim(),
        v.regex(
          CONSENT_VERSION,
          'consent.version must be 1 to 64 letters, digits, spaces or . _ : + / @ -',
        ),
      ),
    ),
    /** The shopper's separate, optional opt-in to marketing messages from the store. */
    marketing: v.optional(v.boolean('consent.marketing must be true or false')),
  },
  'consent must be an object { accepted: true, version?, marketing? }',
)

/**
 * The shopper's language as a BCP 47 tag (`fr`, `pt-BR`, `zh-Hant-TW`, `ar-EG-u-nu-arab` with an
 * extension, as `Intl` gives them): the code message is worded in it, falling back to the
 * project's English for a language it has no wording for. It is kept with the verification, so
 * it is bounded: 64 characters hold any tag a browser or `Intl` makes.
 */
export const Locale = v.pipe(
  v.string(),
  v.maxLength(64, 'locale must be at most 64 characters'),
  v.regex(/^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$/, 'locale must be BCP 47'),
)

export const Channel = v.picklist(['sms'], 'channel must be "sms"')

export const VerificationStatus = v.picklist([
  'pending',
  'approved',
  'expired',
  'failed',
  'canceled',
])
export type VerificationStatus = v.InferOutput<typeof VerificationStatus>

export const MessageStatus = v.picklist([
  'queued',
  'sending',
  'sent',
  'delivered',
  'undelivered',
  'failed',
  'suppressed',
])
export type MessageStatus = v.InferOutput<typeof MessageStatus>

// POST /v1/verifications
const signalCount = (name: string) =>
  v.pipe(
    v.number(`signals.${name} must be a number`),
    v.safeInteger(`signals.${name} must be a whole number`),
    v.minValue(0, `signals.${name} must be 0 or more`),
  )

/**
 * What the widget noticed while the shopper entered the number, for the fraud guard. Every field
 * is optional: a store server calling the API directly simply sends none.
 */
export const CallerSignals = v.strictObject({
  /** Random per browser, kept in localStorage "textgate:device". */
  deviceId: v.optional(
    v.pipe(
      v.string('signals.deviceId must be a string'),
      v.regex(/^[A-Za-z0-9_-]{16,64}$/, 'signals.deviceId must be 16 to 64 of A-Z a-z 0-9 _ -'),
    ),
  ),
  /** Milliseconds from the widget first shown to Send. */
  shownMs: v.optional(signalCount('shownMs')),
  /** How the number got into the field. */
  entry: v.optional(v.picklist(['typed', 'pasted', 'autofilled', 'mixed'])),
  /** Key events in the phone field. */
  keys: v.optional(signalCount('keys')),
  /** Focus events on the phone field. */
  focuses: v.optional(signalCount('focuses')),
  /** The page was visible at Send. */
  visible: v.optional(v.boolean('signals.visible must be true or false')),
  /** `navigator.webdriver`: the browser says automation drives it. */
  webdriver: v.optional(v.boolean('signals.webdriver must be true or false')),
})
export type CallerSignals = v.InferInput<typeof CallerSignals>

export const StartVerificationRequest = v.strictObject({
  phone: v.pipe(
    v.string('phone must be a string'),
    noControlCharacters('phone'),
    v.trim(),
    v.minLength(1, 'phone is required'),
    v.maxLength(40, 'phone is too long'),
  ),
  /**
   * The country of `phone` given as national digits. The server reads a number's country from
   * the number (server/src/phone/territory.ts), never from this: it only picks which of a
   * project's allowed territories counts a number they share (CC or CX, for an Australian mobile
   * on a project that allows both and not AU).
   */
  country: v.optional(CountryCode),
  consent: Consent,
  locale: v.optional(Locale),
  channel: v.optional(Channel),
  /**
   * The solved proof-of-work challenge (ALTCHA payload, base64 JSON) when a previous start
   * answered 428 `challenge_required`.
   */
  challenge: v.optional(
    v.pipe(
      v.string(),
      v.minLength(1),
      v.maxLength(4096),
      v.regex(/^[A-Za-z0-9+/=_-]+$/, 'challenge must be the base64 payload the widget solved'),
    ),
  ),
  /** A Turnstile or hCaptcha response token, for projects that configured one. */
  captcha: v.optional(
    v.strictObject({
      token: v.pipe(
        v.string(),
        v.minLength(1),
        v.maxLength(4096),
        v.regex(/^[\x21-\x7e]+$/, 'captcha.token must be visible ASCII'),
      ),
    }),
  ),
  /** What the widget noticed while the number was entered (optional, for the fraud guard). */
  signals: v.optional(CallerSignals),
})
export type StartVerificationRequest = v.InferInput<typeof StartVerificationRequest>

/**
 * The `Idempotency-Key` header of a start: the route checks it with this schema and the OpenAPI
 * document is generated from it, so both say the same.
 */
export const IdempotencyKey = v.pipe(
  v.string(),
  v.minLength(1),
  v.maxLength(255),
  v.regex(/^[\x21-\x7e]+$/, 'must be 1 to 255 visible ASCII characters'),
)

export const StartVerificationResponse = v.object({
  id: v.string(),
  status: v.literal('pending'),
  to: v.string(),
  expiresAt: isoTimestamp,
  resendAfter: isoTimestamp,
  attemptsLeft: v.number(),
  codeLength: v.number(),
})
export type StartVerificationResponse = v.InferOutput<typeof StartVerificationResponse>

/** The proof-of-work puzzle in a 428 `challenge_required` error (ALTCHA, SHA-256). */
export const PowChallenge = v.object({
  algorithm: v.literal('SHA-256'),
  challenge: v.string(),
  maxnumber: v.number(),
  salt: v.string(),
  signature: v.string(),
})
export type PowChallenge = v.InferOutput<typeof PowChallenge>

// GET /v1/config (publishable key)
export const WidgetConfigResponse = v.object({
  /** A hint of the shopper's country (CDN country header, else Accept-Language region). */
  country: v.nullable(v.pipe(v.string(), v.regex(/^[A-Z]{2}$/))),
  /** The only countries the project accepts, or null for every country. */
  allowedCountries: v.nullable(v.array(v.pipe(v.string(), v.regex(/^[A-Z]{2}$/)))),
  codeLength: v.pipe(
    v.number(),
    v.integer(),
    v.minValue(CODE_LENGTH_MIN),
    v.maxValue(CODE_LENGTH_MAX),
  ),
  brand: v.string(),
})
export type WidgetConfigResponse = v.InferOutput<typeof WidgetConfigResponse>

// POST /v1/verifications/{id}/check
export const CheckVerificationRequest = v.strictObject({
  code: v.pipe(
    v.string('code must be a string'),
    // Shoppers paste codes as "123 456" or "123-456" (any dash), with invisible marks from
    // messaging apps (bidi isolates, zero-width spaces), typed in their script's digits.
    v.transform((code) => asciiDigits(code).replace(/[\s\p{Cf}\p{Pd}]/gu, '')),
    v.regex(/^\d+$/, 'code must be digits only'),
    v.minLength(CODE_LENGTH_MIN),
    v.maxLength(CODE_LENGTH_MAX),
  ),
})
export type CheckVerificationRequest = v.InferInput<typeof CheckVerificationRequest>

export const CheckVerificationResponse = v.object({
  id: v.string(),
  status: v.literal('approved'),
  token: v.string(),
})
export type CheckVerificationResponse = v.InferOutput<typeof CheckVerificationResponse>

// POST /v1/verifications/{id}/resend
/**
 * The body of a resend, optional (an empty POST resends as before): the widget names the
 * language it shows now, which may have changed since the start, and the new code is worded in
 * it (and later resends without one keep it).
 */
export const ResendVerificationRequest = v.strictObject({
  locale: v.optional(Locale),
})
export type ResendVerificationRequest = v.InferInput<typeof ResendVerificationRequest>

export const ResendVerificationResponse = v.object({
  resendAfter: isoTimestamp,
  expiresAt: isoTimestamp,
  attemptsLeft: v.number(),
})
export type ResendVerificationResponse = v.InferOutput<typeof ResendVerificationResponse>

// GET /v1/verifications/{id} (secret key)
export const VerificationMessage = v.object({
  id: v.string(),
  status: MessageStatus,
  carrier: v.nullable(v.string()),
  carrierMessageId: v.nullable(v.string()),
  error: v.nullable(v.string()),
  createdAt: isoTimestamp,
  sentAt: v.nullable(isoTimestamp),
  deliveredAt: v.nullable(isoTimestamp),
  // Added with carrier dispatch (optional, so older servers' answers still parse).
  /** When a carrier reported the message failed or undelivered. */
  failedAt: v.optional(v.nullable(isoTimestamp)),
  /** When the carrier says the current status was reached. */
  statusAt: v.optional(v.nullable(isoTimestamp)),
  /** The carrier's own error code. */
  errorCode: v.optional(v.nullable(v.string())),
  /** What the carrier charged: a decimal string and an ISO 4217 currency. */
  cost: v.optional(v.nullable(v.object({ amount: v.string(), currency: v.string() }))),
  encoding: v.optional(v.nullable(v.picklist(['GSM-7', 'UCS-2']))),
  /** Parts the text takes (153/67 characters each once it is longer than one). */
  segments: v.optional(v.nullable(v.number())),
})
export type VerificationMessage = v.InferOutput<typeof VerificationMessage>

export const VerificationDetails = v.object({
  id: v.string(),
  projectId: v.string(),
  /** `test` when a test-mode key started it (sandbox carrier); its token is a test token. */
  mode: v.picklist(['live', 'test']),
  status: VerificationStatus,
  phone: v.string(),
  country: v.string(),
  channel: Channel,
  /** The language of its latest code: the start's `locale`, or a later resend's. */
  locale: v.nullable(v.string()),
  consent: v.object({ version: v.string(), at: isoTimestamp, marketing: v.boolean() }),
  createdAt: isoTimestamp,
  expiresAt: isoTimestamp,
  approvedAt: v.nullable(isoTimestamp),
  attemptsLeft: v.number(),
  sends: v.number(),
  messages: v.array(VerificationMessage),
  /** The fraud guard's decision for this verification and its reasons (`shadow:` = recorded only). */
  risk: v.object({
    decision: v.nullable(v.picklist(['allow', 'challenge', 'block'])),
    reasons: v.array(v.string()),
    /** The caller signals the widget sent with the start, as stored (absent when none). */
    signals: v.optional(CallerSignals),
  }),
})
export type VerificationDetails = v.InferOutput<typeof VerificationDetails>

// POST /v1/tokens/redeem (secret key)
export const RedeemTokenRequest = v.strictObject({
  token: v.pipe(v.string('token must be a string'), v.minLength(1), v.maxLength(8192)),
})
export type RedeemTokenRequest = v.InferInput<typeof RedeemTokenRequest>

/** The claims of a Textgate phone token, exactly as DESIGN.md fixes them. */
export const PhoneTokenClaims = v.object({
  iss: v.string(),
  /**
   * Which kind of key made the verification. A test token's `aud` is also `<projectId>:test`,
   * so a store that checks only `aud` against its project id refuses it too.
   */
  mode: v.picklist(['live', 'test']),
  aud: v.string(),
  sub: v.string(),
  jti: v.string(),
  iat: v.number(),
  exp: v.number(),
  phone_number: v.pipe(v.string(), v.regex(/^\+[1-9]\d{1,14}$/)),
  phone_number_verified: v.literal(true),
  consent: v.object({ version: v.string(), at: v.number() }),
  amr: v.tuple([v.literal('sms')]),
})
export type PhoneTokenClaims = v.InferOutput<typeof PhoneTokenClaims>

export const RedeemTokenResponse = v.variant('valid', [
  v.object({ valid: v.literal(true), claims: PhoneTokenClaims }),
  v.object({ valid: v.literal(false), reason: v.picklist(REDEEM_FAILURES) }),
])
export type RedeemTokenResponse = v.InferOutput<typeof RedeemTokenResponse>

// Sandbox (test-mode keys only)
export const SandboxRandomNumberQuery = v.object({ country: CountryCode })
export const SandboxRandomNumberResponse = v.object({ phone: v.string() })
export type SandboxRandomNumberResponse = v.InferOutput<typeof SandboxRandomNumberResponse>

export const SandboxMessagesQuery = v.object({
  to: v.pipe(v.string(), v.regex(/^\+[1-9]\d{1,14}$/, 'to must be an E.164 number')),
})
export const SandboxMessage = v.object({
  id: v.string(),
  to: v.string(),
  body: v.string(),
  createdAt: isoTimestamp,
  status: MessageStatus,
})
export type SandboxMessage = v.InferOutput<typeof SandboxMessage>
/** `GET /v1/sandbox/messages?to=` answers a bare array, newest first. */
export const SandboxMessagesResponse = v.array(SandboxMessage)

// Fraud guard (secret key)
export const FraudListEntryRequest = v.strictObject({
  list: v.picklist(['allow', 'block'], 'list must be allow or block'),
  kind: v.picklist(
    ['phone', 'prefix', 'ip', 'country'],
    'kind must be phone, prefix, ip or country',
  ),
  value: v.pipe(v.string(), v.minLength(1), v.maxLength(64), noControlCharacters('value')),
  note: v.optional(v.pipe(v.string(), v.maxLength(500), noControlCharacters('note'))),
  /** When the entry stops counting (ISO 8601, in the future); absent: never. */
  expiresAt: v.optional(v.pipe(v.string(), v.isoTimestamp('expiresAt must be an ISO 8601 time'))),
})
export type FraudListEntryRequest = v.InferInput<typeof FraudListEntryRequest>

export const FraudListEntry = v.object({
  id: v.string(),
  projectId: v.string(),
  list: v.picklist(['allow', 'block']),
  kind: v.picklist(['phone', 'prefix', 'ip', 'country']),
  value: v.string(),
  note: v.nullable(v.string()),
  createdAt: isoTimestamp,
  expiresAt: v.nullable(isoTimestamp),
})
export type FraudListEntry = v.InferOutput<typeof FraudListEntry>

export const FraudEvent = v.object({
  id: v.string(),
  verificationId: v.nullable(v.string()),
  phone: v.string(),
  country: v.string(),
  ip: v.nullable(v.string()),
  decision: v.picklist(['allow', 'challenge', 'block']),
  outcome: v.string(),
  reasons: v.array(v.string()),
  shadowReasons: v.array(v.string()),
  /**
   * A restriction of a number range (outcome `restricted` or `lifted`): the range, its open
   * digits as `x` (`+447400xxxxxx`, 1 000 000 numbers); `phone` holds its prefix.
   */
  range: v.optional(v.string()),
  createdAt: isoTimestamp,
})
export type FraudEvent = v.InferOutput<typeof FraudEvent>

export const HealthResponse = v.object({
  status: v.picklist(['ok', 'shutting_down', 'database_unreachable']),
})

export const TEST_AUDIENCE_SUFFIX = ':test'

/** The `aud` of a phone token: the project id, with `:test` after it for test-mode tokens. */
export function tokenAudience(projectId: string, mode: 'live' | 'test'): string {
  return mode === 'test' ? `${projectId}${TEST_AUDIENCE_SUFFIX}` : projectId
}

/** JWT header `typ` of Textgate phone tokens. */
export const PHONE_TOKEN_TYPE = 'textgate-verification+jwt'

const BASE64URL_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

/** One segment in canonical base64url: no padding, whitespace or `+/`, unused low bits zero. */
function isCanonicalBase64url(segment: string): boolean {
  if (segment.length === 0 || segment.length % 4 === 1) return false
  if (!/^[A-Za-z0-9_-]+$/.test(segment)) return false
  const last = BASE64URL_ALPHABET.indexOf(segment.at(-1) as string)
  const unusedBits = segment.length % 4 === 2 ? 0b1111 : segment.length % 4 === 3 ? 0b11 : 0
  return (last & unusedBits) === 0
}

/**
 * A JWS in compact serialization exactly as Textgate writes it: three segments, each canonical
 * base64url. JWT libraries decode leniently (padding, whitespace, nonzero unused bits), so one
 * token has many spellings that verify; only this one is accepted, so a token's text is as
 * unique as its `jti`.
 */
export function isCanonicalCompactJws(token: string): boolean {
  const segments = token.split('.')
  return segments.length === 3 && segments.every(isCanonicalBase64url)
}
