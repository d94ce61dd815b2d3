/**
 * The last step: the number is verified.
 * @module
 */
import { html } from 'lit'
import type { Translation } from '../translations/en'

export interface DoneStepView {
  t: Translation
  disabled: boolean
  verifiedPhone: string
  on: { change: () => void }
}

export function renderDoneStep(v: DoneStepView) {
  return html`
    <div role="group" aria-labelledby="done-label">
      <span id="done-label" class="label">${v.t.phoneLabel}</span>
      <p part="done" tabindex="-1">
        ✓ ${v.t.verified(v.verifiedPhone)}
      </p>
    </div>
    <div class="actions">
      <button part="change-button" type="button" ?disabled=${v.disabled} @click=${v.on.change}>
        ${v.t.changeNumber}
      </button>
    </div>
  `
}
