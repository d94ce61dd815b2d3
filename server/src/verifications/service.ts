/**
 * The verification core: start, check, resend and read, with the limits of NIST SP 800-63B
 * and OWASP ASVS (10-minute codes, 5 wrong checks, at most 5 sends with growing back-off).
 * Every limit is enforced by a conditional UPDATE, so it holds across server processes.
 * @module
 */
import { createHash } from 'node:crypto'
import type {
  CallerSignals,
  CheckVerificationResponse,
  ResendVerificationResponse,
  StartVerificationResponse,
  VerificationDetails,
  WebhookEventData,
} from '@textgate/shared'
import type { Kysely } from 'kysely'
import { isMainlandChina } from '../carriers/template-data'
import type { TemplateData } from '../carriers/types'
import type { FraudGuard } from '../fraud/guard'
import { ApiError } from '../http/errors'
import { newId } from '../ids'
import { verificationsTotal } from '../metrics'
import { codeMatches, generateCode, hashCode } from '../one-time-codes'
import { enqueueMessage } from '../outbox'
import { maskPhone, parsePhoneAnyType } from '../phone'
import { allowedCountries, type KeyLookup } from '../projects'
import type { Secrets } from '../secrets'
import type { Database, Project, Verification } from '../storage'
import { renderCodeMessage } from '../templates'
import { templateData } from '../templates/registrations'
import type { TokenService } from '../tokens'
import { emitWebhookEvent } from '../webhooks/emit'

export const CODE_TTL_MS = 10 * 60_000
export const MAX_CHECKS = 5
export const MAX_SENDS = 5
const IDEMPOTENCY_TTL_MS = 24 * 60 * 60_000
const DEFAULT_CONSENT_VERSION = 'v1'

/** Wait before the next send, after `sends` sends: 30 s, 60 s, 2 min, 4 min. */
export function resendDelayMs(sends: number): number {
  return 30_000 * 2 ** Math.max(0, sends - 1)
}

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

export interface RequestMeta {
  origin: string | null
  ip: string | null
  idempotencyKey?: string | undefined
  /** The caller's User-Agent header, weighed by the fraud guard for automation hints. */
  userAgent?: string | null | undefined
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
  /** Called after a message was committed to the outbox. */
  onEnqueued?: () => void
}

class IdempotencyRace extends Error {}

const iso = (ms: number) => new Date(ms).toISOString()

const templatesOf = (project: { message_templates: string | null }) =>
  project.message_templates
    ? (JSON.parse(project.message_templates) as Record<string, string>)
    : null

/**
 * The text of a code message and the template data carriers need: the project's registrations
 * for the locale, and the 【signature】 in front of texts to mainland China when it has one.
 */
function codeMessage(
  project: Pick<Project, 'brand' | 'message_templates' | 'sms_registrations'>,
  to: string,
  code: string,
  origin: string | null,
  locale: string | null | undefined,
): { body: string; template: TemplateData } {
  const minutes = CODE_TTL_MS / 60_000
  const template = templateData({
    code,
    minutes,
    brand: project.brand,
    locale,
    registrations: project.sms_registrations,
  })
  const body = renderCodeMessage({
    brand: project.brand,
    code,
    minutes,
    origin,
    locale,
    templates: templatesOf(project),
    chinaSignature: isMainlandChina(to) ? template.signName : undefined,
  })
  return { body, template }
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
}: VerificationServiceOptions) {
  async function readIdempotent(
    projectId: string,
    key: string,
    requestHash: string,
    at: number,
  ): Promise<StartResult | undefined> {
    const row = await db
      .selectFrom('idempotency_keys')
      .selectAll()
      .where('project_id', '=', projectId)
      .where('key', '=', key)
      .executeTakeFirst()
    if (!row) return undefined
    if (row.expires_at <= at) {
      await db
        .deleteFrom('idempotency_keys')
        .where('project_id', '=', projectId)
        .where('key', '=', key)
        .where('expires_at', '<=', at)
        .execute()
      return undefined
    }
    if (row.request_hash !== requestHash) throw new ApiError('idempotency_conflict')
    return {
      status: row.response_status,
      body: JSON.parse(row.response_body) as StartVerificationResponse,
      replayed: true,
    }
  }

  /** The error that says why `row` can take no check or resend. */
  function notPendingError(row: Verification, at: number): ApiError {
    if (row.status === 'failed' || row.attempts >= MAX_CHECKS) {
      return new ApiError('max_attempts_reached', {}, { retryAfterSeconds: 0 })
    }
    if (row.status === 'expired' || (row.status === 'pending' && row.expires_at <= at)) {
      return new ApiError('verification_expired')
    }
    return new ApiError('verification_not_pending', { status: row.status })
  }

  async function load(projectId: string, id: string): Promise<Verification> {
    const row = await db
      .selectFrom('verifications')
      .selectAll()
      .where('id', '=', id)
      .where('project_id', '=', projectId)
      .executeTakeFirst()
    if (!row) throw new ApiError('verification_not_found')
    return row
  }

  async function markExpired(id: string, at: number): Promise<void> {
    await expireVerifications(db, at, id)
  }

  return {
    async start(auth: KeyLookup, input: StartInput, meta: RequestMeta): Promise<StartResult> {
      const at = now()
      const { project, apiKey } = auth
      const phone = parsePhoneAnyType(input.phone, input.country)
      const countries = allowedCountries(project)
      if (countries && !countries.includes(phone.country)) {
        throw new ApiError('country_not_allowed', { country: phone.country })
      }

      const requestHash = createHash('sha256')
        .update(
          JSON.stringify([
            phone.e164,
            input.consent.version ?? null,
            input.locale ?? null,
            input.channel ?? 'sms',
            // Only when given: hashes of starts without the opt-in stay as they were.
            ...(input.consent.marketing ? ['marketing'] : []),
          ]),
        )
        .digest('hex')
      if (meta.idempotencyKey) {
        const replay = await readIdempotent(project.id, meta.idempotencyKey, requestHash, at)
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
      try {
        await db.transaction().execute(async (trx) => {
          if (meta.idempotencyKey) {
            // Inserted first: a concurrent request with the same key waits here, then finds it.
            const inserted = await trx
              .insertInto('idempotency_keys')
              .values({
                project_id: project.id,
                key: meta.idempotencyKey,
                request_hash: requestHash,
                response_status: 201,
                response_body: JSON.stringify(body),
                created_at: at,
                expires_at: at + IDEMPOTENCY_TTL_MS,
              })
              .onConflict((oc) => oc.columns(['project_id', 'key']).doNothing())
              .executeTakeFirst()
            if (Number(inserted.numInsertedOrUpdatedRows ?? 0) === 0) throw new IdempotencyRace()
          }
          await trx
            .insertInto('verifications')
            .values({
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
              consent_version: input.consent.version ?? DEFAULT_CONSENT_VERSION,
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
            .execute()
          await fraud.record(trx, risk, id)
          const message = {
            verificationId: id,
            projectId: project.id,
            mode: apiKey.mode,
            to: phone.e164,
          }
          // A blocked number gets a decoy: written the same way, never sent.
          await enqueueMessage(trx, secrets.encryptionKey, {
            ...message,
            ...codeMessage(project, phone.e164, code, meta.origin, input.locale),
            now: at,
            suppressed: risk.decoy,
          })
        })
      } catch (error) {
        if (error instanceof IdempotencyRace && meta.idempotencyKey) {
          const replay = await readIdempotent(project.id, meta.idempotencyKey, requestHash, at)
          if (replay) return replay
        }
        throw error
      }
      if (!risk.decoy) onEnqueued()
      verificationsTotal.inc({ status: 'started', country: phone.country })
      await fraud.afterStart(risk)
      return { status: 201, body, replayed: false }
    },

    async check(auth: KeyLookup, id: string, code: string): Promise<CheckVerificationResponse> {
      const at = now()
      const projectId = auth.project.id
      // Reserve the attempt before comparing: parallel guesses can never exceed MAX_CHECKS.
      const reserved = await db
        .updateTable('verifications')
        .set((eb) => ({ attempts: eb('attempts', '+', 1) }))
        .where('id', '=', id)
        .where('project_id', '=', projectId)
        .where('status', '=', 'pending')
        .where('attempts', '<', MAX_CHECKS)
        .where('expires_at', '>', at)
        .returning(['code_hmac', 'attempts', 'phone', 'country', 'mode', 'signals'])
        .executeTakeFirst()
      if (!reserved) {
        const row = await load(projectId, id)
        if (row.status === 'pending' && row.expires_at <= at) await markExpired(id, at)
        throw notPendingError(row, at)
      }
      const fail = async () => {
        const failedNow = await db.transaction().execute(async (trx) => {
          const failed = await trx
            .updateTable('verifications')
            .set({ status: 'failed' })
            .where('id', '=', id)
            .where('status', '=', 'pending')
            .returning(['mode', 'phone', 'country'])
            .executeTakeFirst()
          if (!failed) return undefined
          await emitFailed(trx, { id, project_id: projectId, ...failed }, 'max_attempts', at)
          return failed
        })
        if (failedNow) verificationsTotal.inc({ status: 'failed', country: failedNow.country })
        throw new ApiError('max_attempts_reached', { attemptsLeft: 0 }, { retryAfterSeconds: 0 })
      }
      // Guessing is bounded per number too: new verifications do not bring new guesses.
      const maxWrong = fraud.settingsOf(auth.project.fraud_settings).maxWrongCodesPerNumber
      if ((await fraud.wrongCodes(projectId, reserved.phone)) >= maxWrong) await fail()

      if (!codeMatches(secrets.pepper, id, code, reserved.code_hmac)) {
        const wrong = await fraud.countWrongCode(projectId, reserved.phone)
        const attemptsLeft = MAX_CHECKS - reserved.attempts
        if (attemptsLeft <= 0 || wrong >= maxWrong) await fail()
        throw new ApiError('incorrect_code', { attemptsLeft })
      }

      const approved = await db.transaction().execute(async (trx) => {
        const row = await trx
          .updateTable('verifications')
          .set({ status: 'approved', approved_at: at })
          .where('id', '=', id)
          .where('status', '=', 'pending')
          .returning([
            'phone',
            'country',
            'mode',
            'consent_version',
            'consent_at',
            'consent_marketing',
          ])
          .executeTakeFirst()
        if (!row) return undefined
        const event = { projectId, mode: row.mode, orderKey: id, at }
        await emitWebhookEvent(trx, {
          ...event,
          type: 'verification.approved',
          data: { verificationId: id, phone: row.phone, country: row.country, approvedAt: iso(at) },
        })
        // The opt-in counts once the number is proven to be the shopper's.
        if (Number(row.consent_marketing) === 1) {
          await emitWebhookEvent(trx, {
            ...event,
            type: 'consent.marketing',
            data: {
              verificationId: id,
              phone: row.phone,
              consentVersion: row.consent_version,
              at: iso(at),
            },
          })
        }
        return row
      })
      if (!approved) throw new ApiError('verification_not_pending', { status: 'approved' })
      verificationsTotal.inc({ status: 'approved', country: approved.country })
      await fraud.afterApproved({
        projectId,
        fraudSettings: auth.project.fraud_settings,
        mode: auth.apiKey.mode,
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

    async resend(
      auth: KeyLookup,
      id: string,
      meta: RequestMeta,
    ): Promise<ResendVerificationResponse> {
      const at = now()
      const { project } = auth
      const row = await load(project.id, id)
      if (row.status !== 'pending' || row.expires_at <= at || row.attempts >= MAX_CHECKS) {
        if (row.status === 'pending' && row.expires_at <= at) await markExpired(id, at)
        throw notPendingError(row, at)
      }
      if (row.sends >= MAX_SENDS)
        throw new ApiError(
          'max_sends_reached',
          {},
          { retryAfterSeconds: (row.expires_at - at) / 1000 },
        )
      if (row.resend_after > at) {
        throw new ApiError(
          'rate_limited',
          { resendAfter: iso(row.resend_after) },
          { retryAfterSeconds: (row.resend_after - at) / 1000 },
        )
      }

      // A resend is a text paid for like the first: it reserves its cost against the spend caps
      // and counts as a code sent; past a cap it becomes a decoy too.
      const suppressed =
        row.risk_decision === 'block' ||
        (await fraud.reserveResend({
          projectId: project.id,
          fraudSettings: project.fraud_settings,
          mode: row.mode,
          phone: row.phone,
          country: row.country,
          ip: meta.ip,
        }))

      const code = generateCode(row.code_length)
      const expiresAt = at + CODE_TTL_MS
      const resendAfter = at + resendDelayMs(row.sends + 1)
      const updated = await db.transaction().execute(async (trx) => {
        // Conditional on the row we read: two racing resends cannot both send.
        const result = await trx
          .updateTable('verifications')
          .set({
            sends: row.sends + 1,
            code_hmac: hashCode(secrets.pepper, id, code),
            expires_at: expiresAt,
            resend_after: resendAfter,
          })
          .where('id', '=', id)
          .where('status', '=', 'pending')
          .where('sends', '=', row.sends)
          .where('resend_after', '<=', at)
          .executeTakeFirst()
        if (Number(result.numUpdatedRows) === 0) return false
        const message = { verificationId: id, projectId: project.id, mode: row.mode, to: row.phone }
        await enqueueMessage(trx, secrets.encryptionKey, {
          suppressed,
          ...message,
          ...codeMessage(project, row.phone, code, meta.origin ?? row.origin, row.locale),
          now: at,
        })
        return true
      })
      if (!updated) throw new ApiError('rate_limited', {}, { retryAfterSeconds: 1 })
      if (!suppressed) onEnqueued()
      return {
        resendAfter: iso(resendAfter),
        expiresAt: iso(expiresAt),
        attemptsLeft: MAX_CHECKS - row.attempts,
      }
    },

    /**
     * `POST /v1/verifications/{id}/cancel` (secret key): the store ends a pending verification
     * (the shopper left, changed the number): its code stops working and `verification.failed`
     * (canceled) is raised. Canceling a canceled one again answers the same; any other
     * finished one is not pending any more.
     */
    async cancel(auth: KeyLookup, id: string): Promise<VerificationDetails> {
      const at = now()
      const canceled = await db.transaction().execute(async (trx) => {
        const row = await trx
          .updateTable('verifications')
          .set({ status: 'canceled' })
          .where('id', '=', id)
          .where('project_id', '=', auth.project.id)
          .where('status', '=', 'pending')
          .where('expires_at', '>', at)
          .returning(['id', 'project_id', 'mode', 'phone', 'country'])
          .executeTakeFirst()
        if (row) await emitFailed(trx, row, 'canceled', at)
        return row
      })
      if (canceled) {
        verificationsTotal.inc({ status: 'canceled', country: canceled.country })
      } else {
        const row = await load(auth.project.id, id)
        if (row.status === 'pending' && row.expires_at <= at) await markExpired(id, at)
        if (row.status !== 'canceled') {
          throw row.status === 'expired' || row.status === 'pending'
            ? new ApiError('verification_expired')
            : new ApiError('verification_not_pending', { status: row.status })
        }
      }
      return this.get(auth, id)
    },

    async get(auth: KeyLookup, id: string): Promise<VerificationDetails> {
      const at = now()
      const row = await load(auth.project.id, id)
      const status = row.status === 'pending' && row.expires_at <= at ? 'expired' : row.status
      const messages = await db
        .selectFrom('messages')
        .select([
          'id',
          'status',
          'carrier',
          'carrier_message_id',
          'error',
          'created_at',
          'sent_at',
          'delivered_at',
          'error_code',
          'cost_amount',
          'cost_currency',
          'encoding',
          'segments',
          'failed_at',
          'status_at',
        ])
        .where('verification_id', '=', id)
        .orderBy('created_at')
        .execute()
      return {
        id: row.id,
        projectId: row.project_id,
        mode: row.mode,
        status,
        phone: row.phone,
        country: row.country,
        channel: row.channel,
        locale: row.locale,
        consent: {
          version: row.consent_version,
          at: iso(row.consent_at),
          marketing: Number(row.consent_marketing) === 1,
        },
        createdAt: iso(row.created_at),
        expiresAt: iso(row.expires_at),
        approvedAt: row.approved_at === null ? null : iso(row.approved_at),
        attemptsLeft: Math.max(0, MAX_CHECKS - row.attempts),
        sends: row.sends,
        risk: {
          decision: (row.risk_decision ?? null) as VerificationDetails['risk']['decision'],
          reasons: row.risk_reasons ? (JSON.parse(row.risk_reasons) as string[]) : [],
          ...(row.signals ? { signals: JSON.parse(row.signals) as CallerSignals } : {}),
        },
        messages: messages.map((m) => ({
          id: m.id,
          status: m.status,
          carrier: m.carrier,
          carrierMessageId: m.carrier_message_id,
          error: m.error,
          createdAt: iso(m.created_at),
          sentAt: m.sent_at === null ? null : iso(m.sent_at),
          deliveredAt: m.delivered_at === null ? null : iso(m.delivered_at),
          failedAt: m.failed_at === null ? null : iso(m.failed_at),
          statusAt: m.status_at === null ? null : iso(m.status_at),
          errorCode: m.error_code,
          cost:
            m.cost_amount === null || m.cost_currency === null
              ? null
              : { amount: m.cost_amount, currency: m.cost_currency },
          encoding: m.encoding === 'GSM-7' || m.encoding === 'UCS-2' ? m.encoding : null,
          segments: m.segments,
        })),
      }
    },
  }
}

export type VerificationService = ReturnType<typeof createVerificationService>

/**
 * Marks pending verifications whose code ran out as expired (one by id, or every one due) and
 * raises `verification.failed` for each, in the same transaction. Safe to run in several
 * processes: a row is expired once.
 */
export async function expireVerifications(
  db: Kysely<Database>,
  at: number,
  id?: string,
): Promise<number> {
  const expired = await db.transaction().execute(async (trx) => {
    let update = trx
      .updateTable('verifications')
      .set({ status: 'expired' })
      .where('status', '=', 'pending')
      .where('expires_at', '<=', at)
    if (id !== undefined) update = update.where('id', '=', id)
    else {
      update = update.where('id', 'in', (eb) =>
        eb
          .selectFrom('verifications')
          .select('id')
          .where('status', '=', 'pending')
          .where('expires_at', '<=', at)
          .limit(500),
      )
    }
    const rows = await update
      .returning(['id', 'project_id', 'mode', 'phone', 'country', 'expires_at'])
      .execute()
    for (const row of rows) await emitFailed(trx, row, 'expired', at, row.expires_at)
    return rows
  })
  for (const row of expired) verificationsTotal.inc({ status: 'expired', country: row.country })
  return expired.length
}

type VerificationFailedReason = WebhookEventData<'verification.failed'>['reason']
type FailedRow = Pick<Verification, 'id' | 'project_id' | 'mode' | 'phone' | 'country'>

/** `verification.failed` for a row that just left `pending`, in the transaction that moved it. */
function emitFailed(
  trx: Kysely<Database>,
  row: FailedRow,
  reason: VerificationFailedReason,
  at: number,
  failedAt = at,
): Promise<unknown> {
  return emitWebhookEvent(trx, {
    type: 'verification.failed',
    projectId: row.project_id,
    mode: row.mode,
    orderKey: row.id,
    at,
    data: {
      verificationId: row.id,
      phone: row.phone,
      country: row.country,
      reason,
      failedAt: iso(failedAt),
    },
  })
}
