/**
 * The widget's client for the publishable-key endpoints.
 * @module
 */
import type {
  CheckVerificationResponse,
  PowChallenge,
  ResendVerificationRequest,
  ResendVerificationResponse,
  StartVerificationRequest,
  StartVerificationResponse,
  WidgetConfigResponse,
} from '@textgate/shared'
// The errors module alone: the schemas (valibot) stay out of the widget bundle.
import { isErrorBody } from '@textgate/shared/errors'
import { solveChallenge } from '../challenge/solve'

export class TextgateApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
    readonly details: Record<string, unknown> = {},
    readonly retryAfterSeconds?: number,
  ) {
    super(message)
    this.name = 'TextgateApiError'
  }
}

/** An ISO date the widget can count down to. */
const isDate = (value: unknown) => typeof value === 'string' && !Number.isNaN(Date.parse(value))

/**
 * What the widget reads from each success, checked: a 2xx answer without it (a proxy's or a
 * misrouted HTML page, a garbled body) is a failure, not a step the widget cannot show.
 */
const looksLike = {
  start: (body: Record<string, unknown>) =>
    typeof body.id === 'string' &&
    isDate(body.expiresAt) &&
    isDate(body.resendAfter) &&
    Number.isInteger(body.codeLength) &&
    (body.codeLength as number) >= 4 &&
    (body.codeLength as number) <= 10,
  check: (body: Record<string, unknown>) => typeof body.token === 'string' && body.token !== '',
  // Merged into the verification: what it leaves out stays as it was.
  resend: (body: Record<string, unknown>) =>
    (body.expiresAt === undefined || isDate(body.expiresAt)) &&
    (body.resendAfter === undefined || isDate(body.resendAfter)),
}

export interface ClientOptions {
  server: string
  publishableKey: string
  /**
   * A request without an answer by then fails as a network failure (Try again, with the same
   * Idempotency-Key), rather than leaving the controls busy for as long as a stalled connection
   * lasts. Default 30 s.
   */
  timeoutMs?: number
}

export function createClient({ server, publishableKey, timeoutMs = 30_000 }: ClientOptions) {
  const base = server.replace(/\/+$/, '')

  async function post<T>(
    path: string,
    body: unknown,
    headers: Record<string, string> = {},
    expected: (body: Record<string, unknown>) => boolean = () => true,
  ): Promise<T> {
    return request<T>(
      path,
      {
        method: 'POST',
        headers: {
          Authorization: `Bearer ${publishableKey}`,
          'Content-Type': 'application/json',
          ...headers,
        },
        body: JSON.stringify(body ?? {}),
      },
      expected,
    )
  }

  async function request<T>(
    path: string,
    init: RequestInit,
    expected: (body: Record<string, unknown>) => boolean = () => true,
  ): Promise<T> {
    // Browsers without AbortSignal.timeout wait as long as the connection does.
    const signal = AbortSignal.timeout?.(timeoutMs)
    let response: Response
    let json: unknown
    try {
      response = await fetch(`${base}${path}`, { ...init, signal })
      // The body is read under the same deadline: a server may stall after its headers too.
      json = await response.json().catch((error: unknown) => {
        if (signal?.aborted) throw error
        return undefined
      })
    } catch {
      throw new TextgateApiError('network_error', 'network error', 0)
    }
    if (response.ok) {
      if (json && typeof json === 'object' && expected(json as Record<string, unknown>)) {
        return json as T
      }
      throw new TextgateApiError(
        'unknown',
        `HTTP ${response.status}: unexpected answer`,
        response.status,
      )
    }
    const retryAfter = Number(response.headers.get('Retry-After'))
    if (isErrorBody(json)) {
      const { code, message, ...details } = json.error
      return Promise.reject(
        new TextgateApiError(code, message, response.status, details, retryAfter || undefined),
      )
    }
    // A 5xx without the server's error body is a proxy's or load balancer's page (a deploy, an
    // overloaded upstream): passing, worth a Try again, as the server's own service_unavailable.
    const code = response.status >= 500 ? 'service_unavailable' : 'unknown'
    throw new TextgateApiError(code, `HTTP ${response.status}`, response.status)
  }

  return {
    /** The project's settings for the widget and a hint of the shopper's country. */
    config: () =>
      request<WidgetConfigResponse>('/v1/config', {
        method: 'GET',
        headers: { Authorization: `Bearer ${publishableKey}` },
        // A same-origin GET carries no Origin header: the server then checks the Referer's
        // origin, which this policy always sends (and never more than the origin).
        referrerPolicy: 'origin',
      }),
    /**
     * Starts a verification. When the fraud guard asks for proof of work (428
     * `challenge_required`), solves it and sends the start again with the solution, without
     * the shopper doing anything (a harder puzzle the second time is solved once more).
     */
    async start(body: StartVerificationRequest, idempotencyKey: string) {
      const send = (extra: { challenge?: string } = {}) =>
        post<StartVerificationResponse>(
          '/v1/verifications',
          { ...body, ...extra },
          { 'Idempotency-Key': idempotencyKey },
          looksLike.start,
        )
      let attempt = 0
      let extra: { challenge?: string } = {}
      for (;;) {
        try {
          return await send(extra)
        } catch (error) {
          const challenge =
            error instanceof TextgateApiError && error.code === 'challenge_required'
              ? (error.details.challenge as PowChallenge | undefined)
              : undefined
          if (!challenge || attempt++ >= 2) throw error
          extra = { challenge: await solveChallenge(challenge) }
        }
      }
    },
    check: (id: string, code: string) =>
      post<CheckVerificationResponse>(
        `/v1/verifications/${encodeURIComponent(id)}/check`,
        { code },
        {},
        looksLike.check,
      ),
    /** Sends a new code, worded in `locale` (the widget's language now). */
    resend: (id: string, locale: string) =>
      post<ResendVerificationResponse>(
        `/v1/verifications/${encodeURIComponent(id)}/resend`,
        { locale } satisfies ResendVerificationRequest,
        {},
        looksLike.resend,
      ),
  }
}

export type TextgateClient = ReturnType<typeof createClient>
