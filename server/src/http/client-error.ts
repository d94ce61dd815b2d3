/**
 * Requests Node's HTTP parser refuses before any route sees them (a request line or headers over
 * `--max-http-header-size`, broken framing, a request that never finished arriving) get the
 * contract's JSON error too. Node's own answer to them is a bare status line with no body.
 * @module
 */
import type { Server, ServerOptions } from 'node:http'
import type { Duplex } from 'node:stream'
import { ERRORS, type ErrorCode } from '@textgate/shared'

function codeOf(error: NodeJS.ErrnoException): ErrorCode {
  if (error.code === 'HPE_HEADER_OVERFLOW') return 'headers_too_large'
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') return 'request_timeout'
  return 'malformed_request'
}

/** The `clientError` listener: answers with a JSON error and closes the connection. */
export function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  // A connection the client closed or reset has no one to answer, and one whose answer to an
  // earlier request is already under way cannot take another in the middle (Node's own
  // handler makes both checks).
  const answering = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage
  if (error.code === 'ECONNRESET' || !socket.writable || answering?.headersSent) {
    socket.destroy()
    return
  }
  const code = codeOf(error)
  const { status, message } = ERRORS[code]
  const body = JSON.stringify({ error: { code, message } })
  socket.end(
    `HTTP/1.1 ${status} ${reasonOf(status)}\r\n` +
      'Content-Type: application/json\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      'Cache-Control: no-store\r\n' +
      'X-Content-Type-Options: nosniff\r\n' +
      'Connection: close\r\n\r\n' +
      body,
  )
}

function reasonOf(status: number): string {
  if (status === 431) return 'Request Header Fields Too Large'
  if (status === 408) return 'Request Timeout'
  return 'Bad Request'
}

/** Replaces Node's bare answers to unparseable requests with JSON errors on `server`. */
export function jsonClientErrors(server: Server): void {
  server.on('clientError', answerClientError)
}

/** How long a whole request (headers and body) may take to arrive: bodies here are ≤ 16 KiB. */
export const REQUEST_TIMEOUT_MS = 30_000
/** How long its headers may take. */
const HEADERS_TIMEOUT_MS = 15_000

/**
 * The listener's timeouts for requests that arrive slowly. Node's defaults let a request take
 * 300 s to arrive and check every 30 s, so a client sending a body a byte at a time (or not at
 * all) held a connection, and a file descriptor, for five minutes: a thousand such connections
 * cost almost nothing to open and use up a process's default limit of open files. A request
 * over its time gets `408 request_timeout` (see {@link answerClientError}).
 * @example
 * serve({ fetch: app.fetch, port, serverOptions: requestTimeouts() })
 */
export function requestTimeouts(requestTimeoutMs = REQUEST_TIMEOUT_MS): ServerOptions {
  return {
    requestTimeout: requestTimeoutMs,
    headersTimeout: Math.min(HEADERS_TIMEOUT_MS, requestTimeoutMs),
    connectionsCheckingInterval: Math.max(250, Math.min(5_000, requestTimeoutMs / 4)),
  }
}
