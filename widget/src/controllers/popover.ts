/**
 * Shows a panel as a popup beside its anchor or, on a phone-sized viewport, as a full-screen sheet.
 * The popup goes in the top layer (`popover="manual"`), where no ancestor can clip it: under the
 * anchor, above it when there is no room below, following it while the page scrolls or resizes;
 * without the Popover API it stays absolutely positioned. The sheet is a modal `<dialog>`: the
 * page behind is inert (focus stays in it), and Escape or Android's back closes it.
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

/** Below this width the panel is a full-screen sheet. */
const SHEET_QUERY = '(max-width: 40rem)'

export class PopoverController implements ReactiveController {
  /** The panel shows as a full-screen sheet (decided when it opens). */
  sheet = false
  private following = false
  private readonly follow = () => this.place()

  constructor(
    host: ReactiveControllerHost,
    private readonly options: PopoverOptions,
  ) {
    host.addController(this)
  }

  /** Decides, before the panel renders, whether it will be a popup or a sheet. */
  choose(): void {
    this.sheet = typeof matchMedia === 'function' && matchMedia(SHEET_QUERY).matches
  }

  /** Shows the rendered panel: `showModal()` for the sheet, in the top layer for the popup. */
  show(): void {
    const panel = this.options.panel()
    if (panel instanceof HTMLDialogElement) {
      if (!panel.open) panel.showModal()
      return
    }
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
