/**
 * One signed POST to an endpoint, over node:http(s) with the guarded DNS lookup, no redirects
 * followed, and a bounded time for the whole exchange. The answer's body is read and dropped:
 * only the status counts.
 * @module
 */
import { request as httpRequest, type IncomingMessage } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { Webhook } from 'standardwebhooks'
import type { KeyMode } from '../storage'
import { withFields } from '../with-fields'
import { retryAfterMs } from './schedule'
import {
  guardedLookup,
  literalAllowed,
  NO_WEBHOOK_NETWORKS,
  plainHttp,
  type WebhookNetworks,
} from './url-policy'

export interface SendInput {
  url: string
  mode: KeyMode
  /** The operator's networks endpoints may reach besides the internet (TEXTGATE_WEBHOOK_NETWORKS). */
  networks?: WebhookNetworks
  /** The event id, the same on every attempt and replay. */
  messageId: string
  payload: string
  /** Current secret first; during a rotation the previous one signs too. */
  secrets: string[]
  at: Date
  timeoutMs: number
}

export interface SendOutcome {
  statusCode: number | null
  latencyMs: number
  error: string | null
  ok: boolean
  /** The answer's `Retry-After`, in ms from when it came (absent when it had none). */
  retryAfterMs?: number
}

/** The `webhook-signature` value: one `v1,<base64>` per secret, space-separated. */
export function signatureHeader(
  secrets: string[],
  messageId: string,
  at: Date,
  payload: string,
): string {
  return secrets.map((secret) => new Webhook(secret).sign(messageId, at, payload)).join(' ')
}

export function sendWebhook(input: SendInput): Promise<SendOutcome> {
  const started = performance.now()
  const elapsed = () => Math.round(performance.now() - started)
  return new Promise((resolve) => {
    let settled = false
    let deadline: NodeJS.Timeout | undefined
    let response: IncomingMessage | undefined
    const finish = (outcome: Omit<SendOutcome, 'latencyMs' | 'ok'>) => {
      if (settled) return
      settled = true
      clearTimeout(deadline)
      const ok =
        outcome.statusCode !== null && outcome.statusCode >= 200 && outcome.statusCode < 300
      const header = response?.headers['retry-after']
      const asked = ok ? undefined : retryAfterMs(header, Date.now())
      resolve(
        withFields(outcome, {
          latencyMs: elapsed(),
          ok,
          ...(asked === undefined ? {} : { retryAfterMs: asked }),
        }),
      )
    }
    const url = new URL(input.url)
    const networks = input.networks ?? NO_WEBHOOK_NETWORKS
    if (!literalAllowed(input.url, input.mode, networks)) {
      finish({ statusCode: null, error: 'the address is private or reserved' })
      return
    }
    const body = Buffer.from(input.payload)
    const seconds = Math.floor(input.at.getTime() / 1000)
    const request = (url.protocol === 'https:' ? httpsRequest : httpRequest)(
      url,
      {
        method: 'POST',
        lookup: guardedLookup(input.mode, networks, plainHttp(url)) as never,
        headers: {
          'content-type': 'application/json',
          'content-length': String(body.length),
          'user-agent': 'Textgate-Webhooks/1',
          'webhook-id': input.messageId,
          'webhook-timestamp': String(seconds),
          'webhook-signature': signatureHeader(
            input.secrets,
            input.messageId,
            new Date(seconds * 1000),
            input.payload,
          ),
        },
        timeout: input.timeoutMs,
      },
      (answer) => {
        response = answer
        let read = 0
        answer.on('data', (chunk: Buffer) => {
          read += chunk.length
          if (read > 64 * 1024) answer.destroy()
        })
        answer.on('error', () => {})
        answer.on('close', () => finish({ statusCode: answer.statusCode ?? null, error: null }))
        answer.on('end', () => finish({ statusCode: answer.statusCode ?? null, error: null }))
      },
    )
    request.on('timeout', () => {
      request.destroy(new Error(`no answer within ${input.timeoutMs} ms`))
    })
    // The socket's timeout above is for silence only: an endpoint that answers a byte at a time
    // (its headers, or a body that never ends) would hold the delivery, and one of the
    // dispatcher's few slots for every project, for as long as it likes. The whole exchange gets
    // timeoutMs: a status already received counts, the rest of the body is not waited for.
    deadline = setTimeout(() => {
      const statusCode = response?.statusCode ?? null
      if (statusCode !== null) finish({ statusCode, error: null })
      request.destroy(new Error(`no answer within ${input.timeoutMs} ms`))
    }, input.timeoutMs)
    deadline.unref()
    request.on('error', (error: NodeJS.ErrnoException) => {
      finish({ statusCode: null, error: (error.code ? `${error.code}: ` : '') + error.message })
    })
    request.end(body)
  })
}
