/**
 * The last step: the number is verified.
 * @module
 */
import { html } from 'lit'
import type { Translation } from '../translations/en'

export interface DoneStepView {
  t: Translation
  verifiedPhone: string
  on: { change: () => void }
}

export function renderDoneStep(v: DoneStepView) {
  return html`
    <p part="done" tabindex="-1">✓ ${v.t.verified(v.verifiedPhone)}</p>
    <div class="actions">
      <button part="change-button" type="button" @click=${v.on.change}>
        ${v.t.changeNumber}
      </button>
    </div>
  `
}
