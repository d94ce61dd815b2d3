/**
 * The console API client: JSON, same origin, the session's anti-CSRF token on every change,
 * and one error type with the server's code.
 * @module
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message)
  }
}

let csrf = ''

export function setCsrf(token: string): void {
  csrf = token
}

/** Fired on the window when the session ended (401): the app shows the login page. */
export const SESSION_ENDED = 'tg-session-ended'

export async function api<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
  let response: Response
  try {
    response = await fetch(`/console/api${path}`, {
      method,
      credentials: 'same-origin',
      headers: {
        Accept: 'application/json',
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        ...(method === 'GET' ? {} : { 'X-CSRF-Token': csrf }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
  } catch {
    throw new ApiError(0, 'network', 'The server could not be reached.')
  }
  const text = await response.text()
  let json: unknown
  try {
    json = text ? JSON.parse(text) : undefined
  } catch {
    json = text
  }
  if (!response.ok) {
    const error = ((json as { error?: Record<string, unknown> } | undefined)?.error ?? {}) as {
      code?: string
      message?: string
      issues?: unknown
    }
    if (response.status === 401 && !path.startsWith('/login') && !path.startsWith('/setup')) {
      window.dispatchEvent(new CustomEvent(SESSION_ENDED))
    }
    // The message is already the first issue's when the server had none of its own.
    const more = Array.isArray(error.issues)
      ? (error.issues as { path: string; message: string }[]).filter(
          (issue) => issue.message !== error.message,
        )
      : []
    const issues = more.length
      ? `: ${more
          .map((issue) =>
            // Most messages name their field already ("codeLength must be at least 4").
            issue.message.startsWith(`${issue.path} `)
              ? issue.message
              : `${issue.path} ${issue.message}`,
          )
          .join('; ')}`
      : ''
    throw new ApiError(
      response.status,
      error.code ?? 'error',
      `${error.message ?? response.statusText}${issues}`,
      error,
    )
  }
  return json as T
}
