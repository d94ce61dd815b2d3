import { AsyncLocalStorage } from 'node:async_hooks'
import { type DestinationStream, type Logger, pino } from 'pino'

/** What every log line made while handling a request carries: its id (and trace id). */
export interface RequestLogContext {
  requestId: string
  traceId?: string
}

/**
 * The request a log line belongs to. Units hold their own logger, made at start-up, so a child
 * logger per request could not reach them: the context follows the request's async work instead,
 * and the logger's mixin adds it to every line.
 */
export const requestContext = new AsyncLocalStorage<RequestLogContext>()

/**
 * JSON logs; authorization headers and keys are redacted wherever they would appear; every
 * line made while handling a request carries its `requestId`.
 */
export function createLogger(
  level: string,
  options: { pretty?: boolean; destination?: DestinationStream } = {},
): Logger {
  return pino(
    {
      level,
      base: { service: 'textgate' },
      redact: {
        paths: [
          'req.headers.authorization',
          'authorization',
          'secretKey',
          'publishableKey',
          'code',
        ],
        censor: '[redacted]',
      },
      mixin: () => requestContext.getStore() ?? {},
      ...(options.pretty
        ? {
            transport: {
              target: 'pino-pretty',
              options: { colorize: true, ignore: 'pid,hostname,service' },
            },
          }
        : {}),
    },
    options.destination,
  )
}
