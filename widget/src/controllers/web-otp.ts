/**
 * WebOTP: while the code step waits, the browser may offer the code from an SMS ending in
 * `@host #code`; the shopper taps it and `onCode` receives it. Stops when the shopper types, the
 * step ends or the element leaves the page.
 * @module
 */
import type { ReactiveController, ReactiveControllerHost } from 'lit'

interface OtpCredentials {
  get(options: { otp: { transport: string[] }; signal: AbortSignal }): Promise<{ code?: string }>
}

export class WebOtpController implements ReactiveController {
  private pending: AbortController | undefined

  constructor(
    host: ReactiveControllerHost,
    private readonly onCode: (code: string) => void,
  ) {
    host.addController(this)
  }

  start(): void {
    this.stop()
    const credentials = navigator.credentials as unknown as OtpCredentials | undefined
    if (!('OTPCredential' in window) || !credentials) return
    const controller = new AbortController()
    this.pending = controller
    credentials
      .get({ otp: { transport: ['sms'] }, signal: controller.signal })
      .then((credential) => {
        if (!controller.signal.aborted && credential?.code) this.onCode(credential.code)
      })
      .catch(() => {
        // Aborted, refused or unsupported: the shopper types the code.
      })
  }

  stop(): void {
    this.pending?.abort()
    this.pending = undefined
  }

  hostDisconnected(): void {
    this.stop()
  }
}
