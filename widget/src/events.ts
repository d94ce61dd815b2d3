/**
 * The events <textgate-verify> fires, and their details.
 * @module
 */

export type TextgateStep = 'phone' | 'code' | 'done'

export interface TextgateVerifiedDetail {
  token: string
  /** E.164. */
  phone: string
  verificationId: string
  /** The shopper ticked the optional marketing checkbox before the code was sent. */
  marketing: boolean
}
export interface TextgateStepDetail {
  step: TextgateStep
  /** E.164: the number the code went to, in the code and done steps. */
  phone?: string
}
export interface TextgateErrorDetail {
  /** A server error code (`rate_limited`, `blocked`…), `network_error` or `unknown`. */
  code: string
  /** The message shown to the shopper, in the widget's language. */
  message: string
  /**
   * Seconds to wait before trying the step again (the answer's Retry-After: `rate_limited`,
   * `max_sends_reached`); never for a refusal that ends the verification (`max_attempts_reached`).
   */
  retryAfter?: number
}

export interface TextgateEventMap {
  'textgate-step': CustomEvent<TextgateStepDetail>
  'textgate-verified': CustomEvent<TextgateVerifiedDetail>
  'textgate-error': CustomEvent<TextgateErrorDetail>
}
