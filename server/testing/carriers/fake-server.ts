/**
 * A tiny node:http server on 127.0.0.1 for carrier fakes: it reads the whole body, lets the
 * fake answer, can leave a request hanging (to test timeouts), and closes every socket on close.
 * Test-only.
 * @module
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { FakeFailure } from '../carrier-conformance.case'

export interface FakeRequest {
  method: string
  /** Path and query. */
  url: string
  headers: IncomingMessage['headers']
  body: string
}

export interface FakeAnswer {
  status: number
  body?: unknown
  headers?: Record<string, string>
}

export interface FakeServer {
  baseUrl: string
  failNext(failure: FakeFailure): void
  close(): Promise<void>
}

/**
 * Starts a server; `handle` answers each request, `failure` turns a pending failure into the
 * carrier's own error answer (hangs are handled here).
 */
export async function startFakeServer(
  handle: (request: FakeRequest) => FakeAnswer,
  failure: (failure: Exclude<FakeFailure, { kind: 'hang' }>) => FakeAnswer,
): Promise<FakeServer> {
  let pending: FakeFailure | undefined
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const request: FakeRequest = {
        method: req.method ?? 'GET',
        url: req.url ?? '/',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      }
      const now = pending
      pending = undefined
      if (now?.kind === 'hang') return // never answers; the client must give up
      let answer: FakeAnswer
      try {
        answer = now ? failure(now) : handle(request)
      } catch (error) {
        answer = { status: 500, body: { fakeError: String(error) } }
      }
      const payload =
        answer.body === undefined
          ? ''
          : typeof answer.body === 'string'
            ? answer.body
            : JSON.stringify(answer.body)
      res.writeHead(answer.status, {
        'Content-Type': 'application/json; charset=utf-8',
        ...answer.headers,
      })
      res.end(payload)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    failNext(failure) {
      pending = failure
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

/** Reads HTTP Basic credentials, or undefined. */
export function basicCredentials(header: string | undefined): [string, string] | undefined {
  const match = /^Basic\s+(.+)$/i.exec(header ?? '')
  if (!match?.[1]) return undefined
  const decoded = Buffer.from(match[1], 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  return colon < 0 ? undefined : [decoded.slice(0, colon), decoded.slice(colon + 1)]
}

/** China Standard Time (UTC+8) as "YYYY-MM-DD HH:mm:ss", the way Alibaba and Tencent write it. */
export function chinaTime(ms: number): string {
  return new Date(ms + 8 * 3_600_000).toISOString().slice(0, 19).replace('T', ' ')
}
