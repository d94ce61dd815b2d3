/**
 * The people in a simulation: seeded randomness, phone numbers, addresses, the caller signals a
 * person's browser sends, and a start that answers every challenge the way its actor can.
 * @module
 */
import { hash } from 'node:crypto'
import type { CallerSignals } from '@textgate/shared'
import {
  type CountryCode,
  getExampleNumber,
  parsePhoneNumberWithError,
} from 'libphonenumber-js/max'
import examples from 'libphonenumber-js/mobile/examples'
import type { World } from './world'

/** mulberry32: small, fast and good enough to replay a scenario from its seed. */
export function seededRandom(seed: number) {
  let state = seed >>> 0
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
  return {
    next,
    int: (min: number, max: number) => min + Math.floor(next() * (max - min + 1)),
    pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T,
    hex: (digits: number) =>
      Array.from({ length: digits }, () => Math.floor(next() * 16).toString(16)).join(''),
    id: (length: number) => {
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-'
      return Array.from({ length }, () => alphabet[Math.floor(next() * 64)]).join('')
    },
  }
}
export type Random = ReturnType<typeof seededRandom>

/** A random valid mobile number of `country`: most digits of its example number varied. */
export function mobileNumber(random: Random, country: CountryCode): string {
  const example = getExampleNumber(country, examples)
  if (!example) throw new Error(`no example number for ${country}`)
  const national = example.nationalNumber
  for (let tries = 0; tries < 10_000; tries++) {
    const keep = Math.max(2, national.length - 7)
    let tail = ''
    for (let i = keep; i < national.length; i++) tail += String(random.int(0, 9))
    const candidate = `+${example.countryCallingCode}${national.slice(0, keep)}${tail}`
    try {
      const parsed = parsePhoneNumberWithError(candidate)
      const type = parsed.getType()
      if (parsed.isValid() && (type === 'MOBILE' || type === 'FIXED_LINE_OR_MOBILE')) {
        return parsed.number
      }
    } catch {
      // another draw
    }
  }
  throw new Error(`no mobile number found for ${country}`)
}

/** A valid mobile (or fixed-line-or-mobile) number, as the guard's number-type check wants. */
export function isMobile(phone: string): boolean {
  try {
    const parsed = parsePhoneNumberWithError(phone)
    const type = parsed.getType()
    return parsed.isValid() && (type === 'MOBILE' || type === 'FIXED_LINE_OR_MOBILE')
  } catch {
    return false
  }
}

export const ipv4 = (random: Random) =>
  `${random.int(11, 223)}.${random.int(0, 255)}.${random.int(0, 255)}.${random.int(1, 254)}`
export const ipv6 = (random: Random) =>
  `2a0${random.int(0, 9)}:${random.hex(4)}:${random.hex(4)}:${random.hex(4)}::${random.hex(3)}`

export const BROWSER_AGENT =
  'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36'

/** What a person's widget sends: typed, pasted or autofilled, at a human pace. */
export function humanSignals(random: Random, deviceId: string, phone: string): CallerSignals {
  const entry = random.pick(['typed', 'typed', 'typed', 'autofilled', 'pasted'] as const)
  const digits = phone.length - 1
  return {
    deviceId,
    shownMs: entry === 'typed' ? random.int(4_000, 40_000) : random.int(1_200, 20_000),
    entry,
    keys: entry === 'typed' ? digits + random.int(0, 4) : random.int(0, 2),
    focuses: random.int(1, 3),
    visible: true,
    webdriver: false,
  }
}

export interface PowChallenge {
  algorithm: string
  challenge: string
  salt: string
  signature: string
  maxnumber: number
}

/**
 * Solves an ALTCHA SHA-256 puzzle the fast way (native one-shot hashing, about twice as fast as
 * a hash object per try); returns its CPU seconds. A simulated person's device is handed the
 * number the world knows (`known`): its time is not a measured figure.
 */
export function solvePow(
  c: PowChallenge,
  known?: number | undefined,
): { payload: string; cpuSeconds: number } {
  const started = process.cpuUsage()
  let number = known ?? -1
  for (let n = 0; known === undefined && n <= c.maxnumber; n++) {
    if (hash('sha256', `${c.salt}${n}`, 'hex') === c.challenge) {
      number = n
      break
    }
  }
  const used = process.cpuUsage(started)
  const payload = Buffer.from(
    JSON.stringify({
      algorithm: c.algorithm,
      challenge: c.challenge,
      number,
      salt: c.salt,
      signature: c.signature,
    }),
  ).toString('base64')
  return { payload, cpuSeconds: (used.user + used.system) / 1e6 }
}

export interface Caller {
  ip: string
  userAgent: string
  signals?: CallerSignals | undefined
  /** A person can pass the store's captcha; a bot cannot. */
  canSolveCaptcha: boolean
  /** A simulated person: its device's proof of work is not simulated hash by hash. */
  person?: boolean
}

export interface StartOutcome {
  status: number
  id?: string
  challenges: number
  captcha: boolean
  cpuSeconds: number
  error?: string
}

async function post(world: World, path: string, body: unknown, caller: Caller) {
  const res = await fetchOnce(world, path, body, caller).catch(() =>
    // A kept-alive socket the server closed meanwhile: once more on a new one.
    fetchOnce(world, path, body, caller),
  )
  const json = (await res.json()) as Record<string, unknown> & {
    error?: { code?: string; challenge?: PowChallenge; captcha?: { provider: string } }
  }
  return { status: res.status, json }
}

function fetchOnce(world: World, path: string, body: unknown, caller: Caller) {
  return fetch(`${world.url}${path}`, {
    method: 'POST',
    headers: {
      Authorization: `Bearer ${world.publishableKey}`,
      Origin: world.origin,
      'Content-Type': 'application/json',
      'User-Agent': caller.userAgent,
      'X-Forwarded-For': caller.ip,
    },
    body: JSON.stringify(body),
  })
}

/** A start that answers challenges as the caller can: proof of work always, captcha if human. */
export async function start(world: World, phone: string, caller: Caller): Promise<StartOutcome> {
  let challenges = 0
  let cpuSeconds = 0
  let captcha = false
  let extra: Record<string, unknown> = {}
  for (;;) {
    const res = await post(
      world,
      '/v1/verifications',
      {
        phone,
        consent: { accepted: true },
        ...(caller.signals ? { signals: caller.signals } : {}),
        ...extra,
      },
      caller,
    )
    if (res.status !== 428 || challenges >= 3) {
      return {
        status: res.status,
        ...(res.status === 201 ? { id: String(res.json.id) } : {}),
        challenges,
        captcha,
        cpuSeconds,
        ...(res.json.error?.code ? { error: res.json.error.code } : {}),
      }
    }
    challenges++
    const error = res.json.error
    if (error?.captcha) {
      captcha = true
      if (!caller.canSolveCaptcha) {
        return { status: 428, challenges, captcha, cpuSeconds, error: 'captcha_unsolved' }
      }
      extra = { captcha: { token: world.earnCaptchaToken() } }
      continue
    }
    if (!error?.challenge) return { status: 428, challenges, captcha, cpuSeconds }
    const solved = solvePow(
      error.challenge,
      caller.person ? world.answerOf(error.challenge.challenge) : undefined,
    )
    cpuSeconds += solved.cpuSeconds
    extra = { challenge: solved.payload }
  }
}

export async function check(world: World, id: string, code: string, caller: Caller) {
  return (await post(world, `/v1/verifications/${id}/check`, { code }, caller)).status
}

/** A resend; the simulated time of the next one allowed, when this one was answered 200. */
export async function resend(
  world: World,
  id: string,
  caller: Caller,
): Promise<{ status: number; resendAfter?: number }> {
  const res = await post(world, `/v1/verifications/${id}/resend`, {}, caller)
  const next = typeof res.json.resendAfter === 'string' ? Date.parse(res.json.resendAfter) : NaN
  return { status: res.status, ...(Number.isFinite(next) ? { resendAfter: next } : {}) }
}
