import { type DestinationStream, type Logger, pino } from 'pino'

/** What every log line about a request carries: its id (and trace id). */
export interface RequestLogContext {
  requestId: string
  traceId?: string
}

/**
 * `logger` with the request's id (and trace id) on each of its lines; `logger` itself when there
 * is no request (background work). Units hold their own logger, made at start-up, and are handed
 * the request's context with the call that may log about it.
 *
 * Passed by hand on purpose: an AsyncLocalStorage would find it on its own, but on Node 20 it
 * turns on a promise hook for every promise the process makes, and a start's throughput was
 * 11–12 % lower with it (`pnpm bench`, same rounds). The child logger is made only for a line
 * about to be written.
 */
export function requestLogger<L extends Logger | undefined>(
  logger: L,
  request: RequestLogContext | undefined,
): L {
  return (request && logger ? logger.child(request) : logger) as L
}

/**
 * JSON logs; authorization headers and keys are redacted wherever they would appear. Lines about
 * a request carry its `requestId` through {@link requestLogger}.
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
