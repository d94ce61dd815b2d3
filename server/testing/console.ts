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
  /** The browser's device cookie (`name=value`), set once both factors passed. */
  deviceCookie: string
  csrf: string
  call(
    method: string,
    path: string,
    init?: { body?: unknown; headers?: Record<string, string> },
    // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON bodies
  ): Promise<{ status: number; json: any; headers: Headers; text: string }>
}

/** The `name=value` of the cookie whose name ends in `suffix`, as the response set it. */
function cookieOf(response: Response, suffix: string): string | undefined {
  return response.headers
    .getSetCookie()
    .map((set) => set.split(';')[0] as string)
    .find((pair) => pair.split('=')[0]?.endsWith(suffix))
}

/**
 * A raw console API request as the page would send it (same origin, JSON). `cookie` and
 * `deviceCookie` are `name=value` pairs as answers give them.
 */
export async function consoleRequest(
  h: Harness,
  method: string,
  path: string,
  {
    cookie,
    deviceCookie,
    csrf,
    body,
    headers = {},
  }: {
    cookie?: string | undefined
    deviceCookie?: string | undefined
    csrf?: string
    body?: unknown
    headers?: Record<string, string>
  } = {},
) {
  h.advance(1)
  const cookies = [cookie, deviceCookie].filter(Boolean).join('; ')
  const response = await h.app.request(`${CONSOLE_ORIGIN}/console/api${path}`, {
    method,
    headers: {
      ...(method === 'GET' ? {} : { Origin: CONSOLE_ORIGIN }),
      ...(cookies ? { Cookie: cookies } : {}),
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
    cookie: cookieOf(response, 'textgate_console'),
    deviceCookie: cookieOf(response, 'textgate_device'),
  }
}

/**
 * Logs in with the password and the current TOTP code (moving the clock to a fresh step), from a
 * browser with `deviceCookie` if given (one the operator signed in on before).
 */
export async function login(
  h: Harness,
  operator: TestOperator,
  headers: Record<string, string> = {},
  deviceCookie?: string,
): Promise<ConsoleClient> {
  const first = await consoleRequest(h, 'POST', '/login', {
    body: { email: operator.email, password: GOOD_PASSWORD },
    headers,
    deviceCookie,
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
    deviceCookie,
  })
  if (second.status !== 200 || !second.cookie || !second.deviceCookie)
    throw new Error(`totp step: ${second.status} ${second.text}`)
  const cookie = second.cookie
  const csrf = second.json.csrfToken as string
  return {
    cookie,
    deviceCookie: second.deviceCookie,
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
