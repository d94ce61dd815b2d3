/**
 * A webhook receiver on loopback for tests: it verifies every request with the
 * `standardwebhooks` package (the reference implementation a store would use), records what it
 * got, and can be told to answer with an error for a while.
 * @module
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Webhook } from 'standardwebhooks'

export interface Received {
  id: string
  timestamp: string
  signature: string
  body: string
  /** The parsed `{ type, timestamp, data }`. */
  event: { type: string; timestamp: string; data: Record<string, unknown> }
  /** Whether the id was seen before (a retry after a lost answer, or a replay). */
  duplicate: boolean
}

export interface Receiver {
  url: string
  received: Received[]
  /** Requests whose signature did not verify with any secret given. */
  rejected: { id: string | undefined; reason: string }[]
  /** Secrets the receiver accepts (current and, during a rotation, the previous one). */
  secrets: string[]
  /** Status to answer while not 2xx (e.g. 503 for "down"); default 204. */
  status: number
  /** Headers sent with an answer that is not 2xx (e.g. `retry-after`). */
  errorHeaders: Record<string, string>
  /** Every request that arrived, answered with an error or not. */
  requests: number
  /** Wait before answering, ms. */
  delayMs: number
  close(): Promise<void>
}

export async function startReceiver(secrets: string[] = []): Promise<Receiver> {
  const seen = new Set<string>()
  const receiver: Omit<Receiver, 'url' | 'close'> = {
    received: [],
    rejected: [],
    secrets,
    status: 204,
    errorHeaders: {},
    requests: 0,
    delayMs: 0,
  }
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8')
      const headers = {
        'webhook-id': String(request.headers['webhook-id'] ?? ''),
        'webhook-timestamp': String(request.headers['webhook-timestamp'] ?? ''),
        'webhook-signature': String(request.headers['webhook-signature'] ?? ''),
      }
      receiver.requests++
      const answer = () => {
        if (receiver.status >= 300) {
          response.writeHead(receiver.status, receiver.errorHeaders).end()
          return
        }
        let verified = false
        let reason = 'no secret'
        for (const secret of receiver.secrets) {
          try {
            new Webhook(secret).verify(body, headers)
            verified = true
            break
          } catch (error) {
            reason = (error as Error).message
          }
        }
        if (!verified) {
          receiver.rejected.push({ id: headers['webhook-id'], reason })
          response.writeHead(400).end()
          return
        }
        const id = headers['webhook-id']
        receiver.received.push({
          id,
          timestamp: headers['webhook-timestamp'],
          signature: headers['webhook-signature'],
          body,
          event: JSON.parse(body) as Received['event'],
          duplicate: seen.has(id),
        })
        seen.add(id)
        response.writeHead(receiver.status).end()
      }
      if (receiver.delayMs > 0) setTimeout(answer, receiver.delayMs)
      else answer()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return Object.assign(receiver, {
    url: `http://127.0.0.1:${port}/hooks`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }) as Receiver
}
