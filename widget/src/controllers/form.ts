/**
 * Form association of <textgate-verify>: the token (and the marketing opt-in) as the form's
 * value, validity when `required`, the `:state(code-sent)` and `:state(verified)` hooks, and the
 * page's fallback for when widget.js never runs, which goes once the element does.
 * @module
 */
import type { ReactiveController, ReactiveControllerHost } from 'lit'
import type { TextgateStep } from '../events'
import { type FormState, syncFormValue } from '../form-value'

export interface FormView extends FormState {
  step: TextgateStep
}

export class FormController implements ReactiveController {
  readonly internals: ElementInternals

  constructor(
    private readonly host: ReactiveControllerHost & HTMLElement,
    private readonly view: () => FormView,
  ) {
    this.internals = host.attachInternals()
    host.addController(this)
  }

  hostConnected(): void {
    this.removeFallback()
  }

  hostUpdated(): void {
    this.removeFallback() // Children the parser added after connect.
    const view = this.view()
    syncFormValue(this.internals, view)
    for (const [state, on] of [
      ['code-sent', view.step === 'code'],
      ['verified', view.step === 'done'],
    ] as const) {
      try {
        if (on) this.internals.states.add(state)
        else this.internals.states.delete(state)
      } catch {
        // Browsers without CustomStateSet keep working, without the :state() hooks.
      }
    }
  }

  /**
   * The page's fallback (children marked `data-textgate-fallback`, such as a message and a hidden
   * required input that keeps the form from posting) goes: the element validates the form itself.
   */
  private removeFallback(): void {
    for (const child of this.host.querySelectorAll(':scope > [data-textgate-fallback]')) {
      child.remove()
    }
  }
}
