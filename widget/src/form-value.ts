/**
 * What <textgate-verify> gives its form: the token under the element's name (and the marketing
 * opt-in beside it), and its validity when `required`.
 * @module
 */

export interface FormState {
  name: string
  token: string
  /** The shopper ticked the marketing opt-in sent with the verification. */
  marketing: boolean
  required: boolean
  /** The shopper typed a number (or got further): "value missing" no longer fits. */
  started: boolean
  /** The validation message: the problem shown at the field, or "verify your number". */
  message: string
  anchor: HTMLElement | undefined
}

export function syncFormValue(internals: ElementInternals, state: FormState): void {
  if (state.token && state.name && state.marketing) {
    // The opt-in travels beside the token, as its own field: the token's claims stay fixed.
    const value = new FormData()
    value.append(state.name, state.token)
    value.append(`${state.name}_marketing`, 'yes')
    internals.setFormValue(value)
  } else {
    internals.setFormValue(state.token || null)
  }
  if (state.required && !state.token) {
    internals.setValidity(
      state.started ? { customError: true } : { valueMissing: true },
      state.message,
      state.anchor,
    )
  } else {
    internals.setValidity({})
  }
}
