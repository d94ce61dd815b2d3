/// <reference types="mocha" />
import { fixture, waitUntil } from '@open-wc/testing'
import 'axe-core'
import type { AxeResults, RunOptions } from 'axe-core'
import '../src/index'
import type { TextgateVerify } from '../src/textgate-verify'

export interface Call {
  url: string
  method: string
  headers: Headers
  body: unknown
  referrerPolicy: string | undefined
}

export type Reply =
  | {
      status: number
      body: unknown
      headers?: Record<string, string>
      /** The reply waits for this, as a slow server would. */
      after?: Promise<unknown>
    }
  | 'network-error'

// No test reaches the network: the widget's server is https://verify.example, and any call to it
// that a test did not script fails like an unreachable server.
const networkFetch = window.fetch
window.fetch = (input: RequestInfo | URL, init?: RequestInit) =>
  new URL(String(input), location.href).origin === 'https://verify.example'
    ? Promise.reject(new TypeError('Failed to fetch'))
    : networkFetch(input, init)

/**
 * Replaces fetch with a scripted server; each call takes the next reply for its path.
 * The widget asks `GET /v1/config` once on connect: unless scripted, that call fails as a
 * network error would and is not recorded (the widget then works without it).
 */
export function fakeServer(routes: Record<string, Reply[]>) {
  const calls: Call[] = []
  const original = window.fetch
  window.fetch = async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = String(input)
    const path = new URL(url).pathname.replace(/ver_[a-z0-9]+/, ':id')
    if (path === '/v1/config' && !routes[path]) throw new TypeError('Failed to fetch')
    calls.push({
      url,
      method: init?.method ?? 'GET',
      headers: new Headers(init?.headers),
      body: init?.body ? JSON.parse(String(init.body)) : undefined,
      referrerPolicy: init?.referrerPolicy,
    })
    const reply = routes[path]?.shift()
    if (!reply) throw new Error(`unexpected ${path}`)
    if (reply === 'network-error') throw new TypeError('Failed to fetch')
    await reply.after
    return new Response(JSON.stringify(reply.body), {
      status: reply.status,
      headers: { 'Content-Type': 'application/json', ...reply.headers },
    })
  }
  return { calls, restore: () => (window.fetch = original) }
}

export const started = (resendInMs = 30_000) => ({
  status: 201,
  body: {
    id: 'ver_abc',
    status: 'pending',
    to: '+44 ••••••••23',
    expiresAt: new Date(Date.now() + 600_000).toISOString(),
    resendAfter: new Date(Date.now() + resendInMs).toISOString(),
    attemptsLeft: 5,
    codeLength: 6,
  },
})

/** A resend's answer: the next one allowed in `resendInMs`. */
export const resent = (resendInMs = 60_000, attemptsLeft = 5) => ({
  status: 200,
  body: {
    resendAfter: new Date(Date.now() + resendInMs).toISOString(),
    expiresAt: new Date(Date.now() + 600_000).toISOString(),
    attemptsLeft,
  },
})

export const config = (body: Record<string, unknown> = {}) => ({
  status: 200,
  body: { country: null, allowedCountries: null, codeLength: 6, brand: 'Shop', ...body },
})

export const approved = {
  status: 200,
  body: { id: 'ver_abc', status: 'approved', token: 'tok.en.value' },
}

export const refusal = (status: number, code: string, extra: Record<string, unknown> = {}) => ({
  status,
  body: { error: { code, message: 'x', ...extra } },
})

/** The element of a part, in the widget's shadow tree or its country picker's. */
export const part = <T extends HTMLElement>(el: HTMLElement, name: string) =>
  deepQuery<T>(el.shadowRoot!, `[part~="${name}"]`)!

function deepQuery<T extends Element>(root: ShadowRoot, selector: string): T | null {
  const found = root.querySelector<T>(selector)
  if (found) return found
  for (const host of root.querySelectorAll('*')) {
    const inner = host.shadowRoot && deepQuery<T>(host.shadowRoot, selector)
    if (inner) return inner
  }
  return null
}

/** The focused element, inside the widget's shadow trees. */
export function focused(el: HTMLElement): Element | null {
  let active = el.shadowRoot!.activeElement
  while (active?.shadowRoot?.activeElement) active = active.shadowRoot.activeElement
  return active
}

/** The country picker's shadow root. */
export const pickerRoot = (el: HTMLElement) =>
  el.shadowRoot!.querySelector('textgate-country-picker')!.shadowRoot!

/** Sets the value one character at a time, with the caret at the end (no real keyboard). */
export function type(input: HTMLInputElement, text: string) {
  for (const ch of text) {
    input.value += ch
    input.setSelectionRange(input.value.length, input.value.length)
    input.dispatchEvent(
      new InputEvent('input', { inputType: 'insertText', data: ch, bubbles: true }),
    )
  }
}

/** A real paste-like insertion at the caret: the browser applies it and fires `input`. */
export function insertText(input: HTMLInputElement, text: string) {
  input.focus()
  document.execCommand('insertText', false, text)
}

export async function fillPhone(el: TextgateVerify, phone: string, consent = true) {
  const input = part<HTMLInputElement>(el, 'phone-input')
  insertText(input, phone)
  if (consent) part<HTMLInputElement>(el, 'consent-checkbox').click()
  await el.updateComplete
}

export async function mount(attrs = 'default-country="GB"') {
  const form = await fixture<HTMLFormElement>(
    `<form><input id="before" aria-label="Name"><textgate-verify publishable-key="pk_test_x" server="https://verify.example" name="phone_token" required ${attrs}></textgate-verify><button>Register</button></form>`,
  )
  const el = form.querySelector('textgate-verify')!
  await el.updateComplete
  return { form, el }
}

export async function reachCodeStep(el: TextgateVerify, phone = '07400 123123') {
  await fillPhone(el, phone)
  part<HTMLButtonElement>(el, 'submit-button').click()
  await waitUntil(() => part(el, 'code-input'), 'code step never showed')
  await el.updateComplete
}

const axe = () => (window as unknown as { axe: typeof import('axe-core') }).axe

/** axe-core on the element (its shadow tree included); resolves with the violations. */
export async function axeViolations(el: Element, options: RunOptions = {}) {
  const results: AxeResults = await axe().run(el, options)
  return results.violations.map(
    (v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`,
  )
}
