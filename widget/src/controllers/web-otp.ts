/**
 * WebOTP: while the code step waits, the browser may offer the code from an SMS ending in
 * `@host #code`; the shopper taps it and `onCode` receives it. Stops when the shopper types or the
 * step ends; it waits only while the element is on the page, and again once it is put back.
 * @module
 */
import type { ReactiveController, ReactiveControllerHost } from 'lit'

interface OtpCredentials {
  get(options: { otp: { transport: string[] }; signal: AbortSignal }): Promise<{ code?: string }>
}

export class WebOtpController implements ReactiveController {
  private pending: AbortController | undefined
  /** Started and not stopped, nor answered, whether or not the host is on the page. */
  private waiting = false

  constructor(
    private readonly host: ReactiveControllerHost & { isConnected?: boolean },
    private readonly onCode: (code: string) => void,
  ) {
    host.addController(this)
  }

  start(): void {
    this.stop()
    this.waiting = true
    this.request()
  }

  stop(): void {
    this.waiting = false
    this.abort()
  }

  hostConnected(): void {
    if (this.waiting && !this.pending) this.request()
  }

  hostDisconnected(): void {
    this.abort()
  }

  private request(): void {
    if (this.host.isConnected === false) return
    const credentials = navigator.credentials as unknown as OtpCredentials | undefined
    if (!('OTPCredential' in window) || !credentials) return
    const controller = new AbortController()
    this.pending = controller
    const answered = () => {
      const current = this.pending === controller
      if (current) this.pending = undefined
      if (current) this.waiting = false
      return current
    }
    credentials
      .get({ otp: { transport: ['sms'] }, signal: controller.signal })
      .then((credential) => {
        if (answered() && credential?.code) this.onCode(credential.code)
      })
      .catch(() => {
        // Aborted, refused or unsupported: the shopper types the code.
        answered()
      })
  }

  private abort(): void {
    this.pending?.abort()
    this.pending = undefined
  }
}
