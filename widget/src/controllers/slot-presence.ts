/**
 * Whether the page put content in a named slot, kept current as the element's children change
 * (the optional marketing checkbox shows only when the page labels it).
 * @module
 */
import type { ReactiveController, ReactiveControllerHost } from 'lit'

export class SlotPresenceController implements ReactiveController {
  private observer: MutationObserver | undefined
  private present = false

  constructor(
    private readonly host: ReactiveControllerHost & HTMLElement,
    private readonly slot: string,
  ) {
    host.addController(this)
  }

  /** The page has a child in the slot. */
  get filled(): boolean {
    return this.present
  }

  hostConnected(): void {
    this.check()
    this.observer = new MutationObserver(() => this.check())
    this.observer.observe(this.host, { childList: true, subtree: true, attributeFilter: ['slot'] })
  }

  hostDisconnected(): void {
    this.observer?.disconnect()
  }

  private check(): void {
    const present = [...this.host.children].some((child) => child.slot === this.slot)
    if (present === this.present) return
    this.present = present
    this.host.requestUpdate()
  }
}
