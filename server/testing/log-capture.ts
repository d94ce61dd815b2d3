/**
 * A real pino logger (the server's own settings) whose lines are kept as parsed objects, for
 * tests that check what a log line carries.
 * @module
 */
import { Writable } from 'node:stream'
import { createLogger } from '../src/logger'

export function capturedLogger(level = 'debug') {
  const lines: Record<string, unknown>[] = []
  const logger = createLogger(level, {
    destination: new Writable({
      write(chunk, _encoding, done) {
        lines.push(JSON.parse(String(chunk)) as Record<string, unknown>)
        done()
      },
    }),
  })
  return { logger, lines }
}
