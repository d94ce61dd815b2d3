/**
 * Request ids: `X-Request-Id` from a trusted proxy is kept (when it is a sane token), any other
 * request gets a new one; it is returned in the answer and carried by every log line about the
 * request ({@link requestLog}, and the units' lines it is handed to). A W3C `traceparent` from a
 * trusted proxy adds its trace id to the logs.
 * @module
 */
import { randomUUID } from 'node:crypto'
import type { Context, MiddlewareHandler } from 'hono'
import type { Logger } from 'pino'
import { type RequestLogContext, requestLogger } from '../logger'
import { answerHeaders } from './headers'

declare module 'hono' {
  interface ContextVariableMap {
    requestId: string
    /** What the request's log lines carry: see {@link requestLog}. */
    requestLog: RequestLogContext
  }
}

const SANE_ID = /^[A-Za-z0-9._:@+=/-]{1,128}$/
const TRACEPARENT = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/

export interface RequestIdOptions {
  /** Whether this request came through a proxy we trust (only then is its header kept). */
  fromTrustedProxy: (c: Context) => boolean
}

export function requestId({ fromTrustedProxy }: RequestIdOptions): MiddlewareHandler {
  return async function requestId(c, next) {
    const trusted = fromTrustedProxy(c)
    const incoming = trusted ? c.req.header('X-Request-Id') : undefined
    const id = incoming && SANE_ID.test(incoming) ? incoming : randomUUID()
    const context: RequestLogContext = { requestId: id }
    const trace = trusted ? TRACEPARENT.exec(c.req.header('traceparent') ?? '') : null
    if (trace?.[1] && !/^0+$/.test(trace[1])) context.traceId = trace[1]
    c.set('requestId', id)
    c.set('requestLog', context)
    answerHeaders(c)['x-request-id'] = id
    await next()
  }
}

/** `logger` with the id (and trace id) of the request `c` on each line. */
export function requestLog(c: Context, logger: Logger): Logger {
  return requestLogger(logger, c.get('requestLog'))
}
