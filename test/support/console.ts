/**
 * Driving the operator console in Chromium: operators from the CLI, setup through the API or
 * the page, TOTP codes computed here from the secret the setup page shows, axe in the page.
 * @module
 */

import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { decodeBase32IgnorePadding } from '@oslojs/encoding'
import { generateHOTP } from '@oslojs/otp'
import type { Page } from 'playwright-core'
import { cliAsync, type Env } from './processes'

export const CONSOLE_PASSWORD = 'a long console passphrase 2026'

const axeSource = readFileSync(
  createRequire(import.meta.url).resolve('axe-core/axe.min.js'),
  'utf8',
)

/** The code for the TOTP step this many steps from now (the server accepts -1, 0 and +1). */
export function nextTotp(secretBase32: string, offsetSteps = 1): string {
  const step = Math.floor(Date.now() / 30_000) + offsetSteps
  lastStep.set(secretBase32, Math.max(step, lastStep.get(secretBase32) ?? 0))
  return generateHOTP(decodeBase32IgnorePadding(secretBase32), BigInt(step), 6)
}

const lastStep = new Map<string, number>()

/**
 * A code the server has not taken yet: each step is accepted once, and the server takes one
 * step of drift either way, so up to three logins fit in 30 seconds; past that, wait.
 */
export async function freshTotp(secretBase32: string): Promise<string> {
  for (;;) {
    const current = Math.floor(Date.now() / 30_000)
    const last = lastStep.get(secretBase32) ?? -Infinity
    const step = [current - 1, current, current + 1].find((s) => s > last)
    if (step !== undefined) return nextTotp(secretBase32, step - current)
    await new Promise((r) => setTimeout(r, (current + 1) * 30_000 - Date.now() + 50))
  }
}

export async function createOperatorCli(env: Env, email: string, role: string, projectId?: string) {
  const result = await cliAsync(
    [
      'operators',
      'create',
      '--email',
      email,
      '--role',
      role,
      ...(projectId ? ['--project', projectId] : []),
      '--json',
    ],
    env,
  )
  if (result.status !== 0) throw new Error(`operators create failed: ${result.stderr}`)
  return JSON.parse(result.stdout) as { operatorId: string; setupUrl: string; email: string }
}

/** Completes a setup link through the API (as the setup page does); returns the TOTP secret. */
export async function setUpThroughApi(baseUrl: string, setupUrl: string): Promise<string> {
  const token = new URL(setupUrl).hash.replace('#token=', '')
  const headers = { 'Content-Type': 'application/json', Origin: baseUrl }
  const described = await fetch(`${baseUrl}/console/api/setup/describe`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ token }),
  })
  const { totpSecret } = (await described.json()) as { totpSecret: string }
  const done = await fetch(`${baseUrl}/console/api/setup`, {
    method: 'POST',
    headers,
    body: JSON.stringify({
      token,
      password: CONSOLE_PASSWORD,
      totpSecret,
      code: nextTotp(totpSecret, 0),
    }),
  })
  if (!done.ok) throw new Error(`setup failed: ${await done.text()}`)
  return totpSecret
}

/** Logs in through the page, with the keyboard only. */
export async function loginWithKeyboard(
  page: Page,
  baseUrl: string,
  email: string,
  secret: string,
) {
  await page.goto(`${baseUrl}/console/`)
  await page.locator('#email').waitFor()
  await page.locator('#email').focus()
  await page.keyboard.type(email)
  await page.keyboard.press('Tab')
  await page.keyboard.type(CONSOLE_PASSWORD)
  await page.keyboard.press('Enter')
  await page.locator('#totp').waitFor()
  await page.keyboard.type(await freshTotp(secret))
  await page.keyboard.press('Enter')
  await page.locator('nav#nav').waitFor({ state: 'attached' })
}

/** A code that is certainly wrong now (it belongs to a step far away). */
export function wrongTotp(secretBase32: string): string {
  const step = Math.floor(Date.now() / 30_000) + 50
  return generateHOTP(decodeBase32IgnorePadding(secretBase32), BigInt(step), 6)
}

export interface AxeViolation {
  id: string
  impact: string
  help: string
  nodes: { target: unknown[] }[]
}

export async function axeViolations(page: Page): Promise<AxeViolation[]> {
  await page.evaluate(axeSource)
  return page.evaluate(async () => {
    const axe = (
      window as unknown as {
        axe: { run(context: unknown, options: unknown): Promise<{ violations: AxeViolation[] }> }
      }
    ).axe
    const result = await axe.run(document, { resultTypes: ['violations'] })
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n) => ({ target: n.target })),
    }))
  })
}

/** Records CSP violations and script errors from the page's first moment. */
export async function watchPage(page: Page) {
  const errors: string[] = []
  page.on('pageerror', (error) => errors.push(`page error: ${error.message}`))
  page.on('console', (message) => {
    if (message.type() === 'error' && !/status of 4\d\d/.test(message.text()))
      errors.push(`console: ${message.text()}`)
  })
  await page.addInitScript(() => {
    const seen: string[] = []
    ;(window as unknown as { cspViolations: string[] }).cspViolations = seen
    document.addEventListener('securitypolicyviolation', (event) => {
      seen.push(`${event.effectiveDirective} blocked ${event.blockedURI || 'inline'}`)
    })
  })
  return {
    errors,
    violations: () =>
      page.evaluate(() => (window as unknown as { cspViolations: string[] }).cspViolations),
  }
}

/** A console API call from inside the page, with its session cookie and CSRF token. */
export function apiFromPage(page: Page, method: string, path: string, body?: unknown) {
  return page.evaluate(
    async ({ method, path, body }) => {
      const session = await fetch('/console/api/session').then((r) => r.json())
      const response = await fetch(`/console/api${path}`, {
        method,
        headers: {
          'X-CSRF-Token': session.csrfToken ?? '',
          ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      })
      return response.status
    },
    { method, path, body },
  )
}
