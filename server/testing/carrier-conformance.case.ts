/**
 * The conformance suite every carrier adapter passes against its local fake: sending (short,
 * long, unicode), transient and permanent errors, timeouts, delivery reports and authentication
 * (signed callbacks for HTTP carriers; the bind's credentials for SMPP). Each adapter's test
 * calls {@link carrierConformance} with a factory. Where a carrier lacks a capability the case
 * is skipped with the reason in its name.
 * @module
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type CallbackRequest,
  type CarrierAdapter,
  CarrierError,
  type DeliveryReport,
  type OutgoingMessage,
  type ReportStatus,
} from '../src/carriers/types'

/** What the fake saw of one send, normalised from the carrier's wire format. */
export interface FakeSend {
  to: string
  text: string
  /** The encoding the request asked for, when the wire format has such a field. */
  unicode?: boolean
  /** Template-only carriers: the parameters sent for the registered template. */
  templateParams?: string[]
}

export type FakeFailure =
  | { kind: 'server_error' }
  | { kind: 'rate_limited'; retryAfterSeconds: number }
  | { kind: 'hang' }

/** What every carrier fake offers, however its delivery reports travel. */
export interface CarrierFakeBase {
  /** Base URL (or `smpp://host:port`) the adapter is pointed at. */
  baseUrl: string
  /** Every accepted send, oldest first. */
  sends: FakeSend[]
  /** The next send request fails this way (once). */
  failNext(failure: FakeFailure): void
  /** A number the fake treats as invalid, as the real carrier would reject it. */
  invalidNumber: string
  close(): Promise<void>
}

/** A local HTTP server speaking one carrier's wire format, on 127.0.0.1. */
export interface CarrierFake extends CarrierFakeBase {
  /**
   * The callback the carrier would make for `carrierMessageId`, authenticated as it would be.
   * `status` is the normalised status to express in the carrier's own vocabulary; undefined
   * when the carrier has no word for it (some report only delivered or failed).
   */
  deliveryReport(
    carrierMessageId: string,
    status: ReportStatus,
    options?: { errorCode?: string; at?: number; unsigned?: boolean },
  ): CallbackRequest | undefined
}

/**
 * A fake that pushes delivery reports over the adapter's own connection (an SMSC sending
 * deliver_sm over the bind) instead of calling back over HTTP; they reach `adapter.onReport`.
 */
export interface PushingCarrierFake extends CarrierFakeBase {
  /**
   * Pushes the report the carrier would send for `carrierMessageId` with `status` (in its own
   * vocabulary); resolves true once sent, false when the carrier has no word for the status.
   */
  pushReport(
    carrierMessageId: string,
    status: ReportStatus,
    options?: { errorCode?: string; at?: number },
  ): Promise<boolean>
}

export interface ConformanceSetup {
  fake: CarrierFake | PushingCarrierFake
  /** An adapter pointed at the fake with valid credentials (and a generous timeout). */
  adapter: CarrierAdapter
  /** The same adapter with the short timeout `timeoutMs`, for the case where the fake hangs. */
  timeoutAdapter: CarrierAdapter
  /** The same adapter with wrong credentials. */
  badCredentials: CarrierAdapter
  /** `timeoutAdapter`'s configured timeout (ms). */
  timeoutMs: number
  /** Whether the carrier's report carries its own timestamp (else receive time is used). */
  reportsCarryTime: boolean
  /**
   * Set when the carrier signals throttling in its answer body (or its own protocol, as SMPP
   * does) without HTTP 429 or Retry-After (the reason is shown in the skipped case's name).
   */
  throttlesWithoutRetryAfter?: string
  /**
   * The wait the adapter asks for when the carrier throttles without naming one (SMPP's
   * ESME_RTHROTTLED); the throttling case then checks that the error carries it.
   */
  throttleRetryAfterMs?: number
}

/** How long the delivery-report case waits for a pushed report to reach `onReport`. */
const PUSHED_REPORT_TIMEOUT_MS = 3_000

/** The reports `adapter.onReport` hands on from `push` until one names `carrierMessageId`. */
async function pushedReports(
  adapter: CarrierAdapter,
  carrierMessageId: string,
  push: () => Promise<boolean>,
): Promise<DeliveryReport[] | undefined> {
  const reports: DeliveryReport[] = []
  let arrived: () => void = () => {}
  const named = new Promise<void>((resolve) => {
    arrived = resolve
  })
  const unsubscribe = adapter.onReport!((report) => {
    reports.push(report)
    if (report.carrierMessageId === carrierMessageId) arrived()
  })
  try {
    if (!(await push())) return undefined // the carrier has no word for this status
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no report for ${carrierMessageId} reached onReport`)),
        PUSHED_REPORT_TIMEOUT_MS,
      )
    })
    await Promise.race([named, timeout]).finally(() => clearTimeout(timer))
    return reports
  } finally {
    unsubscribe()
  }
}

function message(body: string, to = '+447700900123'): OutgoingMessage {
  return {
    id: `msg_conf_${Math.random().toString(36).slice(2)}`,
    to,
    body,
    projectId: 'prj_conf',
    mode: 'live',
  }
}

async function carrierErrorOf(promise: Promise<unknown>): Promise<CarrierError> {
  try {
    await promise
  } catch (error) {
    expect(error).toBeInstanceOf(CarrierError)
    return error as CarrierError
  }
  throw new Error('expected the send to fail')
}

/**
 * @example
 * carrierConformance('twilio', async () => { const fake = await startTwilioFake(); … })
 */
export function carrierConformance(name: string, setup: () => Promise<ConformanceSetup>) {
  describe(`carrier conformance: ${name}`, () => {
    let s: ConformanceSetup
    beforeAll(async () => {
      s = await setup()
    })
    afterAll(async () => {
      // Connection-oriented adapters (SMPP) hold a bind open: close it before the fake.
      await Promise.all(
        [s?.adapter, s?.timeoutAdapter, s?.badCredentials].map((adapter) => adapter?.close?.()),
      )
      await s?.fake.close()
    })

    it('sends a short text and returns the carrier message id', async () => {
      const before = s.fake.sends.length
      const result = await s.adapter.send(message('Your Shop code is 123456'))
      expect(result.carrierMessageId).toMatch(/\S/)
      expect(result.status).toBe('sent')
      const expected = s.adapter.capabilities.templatesOnly
        ? { to: '+447700900123', templateParams: ['123456'] }
        : { to: '+447700900123', text: 'Your Shop code is 123456' }
      expect(s.fake.sends.slice(before)).toEqual([expect.objectContaining(expected)])
    })

    it('sends a long text (several parts) whole', async (ctx) => {
      if (s.adapter.capabilities.templatesOnly) {
        ctx.skip(`${name} sends registered templates only: the text is not ours to send`)
      }
      const body = `Your Shop code is 123456. ${'This text is long enough to need parts. '.repeat(9)}`
      expect(body.length).toBeGreaterThan(320)
      await s.adapter.send(message(body))
      expect(s.fake.sends.at(-1)?.text).toBe(body)
    })

    const unicodeCase = 'sends unicode text unchanged (Cyrillic, accents, emoji)'
    it('has declared capabilities', () => {
      expect(s.adapter.capabilities.maxParts).toBeGreaterThanOrEqual(1)
      expect(typeof s.adapter.capabilities.unicode).toBe('boolean')
    })
    it(unicodeCase, async (ctx) => {
      if (!s.adapter.capabilities.unicode) ctx.skip(`${name} declares no unicode support`)
      if (s.adapter.capabilities.templatesOnly) {
        ctx.skip(`${name} sends registered templates only: the text is not ours to send`)
      }
      const body = 'Ваш код 123456 — ¡código! 🔐'
      await s.adapter.send(message(body))
      const sent = s.fake.sends.at(-1)
      expect(sent?.text).toBe(body)
      if (sent?.unicode !== undefined) expect(sent.unicode).toBe(true)
    })

    it("maps a server error (HTTP 5xx, or the carrier's own equivalent) to a transient error", async () => {
      s.fake.failNext({ kind: 'server_error' })
      const error = await carrierErrorOf(s.adapter.send(message('Your code is 111111')))
      expect(error.permanent).toBe(false)
    })

    it('maps a 429 with Retry-After to a transient error with retryAfterMs', async (ctx) => {
      if (s.throttlesWithoutRetryAfter) ctx.skip(s.throttlesWithoutRetryAfter)
      s.fake.failNext({ kind: 'rate_limited', retryAfterSeconds: 7 })
      const error = await carrierErrorOf(s.adapter.send(message('Your code is 222222')))
      expect(error.permanent).toBe(false)
      expect(error.retryAfterMs).toBe(7000)
    })

    it('maps throttling, however the carrier signals it, to a transient error', async () => {
      s.fake.failNext({ kind: 'rate_limited', retryAfterSeconds: 7 })
      const error = await carrierErrorOf(s.adapter.send(message('Your code is 222223')))
      expect(error.permanent).toBe(false)
      if (s.throttleRetryAfterMs !== undefined) {
        expect(error.retryAfterMs).toBe(s.throttleRetryAfterMs)
      }
    })

    it('maps an invalid number to a permanent error', async () => {
      const error = await carrierErrorOf(
        s.adapter.send(message('Your code is 333333', s.fake.invalidNumber)),
      )
      expect(error.permanent).toBe(true)
    })

    it('maps an authentication failure to a fault of the route, without echoing secrets', async () => {
      const error = await carrierErrorOf(s.badCredentials.send(message('Your code is 444444')))
      // Not the text's fault: the router moves on to the next route, the outbox retries later.
      expect(error.routeFault).toBe(true)
      expect(error.permanent).toBe(false)
      // The error says what went wrong: refused credentials, not some other failure.
      expect(error.message).toMatch(/authenticat|credential|unauthori[sz]ed|signature|\b40[13]\b/i)
      expect(error.message).not.toMatch(/wrong-secret/)
    })

    it('aborts a send the carrier never answers within its timeout, as transient', async () => {
      s.fake.failNext({ kind: 'hang' })
      const started = performance.now()
      const error = await carrierErrorOf(s.timeoutAdapter.send(message('Your code is 555555')))
      const elapsed = performance.now() - started
      expect(error.permanent).toBe(false)
      expect(error.message).toMatch(/no answer within/)
      // Generous bound: the point is that it aborts at all, not how precisely.
      expect(elapsed).toBeLessThan(s.timeoutMs + 2_000)
    })

    const dlrCase = 'parses delivery reports into the normalised shape'
    it(dlrCase, async (ctx) => {
      const fake = s.fake
      const reader = 'pushReport' in fake ? s.adapter.onReport : s.adapter.parseReports
      if (!s.adapter.capabilities.deliveryReports || !reader) {
        ctx.skip(`${name} declares no delivery reports`)
      }
      const { carrierMessageId } = await s.adapter.send(message('Your code is 666666'))
      const at = Date.parse('2026-11-27T10:15:00Z')
      const received = Date.parse('2026-11-27T10:15:30Z')
      const cases: { status: ReportStatus; errorCode?: string }[] = [
        { status: 'sent' },
        { status: 'delivered' },
        { status: 'undelivered', errorCode: '30003' },
        { status: 'failed', errorCode: '30007' },
      ]
      let checked = 0
      for (const c of cases) {
        const options = { errorCode: c.errorCode, at }
        let reports: DeliveryReport[]
        /** When the report was received, for carriers whose reports carry no time. */
        let receivedAt: unknown = received
        if ('pushReport' in fake) {
          // Pushed over the adapter's connection: whatever the adapter hands to onReport.
          const before = Date.now()
          const got = await pushedReports(s.adapter, carrierMessageId, () =>
            fake.pushReport(carrierMessageId, c.status, options),
          )
          if (!got) continue // the carrier has no word for this status
          reports = got
          receivedAt = expect.toSatisfy((t: number) => t >= before && t <= Date.now())
        } else {
          const request = fake.deliveryReport(carrierMessageId, c.status, options)
          if (!request) continue // the carrier has no word for this status
          expect(s.adapter.verifyCallback?.(request) ?? true).toBe(true)
          reports = s.adapter.parseReports!(request, received)
        }
        checked += 1
        expect(reports).toHaveLength(1)
        expect(reports[0]).toMatchObject({
          carrierMessageId,
          status: c.status,
          at: s.reportsCarryTime ? at : receivedAt,
        })
        if (c.errorCode) expect(reports[0]?.errorCode).toBe(c.errorCode)
        else expect(reports[0]?.errorCode).toBeUndefined()
      }
      expect(checked).toBeGreaterThanOrEqual(2)
    })

    const sigCase = 'accepts a correctly signed callback and rejects a tampered one'
    it(sigCase, async (ctx) => {
      const fake = s.fake
      if ('pushReport' in fake) {
        ctx.skip(
          `callback signature: skipped — ${name} reports come over its own authenticated connection, not as callbacks (the authentication case checks that wrong credentials are refused)`,
        )
        return
      }
      const auth = s.adapter.capabilities.callbackAuth ?? 'none'
      if (auth === 'none' || !s.adapter.verifyCallback) {
        ctx.skip(`${name} callbacks carry no signature or token`)
      }
      const request = fake.deliveryReport('conf-id-1', 'delivered')!
      expect(s.adapter.verifyCallback!(request)).toBe(true)
      if (auth === 'signature') {
        const tamperedBody = request.body.includes('conf-id-1')
          ? { ...request, body: request.body.replace('conf-id-1', 'conf-id-2') }
          : { ...request, url: request.url.replace('conf-id-1', 'conf-id-2') }
        expect(s.adapter.verifyCallback!(tamperedBody)).toBe(false)
      }
      const unsigned = fake.deliveryReport('conf-id-1', 'delivered', { unsigned: true })!
      expect(s.adapter.verifyCallback!(unsigned)).toBe(false)
    })
  })
}
