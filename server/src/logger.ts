import { type Logger, pino } from 'pino'

/** JSON logs; authorization headers and keys are redacted wherever they would appear. */
export function createLogger(level: string, options: { pretty?: boolean } = {}): Logger {
  return pino({
    level,
    base: { service: 'textgate' },
    redact: {
      paths: ['req.headers.authorization', 'authorization', 'secretKey', 'publishableKey', 'code'],
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
  })
}
