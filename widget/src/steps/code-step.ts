/**
 * The second step: the one-time code, Verify, and below it Send a new code and Change number as
 * text links (after a refusal that ends the verification, only Start again, or Change number when
 * the number itself is out of wrong codes for the day).
 * @module
 */
import type { StartVerificationResponse } from '@textgate/shared'
import { html } from 'lit'
import type { Translation } from '../translations/en'

export interface CodeStepView {
  t: Translation
  disabled: boolean
  busy: boolean
  /** A rate limit's wait: Verify is held until it ends. */
  waiting: boolean
  invalid: 'phone' | 'consent' | 'code' | ''
  /**
   * The verification cannot go on: only this button is offered (Start again, or Change number
   * when the number itself is out of wrong codes); '' while it can.
   */
  ended: string
  verification: StartVerificationResponse
  codeText: string
  /** Seconds until a new code may be sent. */
  resendWait: number
  /** The shopper's own tag for the widget's language ("en-GB"), for the expiry's clock format. */
  timeLocale: string
  /** "We sent a code to …", and what happened since. */
  status: string
  /** The error line, under the field. */
  message: unknown
  on: {
    check: (event: Event) => void
    codeInput: (event: Event) => void
    resend: () => void
    change: () => void
  }
}

export function renderCodeStep(v: CodeStepView) {
  const { t, on, verification } = v
  const change = (label: string) =>
    html`<button part="change-button" type="button" ?disabled=${v.busy} @click=${on.change}>
      ${label}
    </button>`
  const expires = new Date(verification.expiresAt).toLocaleTimeString([v.timeLocale, t.$code], {
    timeStyle: 'short',
  })
  // The status is no live region: each change (code sent, new code) comes with focus moved to
  // the code field, which it describes, so a screen reader reads it once, there.
  return html`
    <form class="step" novalidate @submit=${on.check}>
      <p id="status" part="status">${v.status}</p>
      <div>
        <label for="code">${t.codeLabel(verification.codeLength)}</label>
        <input
          id="code"
          part="code-input"
          type="text"
          dir="ltr"
          inputmode="numeric"
          autocomplete="one-time-code"
          .value=${v.codeText}
          aria-invalid=${v.invalid === 'code'}
          aria-describedby="status error"
          ?disabled=${v.disabled || !!v.ended}
          @input=${on.codeInput}
        />
        ${v.message}
      </div>
      <p class="hint">${t.expiresAt(expires)}</p>
      <div class="actions code">
        ${
          v.ended
            ? change(v.ended)
            : html`<button
                  part="submit-button"
                  type="submit"
                  ?disabled=${v.disabled || v.waiting}
                  aria-disabled=${v.busy}
                >
                  ${v.busy ? t.verifying : t.verify}
                </button>
                <div class="links">
                  <button
                    part="resend-button"
                    type="button"
                    ?disabled=${v.disabled || v.resendWait > 0}
                    aria-disabled=${v.busy}
                    @click=${on.resend}
                  >
                    ${v.resendWait > 0 ? t.resendIn(v.resendWait) : t.resend}
                  </button>
                  ${change(t.changeNumber)}
                </div>`
        }
      </div>
    </form>
  `
}
