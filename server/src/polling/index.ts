/**
 * A polling loop of `window` workers: runs a round on a timer, on a nudge, and on demand (drain).
 * One round at a time; a tick that arrives during a round runs another one right after it.
 * @module
 */
import type { Logger } from 'pino'

export interface PollingLoopOptions {
  /** Workers run at once in a round. */
  window: number
  pollIntervalMs: number
  logger: Logger
  /** Logged when a round throws. */
  label: string
  /**
   * One worker of a round: works while `active()` says so (started, or draining) and returns
   * how many items it handled.
   */
  work: (active: () => boolean) => Promise<number>
  /** Extra wake-ups while started (e.g. an in-process event); returns its unsubscribe. */
  subscribe?: (tick: () => void) => () => void
}

export interface PollingLoop {
  start(): void
  /** Stops ticking and waits for the round under way. */
  stop(): Promise<void>
  /** Runs a round now instead of at the next tick (only while started). */
  nudge(): void
  /** Waits for the round under way, then runs one more even when stopped; its count. */
  drain(): Promise<number>
}

/**
 * @example
 * const loop = createPollingLoop({ window: 4, pollIntervalMs: 500, logger, label: 'outbox round failed', work })
 * loop.start()
 */
export function createPollingLoop({
  window,
  pollIntervalMs,
  logger,
  label,
  work,
  subscribe,
}: PollingLoopOptions): PollingLoop {
  let running = false
  let draining = false
  let timer: NodeJS.Timeout | undefined
  let round: Promise<number> | undefined
  let again = false
  let unsubscribe: (() => void) | undefined
  const active = () => running || draining

  async function runRound(): Promise<number> {
    const counts = await Promise.all(Array.from({ length: window }, () => work(active)))
    return counts.reduce((sum, n) => sum + n, 0)
  }

  function tick(): void {
    if (round) {
      again = true
      return
    }
    round = runRound()
      .catch((error: unknown) => {
        logger.error({ err: error }, label)
        return 0
      })
      .finally(() => {
        round = undefined
        if (running && again) {
          again = false
          tick()
        }
      })
  }

  return {
    start() {
      if (running) return
      running = true
      timer = setInterval(tick, pollIntervalMs)
      timer.unref()
      unsubscribe = subscribe?.(tick)
      tick()
    },
    async stop() {
      running = false
      unsubscribe?.()
      unsubscribe = undefined
      if (timer) clearInterval(timer)
      await round
    },
    nudge() {
      if (running) tick()
    },
    async drain() {
      draining = true
      try {
        await round
        return await runRound()
      } finally {
        draining = false
      }
    },
  }
}
