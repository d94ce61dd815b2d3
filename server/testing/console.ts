/**
 * Console test helpers: operators with known TOTP secrets, logged in through the real API.
 * @module
 */
import { completeSetup, createOperator } from '../src/operators'
import { newTotpSecret, totpCode } from '../src/operators/totp'
import type { OperatorRole } from '../src/storage'
import type { Harness } from './harness'

export const CONSOLE_ORIGIN = 'http://textgate.test'
export const GOOD_PASSWORD = 'correct horse battery staple 42'

export interface TestOperator {
  id: string
  email: string
  secret: Uint8Array
}

export async function makeOperator(
  h: Harness,
  email: string,
  role: OperatorRole,
  projectId: string,
): Promise<TestOperator> {
  const { operator, setupToken } = await createOperator(h.db, {
    email,
    grants: [{ projectId, role }],
    now: h.now(),
  })
  const secret = newTotpSecret()
  await completeSetup(
    h.db,
    h.secrets.encryptionKey,
    {
      token: setupToken,
      password: GOOD_PASSWORD,
      totpSecret: secret,
      totpCode: totpCode(secret, h.now()),
    },
    h.now(),
  )
  return { id: operator.id, email: operator.email, secret }
}

export interface ConsoleClient {
  cookie: string
  csrf: string
  call(
    method: string,
    path: string,
    init?: { body?: unknown; headers?: Record<string, string> },
    // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON bodies
  ): Promise<{ status: number; json: any; headers: Headers; text: string }>
}

function cookieOf(response: Response): string | undefined {
  const set = response.headers.get('Set-Cookie')
  return set?.split(';')[0]
}

/** A raw console API request as the page would send it (same origin, JSON). */
export async function consoleRequest(
  h: Harness,
  method: string,
  path: string,
  {
    cookie,
    csrf,
    body,
    headers = {},
  }: { cookie?: string; csrf?: string; body?: unknown; headers?: Record<string, string> } = {},
) {
  h.advance(1)
  const response = await h.app.request(`${CONSOLE_ORIGIN}/console/api${path}`, {
    method,
    headers: {
      ...(method === 'GET' ? {} : { Origin: CONSOLE_ORIGIN }),
      ...(cookie ? { Cookie: cookie } : {}),
      ...(csrf ? { 'X-CSRF-Token': csrf } : {}),
      ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await response.text()
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON bodies
  let json: any
  try {
    json = text ? JSON.parse(text) : undefined
  } catch {
    json = undefined
  }
  return {
    status: response.status,
    json,
    headers: response.headers,
    text,
    cookie: cookieOf(response),
  }
}

/** Logs in with the password and the current TOTP code (moving the clock to a fresh step). */
export async function login(
  h: Harness,
  operator: TestOperator,
  headers: Record<string, string> = {},
): Promise<ConsoleClient> {
  const first = await consoleRequest(h, 'POST', '/login', {
    body: { email: operator.email, password: GOOD_PASSWORD },
    headers,
  })
  if (first.status !== 200 || !first.cookie)
    throw new Error(`password step: ${first.status} ${first.text}`)
  // Each TOTP step is accepted once: move to the next one.
  h.advance(30_000)
  const second = await consoleRequest(h, 'POST', '/login/totp', {
    cookie: first.cookie,
    csrf: first.json.csrfToken,
    body: { code: totpCode(operator.secret, h.now()) },
    headers,
  })
  if (second.status !== 200 || !second.cookie)
    throw new Error(`totp step: ${second.status} ${second.text}`)
  const cookie = second.cookie
  const csrf = second.json.csrfToken as string
  return {
    cookie,
    csrf,
    call: (method, path, init = {}) =>
      consoleRequest(h, method, path, {
        cookie,
        csrf,
        body: init.body,
        headers: { ...headers, ...init.headers },
      }),
  }
}
