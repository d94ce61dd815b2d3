/**
 * `pnpm textgate serve`: the server alone, settings from the environment; stops cleanly on
 * SIGTERM or SIGINT after the requests under way.
 * @module
 */
import { loadConfig } from '../../config'
import { setHeapGrowing } from '../../heap'
import { createLogger } from '../../logger'
import { startServer } from '../../server'
import type { Command } from '../command'

export const serveCommand: Command = {
  name: 'serve',
  usage: '  serve                         start the server (settings from the environment)',
  async run() {
    const logger = createLogger(process.env.LOG_LEVEL ?? 'info', {
      pretty: Boolean(process.stdout.isTTY) && process.env.NODE_ENV !== 'production',
    })
    const config = loadConfig(process.env, { warn: (message) => logger.warn(message) })
    // The process is the server's own: its collections are tuned for latency (../../heap).
    if (config.heapGrowingPercent > 0) setHeapGrowing(config.heapGrowingPercent)
    const server = await startServer(config, { logger })
    logger.info(
      {
        url: server.url,
        publicUrl: config.publicUrl,
        database: config.databaseUrl.startsWith('sqlite:') ? config.databaseUrl : 'postgres',
        secret: config.secretSource,
      },
      `textgate listening on ${server.url}`,
    )
    let stopping = false
    const stop = (signal: string) => {
      if (stopping) return
      stopping = true
      logger.info({ signal }, 'shutting down: finishing requests under way')
      server.close().then(
        () => {
          logger.info('stopped')
          logger.flush?.()
          process.exit(0)
        },
        (error: unknown) => {
          logger.error({ err: error }, 'shutdown failed')
          process.exit(1)
        },
      )
    }
    process.on('SIGTERM', () => stop('SIGTERM'))
    process.on('SIGINT', () => stop('SIGINT'))
  },
}
