/**
 * Logging in and out, the setup link (first owner, invitations) and the session the console
 * page asks for on load.
 * @module
 */
import { decodeBase32IgnorePadding } from '@oslojs/encoding'
import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server'
import { type Context, Hono } from 'hono'
import type { Kysely } from 'kysely'
import * as v from 'valibot'
import { GLOBAL_CHAIN } from '../audit'
import { type CounterRef, databaseCounters, keyedCounters } from '../fraud/counters'
import { readJson } from '../http/body'
import { addressGroup, type clientIp } from '../http/client-ip'
import { ApiError } from '../http/errors'
import {
  checkPassword,
  checkTotp,
  completeSetup,
  describeSetupLink,
  newTotpSecret,
  OperatorError,
  PERMISSIONS,
  ROLE_PERMISSIONS,
  rolesOf,
} from '../operators'
import { DEVICE_TTL_MS, deviceKey, knownDevices, rememberDevice } from '../operators/devices'
import {
  checkPasskey,
  listPasskeys,
  loginOptions,
  registerPasskey,
  registrationOptions,
  relyingParty,
  removePasskey,
} from '../operators/passkeys'
import {
  ABSOLUTE_TIMEOUT_MS,
  createSession,
  csrfToken,
  endAllSessions,
  endSession,
  IDLE_TIMEOUT_MS,
  MFA_STAGE_MS,
} from '../operators/sessions'
import { totpSecretText, totpUri } from '../operators/totp'
import type { Database } from '../storage'
import { withFields } from '../with-fields'
import {
  auditNote,
  type CookieSettings,
  clearSessionCookie,
  deviceCookie,
  requireOperator,
  setDeviceCookie,
  setSessionCookie,
} from './security'

const Login = v.strictObject({
  email: v.pipe(v.string(), v.maxLength(254)),
  password: v.pipe(v.string(), v.maxLength(1024)),
})
const Totp = v.strictObject({ code: v.pipe(v.string(), v.maxLength(12)) })
/** A WebAuthn response as @simplewebauthn/browser returns it; checked by the library itself. */
const WebAuthnResponse = v.looseObject({
  id: v.pipe(v.string(), v.maxLength(1024)),
  rawId: v.pipe(v.string(), v.maxLength(1024)),
  type: v.literal('public-key'),
  response: v.looseObject({ clientDataJSON: v.pipe(v.string(), v.maxLength(4096)) }),
  clientExtensionResults: v.optional(v.record(v.string(), v.unknown()), {}),
})
const PasskeyLogin = v.strictObject({ response: WebAuthnResponse })
const PasskeyAdd = v.strictObject({
  name: v.pipe(v.string(), v.trim(), v.minLength(1), v.maxLength(60)),
  response: WebAuthnResponse,
})
const SetupToken = v.strictObject({ token: v.pipe(v.string(), v.minLength(20), v.maxLength(100)) })
const Setup = v.strictObject({
  token: v.pipe(v.string(), v.minLength(20), v.maxLength(100)),
  password: v.pipe(v.string(), v.maxLength(1024)),
  totpSecret: v.pipe(v.string(), v.regex(/^[A-Z2-7]{32}$/)),
  code: v.pipe(v.string(), v.maxLength(12)),
})

export interface AuthRoutesOptions {
  db: Kysely<Database>
  encryptionKey: Buffer
  cookie: CookieSettings
  csrf: Buffer
  issuer: string
  now: () => number
}

/**
 * Sign-in attempts per client address (IPv6 by its /64), each step on its own: every attempt
 * counts, refused ones included, before any scrypt or TOTP work, so one address can neither burn
 * the server's CPU on password hashes nor run through an account's lockout allowance alone.
 * Generous for people: a login is one attempt at each step. A setup link's page (reading the
 * link, then choosing the password) is a step of its own under the same limits.
 */
export const SIGN_IN_LIMITS = [
  { windowMs: 60_000, max: 10 },
  { windowMs: 3_600_000, max: 60 },
] as const

export function asApiError(error: unknown): never {
  if (error instanceof OperatorError) {
    switch (error.code) {
      case 'locked':
        throw new ApiError(
          'rate_limited',
          {},
          {
            message: error.message,
            retryAfterSeconds: Number(error.details.retryAfterSeconds ?? 60),
          },
        )
      case 'invalid_email':
        throw new ApiError('invalid_request', {
          issues: [{ path: 'email', message: error.message }],
        })
      default:
        throw new ApiError(error.code, error.details, { message: error.message })
    }
  }
  throw error
}

export function authRoutes(options: AuthRoutesOptions) {
  const { db, encryptionKey, cookie, csrf, issuer, now } = options
  const rp = relyingParty(issuer)
  // In the database (exact across server processes, on SQLite and PostgreSQL), keyed by HMAC so
  // the table keeps no address.
  const counters = keyedCounters(databaseCounters(db), encryptionKey)
  const devicesKey = deviceKey(encryptionKey)
  /** What this client's failed attempts count toward: its known browser's lock, or the account's. */
  const devicesOf = (c: Context) => knownDevices(db, devicesKey, deviceCookie(c, cookie), now())

  /**
   * Counts this attempt at `step` from the client's address; 429 past a limit. Counted before
   * the password work, so a burst cannot pass the limit together; the returned function gives
   * the attempt back once it succeeded, so only refused attempts use up the address's room (an
   * office of operators behind one address signs in as often as it likes).
   */
  async function limitSignIn(
    c: Context,
    step: 'password' | 'second-factor' | 'setup',
  ): Promise<() => Promise<void>> {
    const ip = c.get('clientIp')
    if (!ip) return async () => {}
    const refs: CounterRef[] = SIGN_IN_LIMITS.map(({ windowMs }) => ({
      key: `console-sign-in:${step}:${addressGroup(ip)}`,
      windowMs,
    }))
    const values = await counters.hit(refs, now())
    const over = SIGN_IN_LIMITS.filter((limit, i) => (values[i] ?? 0) > limit.max)
    if (over.length > 0) {
      throw new ApiError(
        'rate_limited',
        {},
        {
          message: 'Too many sign-in attempts from this address: try again later.',
          retryAfterSeconds: Math.max(...over.map((limit) => limit.windowMs / 1000)),
        },
      )
    }
    return () => counters.add(refs, now(), -1)
  }
  const who = (c: Parameters<typeof clientIp>[0]) => ({
    ip: c.get('clientIp'),
    userAgent: c.req.header('User-Agent') ?? null,
  })

  /**
   * Both factors passed: a new session id (an id seen before this point opens nothing), and this
   * browser is known for the operator from now on (its device cookie).
   */
  async function finishLogin(
    c: Context,
    session: { id: string },
    operator: { id: string; email: string },
    by: 'totp' | 'passkey',
  ) {
    await endSession(db, session.id)
    const id = await createSession(db, { operatorId: operator.id, stage: 'full', ...who(c) }, now())
    setSessionCookie(c, cookie, id, ABSOLUTE_TIMEOUT_MS)
    const device = await rememberDevice(db, devicesKey, deviceCookie(c, cookie), operator.id, now())
    setDeviceCookie(c, cookie, device, DEVICE_TTL_MS)
    auditNote(c, {
      projectId: GLOBAL_CHAIN,
      action: 'login',
      target: null,
      actor: { type: 'operator', id: operator.id, label: operator.email },
      after: { secondFactor: by },
    })
    return c.json({ ok: true, csrfToken: csrfToken(csrf, id) })
  }

  async function refusedSecondFactor(c: Context, operatorId: string, action: string) {
    const operator = await db
      .selectFrom('operators')
      .select(['id', 'email'])
      .where('id', '=', operatorId)
      .executeTakeFirst()
    auditNote(c, {
      projectId: GLOBAL_CHAIN,
      action,
      target: null,
      actor: { type: 'operator', id: operator?.id ?? null, label: operator?.email ?? 'unknown' },
    })
  }

  return new Hono()
    .post('/login', async (c) => {
      const { email, password } = await readJson(c, Login)
      const succeeded = await limitSignIn(c, 'password')
      try {
        const operator = await checkPassword(db, email, password, now(), devicesOf(c))
        await succeeded()
        const id = await createSession(
          db,
          { operatorId: operator.id, stage: 'mfa', ...who(c) },
          now(),
        )
        setSessionCookie(c, cookie, id, MFA_STAGE_MS)
        const passkeys = await listPasskeys(db, operator.id)
        return c.json({
          next: 'totp',
          passkey: passkeys.length > 0,
          csrfToken: csrfToken(csrf, id),
        })
      } catch (error) {
        auditNote(c, {
          projectId: GLOBAL_CHAIN,
          action: 'login.password_refused',
          target: null,
          actor: { type: 'operator', id: null, label: email.trim().toLowerCase().slice(0, 254) },
        })
        asApiError(error)
      }
    })
    .post('/login/totp', async (c) => {
      const { code } = await readJson(c, Totp)
      const session = c.get('session')
      if (session?.stage !== 'mfa') throw new ApiError('unauthenticated')
      const succeeded = await limitSignIn(c, 'second-factor')
      try {
        const operator = await checkTotp(
          db,
          encryptionKey,
          session.operatorId,
          code,
          now(),
          devicesOf(c),
        )
        await succeeded()
        return await finishLogin(c, session, operator, 'totp')
      } catch (error) {
        await refusedSecondFactor(c, session.operatorId, 'login.totp_refused')
        asApiError(error)
      }
    })
    .post('/login/passkey/options', async (c) => {
      const session = c.get('session')
      if (session?.stage !== 'mfa') throw new ApiError('unauthenticated')
      const options = await loginOptions(db, rp, session.operatorId, session.idHash)
      return c.json({ options })
    })
    .post('/login/passkey', async (c) => {
      const { response } = await readJson(c, PasskeyLogin)
      const session = c.get('session')
      if (session?.stage !== 'mfa') throw new ApiError('unauthenticated')
      const succeeded = await limitSignIn(c, 'second-factor')
      try {
        const operator = await checkPasskey(db, rp, {
          operatorId: session.operatorId,
          sessionHash: session.idHash,
          response: response as unknown as AuthenticationResponseJSON,
          now: now(),
          devices: devicesOf(c),
        })
        await succeeded()
        return await finishLogin(c, session, operator, 'passkey')
      } catch (error) {
        await refusedSecondFactor(c, session.operatorId, 'login.passkey_refused')
        asApiError(error)
      }
    })
    .get('/passkeys', requireOperator(db), async (c) =>
      c.json({ passkeys: await listPasskeys(db, c.get('operator').id) }),
    )
    .post('/passkeys/options', requireOperator(db), async (c) => {
      const options = await registrationOptions(db, rp, c.get('operator'), c.get('session').idHash)
      return c.json({ options })
    })
    .post('/passkeys', requireOperator(db), async (c) => {
      const { name, response } = await readJson(c, PasskeyAdd)
      const operator = c.get('operator')
      try {
        const passkey = await registerPasskey(db, rp, {
          operatorId: operator.id,
          sessionHash: c.get('session').idHash,
          name,
          response: response as unknown as RegistrationResponseJSON,
          now: now(),
        })
        auditNote(c, {
          projectId: GLOBAL_CHAIN,
          action: 'passkey.add',
          target: passkey.id,
          after: { name: passkey.name },
        })
        return c.json(passkey, 201)
      } catch (error) {
        asApiError(error)
      }
    })
    .delete('/passkeys/:passkeyId', requireOperator(db), async (c) => {
      const id = c.req.param('passkeyId')
      if (!(await removePasskey(db, c.get('operator').id, id))) throw new ApiError('not_found')
      auditNote(c, { projectId: GLOBAL_CHAIN, action: 'passkey.remove', target: id, after: null })
      return c.json({ ok: true })
    })
    .post('/setup/describe', async (c) => {
      const { token } = await readJson(c, SetupToken)
      const succeeded = await limitSignIn(c, 'setup')
      try {
        const { email } = await describeSetupLink(db, token, now())
        await succeeded()
        const secret = newTotpSecret()
        return c.json({
          email,
          totpSecret: totpSecretText(secret),
          otpauthUri: totpUri(secret, 'Textgate', email),
        })
      } catch (error) {
        asApiError(error)
      }
    })
    .post('/setup', async (c) => {
      const input = await readJson(c, Setup)
      const succeeded = await limitSignIn(c, 'setup')
      try {
        const operator = await completeSetup(
          db,
          encryptionKey,
          {
            token: input.token,
            password: input.password,
            totpSecret: decodeBase32IgnorePadding(input.totpSecret),
            totpCode: input.code.trim(),
          },
          now(),
        )
        await succeeded()
        // The link's holder chose the password and proved the authenticator: this browser is
        // known for the operator from now on, as after a sign-in. So a reset link brings back an
        // operator whom guessers keep locked out on a browser they never used: their sign-ins
        // here count toward this browser's lock, not the account's.
        const device = await rememberDevice(
          db,
          devicesKey,
          deviceCookie(c, cookie),
          operator.id,
          now(),
        )
        setDeviceCookie(c, cookie, device, DEVICE_TTL_MS)
        auditNote(c, {
          projectId: GLOBAL_CHAIN,
          action: 'operator.setup',
          target: operator.id,
          actor: { type: 'operator', id: operator.id, label: operator.email },
        })
        return c.json({ ok: true, email: operator.email })
      } catch (error) {
        asApiError(error)
      }
    })
    .post('/logout', async (c) => {
      const session = c.get('session')
      if (session) await endSession(db, session.id)
      clearSessionCookie(c, cookie)
      auditNote(c, { projectId: GLOBAL_CHAIN, action: 'logout', target: null })
      return c.json({ ok: true })
    })
    .post('/logout/everywhere', requireOperator(db), async (c) => {
      const ended = await endAllSessions(db, c.get('operator').id)
      clearSessionCookie(c, cookie)
      auditNote(c, {
        projectId: GLOBAL_CHAIN,
        action: 'logout.everywhere',
        target: c.get('operator').id,
        after: { sessionsEnded: ended },
      })
      return c.json({ ok: true, sessionsEnded: ended })
    })
    .get('/session', requireOperator(db), async (c) => {
      const operator = c.get('operator')
      const session = c.get('session')
      const { roles } = await rolesOf(db, operator.id)
      const wildcard = roles['*']
      const rows = await db
        .selectFrom('projects')
        .select(['id', 'name'])
        .orderBy('created_at')
        .execute()
      const projects = rows
        .map((p) => withFields(p, { role: roles[p.id] ?? wildcard }))
        .filter((p) => p.role !== undefined)
        .map((p) =>
          withFields(p, {
            permissions: ROLE_PERMISSIONS[p.role!],
            everyProjectOwner: wildcard === 'owner',
          }),
        )
      return c.json({
        operator,
        csrfToken: csrfToken(csrf, session.id),
        projects,
        permissions: PERMISSIONS,
        idleTimeoutMs: IDLE_TIMEOUT_MS,
        expiresAt: session.expiresAt,
        issuer,
      })
    })
}
