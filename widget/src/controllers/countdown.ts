/**
 * A one-second clock for the waits the shopper sees (new code in…, the code expires…): while it
 * runs, the host renders again every second with a fresh `now`.
 * @module
 */
import type { ReactiveController, ReactiveControllerHost } from 'lit'

export class CountdownController implements ReactiveController {
  /** The time of the last tick, in ms since the epoch. */
  now = Date.now()
  private timer: ReturnType<typeof setInterval> | undefined

  constructor(private readonly host: ReactiveControllerHost) {
    host.addController(this)
  }

  /** Starts ticking (again, from now). */
  start(): void {
    this.stop()
    this.now = Date.now()
    this.timer = setInterval(() => {
      this.now = Date.now()
      this.host.requestUpdate()
    }, 1000)
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = undefined
  }

  /** Whole seconds from the last tick until `until` (an ISO date or ms since the epoch), ≥ 0. */
  secondsUntil(until: string | number): number {
    const at = typeof until === 'number' ? until : Date.parse(until)
    return Math.max(0, Math.ceil((at - this.now) / 1000))
  }

  hostDisconnected(): void {
    this.stop()
  }
}
