/**
 * Places a popup panel beside its anchor in the top layer (`popover="manual"`), where no ancestor
 * can clip it: under the anchor, above it when there is no room below; it follows the anchor while
 * the page scrolls or resizes. Without the Popover API the panel stays absolutely positioned.
 * @module
 */
import type { ReactiveController, ReactiveControllerHost } from 'lit'

/** The Popover API exists in this browser. */
export const POPOVER = typeof HTMLElement !== 'undefined' && 'showPopover' in HTMLElement.prototype

export interface PopoverOptions {
  panel: () => HTMLElement | null
  anchor: () => HTMLElement | null
  rtl: () => boolean
}

export class PopoverController implements ReactiveController {
  private following = false
  private readonly follow = () => this.place()

  constructor(
    host: ReactiveControllerHost,
    private readonly options: PopoverOptions,
  ) {
    host.addController(this)
  }

  show(): void {
    const panel = this.options.panel()
    if (!panel || !POPOVER) return
    if (!panel.matches(':popover-open')) panel.showPopover()
    this.place()
    if (this.following) return
    this.following = true
    window.addEventListener('scroll', this.follow, true)
    window.addEventListener('resize', this.follow)
  }

  place(): void {
    const panel = this.options.panel()
    const anchor = this.options.anchor()
    if (!panel || !anchor || !POPOVER) return
    const box = anchor.getBoundingClientRect()
    const height = panel.offsetHeight
    const below = box.bottom + 4
    const top =
      below + height > window.innerHeight && box.top - 4 - height >= 0
        ? box.top - 4 - height
        : below
    panel.style.top = `${top}px`
    if (this.options.rtl()) {
      panel.style.left = 'auto'
      panel.style.right = `${Math.max(0, document.documentElement.clientWidth - box.right)}px`
    } else {
      panel.style.right = 'auto'
      panel.style.left = `${Math.max(0, box.left)}px`
    }
  }

  hide(): void {
    if (!this.following) return
    this.following = false
    window.removeEventListener('scroll', this.follow, true)
    window.removeEventListener('resize', this.follow)
  }

  hostDisconnected(): void {
    this.hide()
  }
}
