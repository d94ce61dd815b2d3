/**
 * Caller signals for the fraud guard, sent with the start (`signals` in the body): how the number
 * got into the field, not what it is. Nothing here is personal data of its own: no keystroke
 * contents or timings, no mouse trail, no fingerprint of the browser. README ("Caller signals")
 * says, in words a store can put in its privacy notice, what is collected and why.
 * @module
 */
import type { CallerSignals } from '@textgate/shared'
import type { ReactiveController, ReactiveControllerHost } from 'lit'

/** localStorage key of the random per-browser id. */
export const DEVICE_KEY = 'textgate:device'

type Entry = 'typed' | 'pasted' | 'autofilled'

/** What an `input` event's inputType says about how text arrived. */
function entryOf(event: Event): Entry {
  const type = (event as InputEvent).inputType ?? ''
  if (/^insertFrom(Paste|Drop|Yank)/.test(type)) return 'pasted'
  // Browser autofill and autocomplete replace the value without a key: no or a replacement type.
  if (!type || type === 'insertReplacementText') return 'autofilled'
  return 'typed'
}

/** The random id this browser keeps for Textgate (made on first use), or none without storage. */
function deviceId(): string | undefined {
  try {
    let id = localStorage.getItem(DEVICE_KEY)
    if (!id || !/^[A-Za-z0-9_-]{16,64}$/.test(id)) {
      const bytes = crypto.getRandomValues(new Uint8Array(16))
      id = btoa(String.fromCharCode(...bytes))
        .replace(/\+/g, '-')
        .replace(/\//g, '_')
        .replace(/=+$/, '')
      localStorage.setItem(DEVICE_KEY, id)
    }
    return id
  } catch {
    return undefined // Storage blocked (privacy settings, sandboxed frame): no id at all.
  }
}

export class SignalsController implements ReactiveController {
  private shownAt: number | undefined
  private readonly entries = new Set<Entry>()
  private keys = 0
  private focuses = 0
  private observer: IntersectionObserver | undefined

  constructor(private readonly host: ReactiveControllerHost & HTMLElement) {
    host.addController(this)
  }

  /** "Shown" is the first moment the widget is on screen in a visible page. */
  hostConnected(): void {
    if (this.shownAt !== undefined || typeof IntersectionObserver === 'undefined') return
    this.observer = new IntersectionObserver((records) => {
      if (records.some((r) => r.isIntersecting) && document.visibilityState === 'visible') {
        this.shownAt = performance.now()
        this.observer?.disconnect()
      }
    })
    this.observer.observe(this.host)
  }

  hostDisconnected(): void {
    this.observer?.disconnect()
  }

  /** A key pressed in the phone field (the key itself is not kept). */
  key(): void {
    this.keys++
  }

  focus(): void {
    this.focuses++
  }

  /** The phone field changed: typed, pasted or autofilled. */
  input(event: Event): void {
    this.entries.add(entryOf(event))
  }

  /** The signals for a start, now. */
  collect(): CallerSignals {
    const [entry, other] = this.entries
    const id = deviceId()
    return {
      ...(id ? { deviceId: id } : {}),
      ...(this.shownAt === undefined
        ? {}
        : { shownMs: Math.max(0, Math.round(performance.now() - this.shownAt)) }),
      ...(entry ? { entry: other ? 'mixed' : entry } : {}),
      keys: this.keys,
      focuses: this.focuses,
      visible: document.visibilityState === 'visible',
      webdriver: navigator.webdriver === true,
    }
  }
}
