/**
 * A one-second clock for the waits the shopper sees (new code in…, the code expires…): while it
 * runs, the host renders again every second with a fresh `now`. It ticks only while the host is
 * on the page: taken out, it stops ticking (no timer left behind); put back, it goes on.
 * @module
 */
import type { ReactiveController, ReactiveControllerHost } from 'lit'

export class CountdownController implements ReactiveController {
  /** The time of the last tick, in ms since the epoch. */
  now = Date.now()
  /** Started and not stopped, whether or not the host is on the page. */
  private running = false
  private timer: ReturnType<typeof setInterval> | undefined

  constructor(private readonly host: ReactiveControllerHost & { isConnected?: boolean }) {
    host.addController(this)
  }

  /** Starts ticking (again, from now). */
  start(): void {
    this.stop()
    this.running = true
    this.now = Date.now()
    this.tick()
  }

  stop(): void {
    this.running = false
    this.pause()
  }

  /** Whole seconds from the last tick until `until` (an ISO date or ms since the epoch), ≥ 0. */
  secondsUntil(until: string | number): number {
    const at = typeof until === 'number' ? until : Date.parse(until)
    return Math.max(0, Math.ceil((at - this.now) / 1000))
  }

  hostConnected(): void {
    if (!this.running || this.timer) return
    this.now = Date.now()
    this.host.requestUpdate()
    this.tick()
  }

  hostDisconnected(): void {
    this.pause()
  }

  /** Ticks every second while the host is on the page (a host that cannot say counts as on it). */
  private tick(): void {
    if (this.host.isConnected === false) return
    this.timer = setInterval(() => {
      this.now = Date.now()
      this.host.requestUpdate()
    }, 1000)
  }

  private pause(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = undefined
  }
}
