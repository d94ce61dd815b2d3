/**
 * The verification core: start, check, resend and read, with the limits of NIST SP 800-63B
 * and OWASP ASVS (10-minute codes, 5 wrong checks, at most 5 sends with growing back-off).
 * This factory wires the parts: idempotency (./idempotency), the code message
 * (./code-message), the state machine (./state) and the read model (./read-model).
 * @module
 */
import type {
  CallerSignals,
  CheckVerificationResponse,
  ResendVerificationResponse,
  StartVerificationResponse,
  VerificationDetails,
} from '@textgate/shared'
import type { Kysely } from 'kysely'
import type { TemplateData } from '../carriers/types'
import { type FraudGuard, WRONG_CODE_WINDOW_MS } from '../fraud/guard'
import { ApiError } from '../http/errors'
import { newId } from '../ids'
import { UnderWayByKey } from '../in-flight'
import type { RequestLogContext } from '../logger'
import { verificationsTotal } from '../metrics'
import { codeMatches, generateCode, hashCode } from '../one-time-codes'
import { type Dispatcher, enqueueMessage } from '../outbox'
import { maskPhone, parsePhoneAnyType } from '../phone'
import { allowedCountries, consentVersions, type KeyLookup } from '../projects'
import type { Secrets } from '../secrets'
import type { Database } from '../storage'
import { sharedBatchedTransactions } from '../storage/batched-transactions'
import { isPostgres, RowBatch } from '../storage/row-insert'
import type { TokenService } from '../tokens'
import { codeMessage } from './code-message'
import { IdempotencyRace, keepIdempotent, readIdempotent, startRequestHash } from './idempotency'
import { readVerification } from './read-model'
import {
  CODE_TTL_MS,
  expireVerifications,
  insertPending,
  iso,
  loadVerification,
  MAX_CHECKS,
  MAX_SENDS,
  markApproved,
  markCanceled,
  markFailed,
  maxAttemptsError,
  notPendingError,
  releaseAttempt,
  renewCode,
  resendDelayMs,
  resendRefusal,
  reserveAttempt,
} from './state'

export {
  CODE_TTL_MS,
  EXPIRE_BATCH,
  expireAllPending,
  expireVerifications,
  MAX_CHECKS,
  MAX_SENDS,
  resendDelayMs,
} from './state'

const DEFAULT_CONSENT_VERSION = 'v1'

const ignore = () => {}

export interface StartInput {
  phone: string
  country?: string | undefined
  consent: { accepted: true; version?: string | undefined; marketing?: boolean | undefined }
  locale?: string | undefined
  channel?: 'sms' | undefined
  challenge?: string | undefined
  captcha?: { token: string } | undefined
  signals?: CallerSignals | undefined
}

export interface ResendInput {
  /** The language to word the new code in (BCP 47); the verification's when left out. */
  locale?: string | undefined
}

export interface RequestMeta {
  origin: string | null
  ip: string | null
  idempotencyKey?: string | undefined
  /** The caller's User-Agent header, weighed by the fraud guard for automation hints. */
  userAgent?: string | null | undefined
  /** The request's log context: lines written about this start or resend carry its id. */
  request?: RequestLogContext | undefined
}

export interface StartResult {
  status: number
  body: StartVerificationResponse
  replayed: boolean
}

export interface VerificationServiceOptions {
  db: Kysely<Database>
  secrets: Secrets
  tokens: TokenService
  fraud: FraudGuard
  now?: () => number
  /** Called after a message was committed to the outbox unclaimed (not handed over). */
  onEnqueued?: () => void
  /**
   * This process's dispatcher: a text is written claimed by it and handed over after the
   * commit, so it is sent without a claim round trip (see outbox/handoff).
   */
  dispatcher?: Pick<Dispatcher, 'claimForHandoff' | 'handOff'> | undefined
}

/**
 * What a text keeps: a test-mode text never leaves the sandbox (DESIGN: test keys never reach a
 * real carrier), which sends bodies, so the template data only template-only carriers read is
 * neither encrypted nor stored for it.
 */
function textFor(
  mode: 'test' | 'live',
  text: { body: string; template: TemplateData },
): { body: string; template?: TemplateData } {
  return mode === 'test' ? { body: text.body } : text
}

/**
 * @example
 * const verifications = createVerificationService({ db, secrets, tokens })
 * const { body } = await verifications.start(auth, { phone: '+447700900123', consent: { accepted: true } }, meta)
 */
export function createVerificationService({
  db,
  secrets,
  tokens,
  fraud,
  now = Date.now,
  onEnqueued = () => {},
  dispatcher,
}: VerificationServiceOptions) {
  // Starts arriving together share one commit (with the dispatcher's writes of that moment).
  const inStartTransaction = sharedBatchedTransactions(db)
  const postgres = isPostgres(db)
  // Keyed starts this process is still answering, by project and Idempotency-Key.
  const keyedUnderWay = new UnderWayByKey()

  async function startOnce(
    auth: KeyLookup,
    input: StartInput,
    meta: RequestMeta,
  ): Promise<StartResult> {
    const at = now()
    const { project, apiKey } = auth
    const countries = allowedCountries(project)
    const phone = parsePhoneAnyType(input.phone, input.country, countries)
    if (countries && !countries.includes(phone.country)) {
      throw new ApiError('country_not_allowed', { country: phone.country })
    }
    // A project that names its consent versions records the current one when the widget
    // names none, and refuses a version it does not know (an old page, a typo).
    const versions = consentVersions(project)
    const consentVersion = input.consent.version ?? versions?.[0] ?? DEFAULT_CONSENT_VERSION
    if (versions && !versions.includes(consentVersion)) {
      throw new ApiError('invalid_request', {
        issues: [
          {
            path: 'consent.version',
            message: `consent.version must be one of this project's: ${versions.join(', ')}`,
          },
        ],
      })
    }

    const idempotencyKey = meta.idempotencyKey
    // What a replay must match, hashed only when a key is kept.
    const requestHash = idempotencyKey
      ? startRequestHash({
          e164: phone.e164,
          consentVersion: input.consent.version,
          locale: input.locale,
          channel: input.channel,
          marketing: input.consent.marketing,
          mode: apiKey.mode,
        })
      : ''
    if (idempotencyKey) {
      const replay = await readIdempotent(db, project.id, idempotencyKey, requestHash, at)
      if (replay) return replay
    }

    // Throws the challenge or the refusal; a blocked number gets a decoy: same answer, no text.
    const risk = await fraud.assess({
      projectId: project.id,
      fraudSettings: project.fraud_settings,
      mode: apiKey.mode,
      phone: phone.e164,
      country: phone.country,
      numberType: phone.type.toLowerCase(),
      ip: meta.ip,
      challenge: input.challenge,
      captchaToken: input.captcha?.token,
      signals: input.signals,
      userAgent: meta.userAgent ?? null,
      keyKind: apiKey.kind,
      request: meta.request,
    })

    const id = newId('ver')
    const code = generateCode(project.code_length)
    const expiresAt = at + CODE_TTL_MS
    const resendAfter = at + resendDelayMs(1)
    const body: StartVerificationResponse = {
      id,
      status: 'pending',
      to: maskPhone(phone.e164),
      expiresAt: iso(expiresAt),
      resendAfter: iso(resendAfter),
      attemptsLeft: MAX_CHECKS,
      codeLength: project.code_length,
    }
    // The start's rows (verification, decision, message, outbox) are written together: on
    // PostgreSQL one statement with those of the other starts of the moment, which needs no
    // transaction of its own unless an idempotency key is kept beside it.
    const rows = new RowBatch()
    await insertPending(rows, {
      id,
      project_id: project.id,
      mode: apiKey.mode,
      phone: phone.e164,
      country: phone.country,
      channel: 'sms',
      locale: input.locale ?? null,
      status: 'pending',
      code_hmac: hashCode(secrets.pepper, id, code),
      code_length: project.code_length,
      attempts: 0,
      sends: 1,
      consent_version: consentVersion,
      consent_at: at,
      consent_marketing: input.consent.marketing ? 1 : 0,
      origin: meta.origin,
      ip: meta.ip,
      created_at: at,
      expires_at: expiresAt,
      resend_after: resendAfter,
      approved_at: null,
      risk_decision: risk.decision,
      risk_reasons: JSON.stringify([
        ...risk.reasons,
        ...risk.shadowReasons.map((r) => `shadow:${r}`),
      ]),
      signals: input.signals ? JSON.stringify(input.signals) : null,
    })
    await fraud.record(rows, risk, id)
    // A blocked number gets a decoy: written the same way, never sent.
    const claim = risk.decoy ? undefined : dispatcher?.claimForHandoff(at)
    const text = await enqueueMessage(rows, secrets.encryptionKey, {
      claim,
      verificationId: id,
      projectId: project.id,
      mode: apiKey.mode,
      to: phone.e164,
      country: phone.country,
      ...textFor(apiKey.mode, codeMessage(project, phone.e164, code, meta.origin, input.locale)),
      now: at,
      suppressed: risk.decoy,
    })
    try {
      if (!idempotencyKey) {
        await inStartTransaction.insertRows(rows)
      } else {
        await inStartTransaction(async (trx) => {
          if (idempotencyKey) {
            await keepIdempotent(trx, {
              projectId: project.id,
              key: idempotencyKey,
              requestHash,
              body,
              at,
            })
          }
          await rows.write(trx)
        })
      }
    } catch (error) {
      // Nothing of this start was written, so no text goes: its reservation goes back.
      await fraud.releaseStart(risk)
      if (error instanceof IdempotencyRace && idempotencyKey) {
        const replay = await readIdempotent(db, project.id, idempotencyKey, requestHash, at)
        if (replay) return replay
      }
      throw error
    }
    verificationsTotal.inc({ status: 'started', country: phone.country })
    // The text's tallies are written behind the answer; the dispatcher gets the text after
    // them (or, when this process did not claim it, is nudged to claim it), so its commit does
    // not hold the connection they wait for.
    void fraud.afterStart(risk).then(() => {
      if (claim) dispatcher?.handOff(text, expiresAt)
      else if (!risk.decoy) onEnqueued()
    })
    return { status: 201, body, replayed: false }
  }

  return {
    /**
     * Starts a verification. A retry whose first try (same project and Idempotency-Key) this
     * process is still answering waits for it and is then replayed, so a client's concurrent
     * retries are assessed once: each try would otherwise count in the velocity counters and
     * reserve against the spend caps until it lost the race. Tries that reach different
     * processes still race, and the losers give their spend back (see startOnce).
     */
    async start(auth: KeyLookup, input: StartInput, meta: RequestMeta): Promise<StartResult> {
      const idempotencyKey = meta.idempotencyKey
      if (!idempotencyKey) return startOnce(auth, input, meta)
      const key = `${auth.project.id}\n${idempotencyKey}`
      for (let first = keyedUnderWay.get(key); first; first = keyedUnderWay.get(key)) {
        await first.then(ignore, ignore)
      }
      return keyedUnderWay.track(key, startOnce(auth, input, meta))
    },

    async check(auth: KeyLookup, id: string, code: string): Promise<CheckVerificationResponse> {
      const at = now()
      const projectId = auth.project.id
      // On SQLite the reservation shares a commit with the other writes of the moment; on
      // PostgreSQL one statement alone is its own commit, a round trip, no BEGIN needed.
      const keyMode = auth.apiKey.mode
      const reserved = postgres
        ? await reserveAttempt(db, projectId, id, at, keyMode, code.length)
        : await inStartTransaction((trx) =>
            reserveAttempt(trx, projectId, id, at, keyMode, code.length),
          )
      if (!reserved) {
        const row = await loadVerification(db, projectId, id, keyMode)
        if (row.status === 'pending' && row.expires_at <= at) await expireVerifications(db, at, id)
        // A code of another length (a digit too many from a paste, a typo) cannot be this one:
        // a bad input, refused without taking one of the verification's five checks.
        const checkable =
          row.status === 'pending' && row.expires_at > at && row.attempts < MAX_CHECKS
        if (checkable && row.code_length !== code.length) {
          throw new ApiError(
            'invalid_code_format',
            { codeLength: row.code_length },
            { message: `The code is ${row.code_length} digits.` },
          )
        }
        throw notPendingError(row, at)
      }
      // Guessing is bounded per number too: new verifications do not bring new guesses.
      const maxWrong = fraud.settingsOf(auth.project.fraud_settings).maxWrongCodesPerNumber
      const fail = async (wrongOnNumber: number): Promise<never> => {
        await markFailed(db, projectId, id, at)
        // Out of this verification's checks: a new one takes five more. Out of the number's
        // (the guard's wrong codes per number over a day): a new one would fail at its first
        // check too, so the answer says to come back when the day's count has moved on.
        if (wrongOnNumber < maxWrong) throw maxAttemptsError(reserved, at, { attemptsLeft: 0 })
        throw new ApiError(
          'max_attempts_reached',
          { attemptsLeft: 0, retry: 'later' },
          {
            message: 'Too many incorrect codes for this number. Try again later.',
            retryAfterSeconds: WRONG_CODE_WINDOW_MS / 1000,
          },
        )
      }
      let wrongBefore: number
      try {
        wrongBefore = await fraud.wrongCodes(projectId, reserved.phone)
      } catch (error) {
        // The guard could not answer (Redis away: 503), so the code was never judged and the
        // check reserved for it is given back.
        if (postgres) await releaseAttempt(db, projectId, id)
        else await inStartTransaction((trx) => releaseAttempt(trx, projectId, id))
        throw error
      }
      if (wrongBefore >= maxWrong) await fail(wrongBefore)

      if (!codeMatches(secrets.pepper, id, code, reserved.code_hmac)) {
        const wrong = (await fraud.countWrongCode(projectId, reserved.phone)) ?? wrongBefore + 1
        const attemptsLeft = MAX_CHECKS - reserved.attempts
        if (attemptsLeft <= 0 || wrong >= maxWrong) await fail(wrong)
        throw new ApiError('incorrect_code', { attemptsLeft })
      }

      const approved = await markApproved(db, projectId, id, at, inStartTransaction, reserved.mode)
      if (!approved) {
        // Another check approved it, or a cancel, the expiry sweep or a fifth wrong code ended
        // it since this check was reserved: say which, as a later check would.
        throw notPendingError(await loadVerification(db, projectId, id), at)
      }
      // Tallied in the verification's mode, not the checking key's: a test verification (its
      // code readable in the sandbox inbox) checked with a live key is no live shopper verified.
      await fraud.afterApproved({
        projectId,
        fraudSettings: auth.project.fraud_settings,
        mode: reserved.mode,
        phone: reserved.phone,
        country: reserved.country,
        signals: reserved.signals ? (JSON.parse(reserved.signals) as CallerSignals) : undefined,
      })
      const token = await tokens.issue({
        projectId,
        verificationId: id,
        mode: reserved.mode,
        phone: approved.phone,
        consent: { version: approved.consent_version, at: approved.consent_at },
      })
      return { id, status: 'approved', token }
    },

    /**
     * A new code, worded in `input.locale` when the caller names one (the widget's language may
     * have changed since the start), else in the verification's.
     */
    async resend(
      auth: KeyLookup,
      id: string,
      input: ResendInput,
      meta: RequestMeta,
    ): Promise<ResendVerificationResponse> {
      const at = now()
      const { project } = auth
      const row = await loadVerification(db, project.id, id, auth.apiKey.mode)
      const refusal = await resendRefusal(db, row, at)
      if (refusal) throw refusal

      // A resend is a text paid for like the first: it reserves its cost against the spend caps
      // and counts as a code sent; past a cap it becomes a decoy too.
      const reservation =
        row.risk_decision === 'block'
          ? undefined
          : await fraud.reserveResend({
              projectId: project.id,
              fraudSettings: project.fraud_settings,
              mode: row.mode,
              phone: row.phone,
              country: row.country,
              ip: meta.ip,
              request: meta.request,
              answered: row.risk_decision === 'challenge',
            })
      const suppressed = reservation?.decoy ?? true

      const code = generateCode(row.code_length)
      const expiresAt = at + CODE_TTL_MS
      // After the last send allowed, no resend is taken before the code expires (the answer's
      // resendAfter would otherwise promise one that max_sends_reached refuses).
      const resendAfter = row.sends + 1 >= MAX_SENDS ? expiresAt : at + resendDelayMs(row.sends + 1)
      const claim = suppressed ? undefined : dispatcher?.claimForHandoff(at)
      const locale = input.locale ?? row.locale
      const renewing = db.transaction().execute(async (trx) => {
        const renewed = await renewCode(trx, row, {
          codeHmac: hashCode(secrets.pepper, id, code),
          expiresAt,
          resendAfter,
          at,
          locale: input.locale,
        })
        if (!renewed) return undefined
        return enqueueMessage(trx, secrets.encryptionKey, {
          claim,
          suppressed,
          verificationId: id,
          projectId: project.id,
          mode: row.mode,
          to: row.phone,
          country: row.country,
          ...textFor(
            row.mode,
            codeMessage(project, row.phone, code, meta.origin ?? row.origin, locale),
          ),
          now: at,
        })
      })
      // A resend that queued no text (it lost its race, or could not be written) gives back the
      // cost it reserved: the caps count what was sent, not what was tried.
      const text = await renewing.catch(async (error: unknown) => {
        if (reservation) await fraud.releaseResend(reservation)
        throw error
      })
      if (!text) {
        if (reservation) await fraud.releaseResend(reservation)
        // Another resend, a check or a cancel changed the verification since it was read: the
        // answer says what it is now (the winning resend's wait, say), as if this one came after.
        const current = await loadVerification(db, project.id, id, auth.apiKey.mode)
        throw (
          (await resendRefusal(db, current, at)) ??
          new ApiError('rate_limited', {}, { retryAfterSeconds: 1 })
        )
      }
      if (reservation) await fraud.afterResend(reservation)
      if (claim) dispatcher?.handOff(text, expiresAt)
      else if (!suppressed) onEnqueued()
      return {
        resendAfter: iso(resendAfter),
        expiresAt: iso(expiresAt),
        attemptsLeft: MAX_CHECKS - row.attempts,
      }
    },

    /**
     * `POST /v1/verifications/{id}/cancel` (secret key): the store ends a pending verification
     * (the shopper left, or changed the number); its code stops working. Canceling a canceled
     * one again answers the same; an expired one is expired, any other is not pending.
     */
    async cancel(auth: KeyLookup, id: string): Promise<VerificationDetails> {
      const projectId = auth.project.id
      const at = now()
      // Test keys go to every developer of the store: they neither see nor end live shoppers'
      // verifications (not found, as for any id of another project).
      if (auth.apiKey.mode === 'test') await loadVerification(db, projectId, id, 'test')
      if (!(await markCanceled(db, projectId, id, at))) {
        const row = await loadVerification(db, projectId, id)
        if (row.status === 'pending' && row.expires_at <= at) await expireVerifications(db, at, id)
        if (row.status !== 'canceled') {
          throw row.status === 'expired' || row.status === 'pending'
            ? new ApiError('verification_expired')
            : new ApiError('verification_not_pending', { status: row.status })
        }
      }
      return readVerification(db, projectId, id, at)
    },

    get(auth: KeyLookup, id: string): Promise<VerificationDetails> {
      return readVerification(db, auth.project.id, id, now(), auth.apiKey.mode)
    },
  }
}

export type VerificationService = ReturnType<typeof createVerificationService>
