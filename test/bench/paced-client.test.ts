import { createServer as createHttpServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createServer, type Server } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { type Answer, AnswerParser, ConnectionPool, requestBytes } from './paced-client'

const answersOf = (chunks: string[]) => {
  const answers: [number, boolean][] = []
  const parser = new AnswerParser((status, keepAlive) => answers.push([status, keepAlive]))
  for (const chunk of chunks) parser.push(Buffer.from(chunk, 'latin1'))
  return answers
}

describe('the paced client’s answer parser', () => {
  it('reads answers framed by content-length, whole or a byte at a time', () => {
    const two =
      'HTTP/1.1 201 Created\r\nContent-Length: 5\r\n\r\nhello' +
      'HTTP/1.1 429 Too Many Requests\r\ncontent-length: 2\r\nConnection: close\r\n\r\n{}'
    expect(answersOf([two])).toEqual([
      [201, true],
      [429, false],
    ])
    expect(answersOf([...two])).toEqual([
      [201, true],
      [429, false],
    ])
  })

  it('reads chunked answers, with chunk extensions and trailers, split anywhere', () => {
    const chunked =
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n' +
      '5;ext=1\r\nhello\r\n0a\r\n0123456789\r\n0\r\nX-Trailer: 1\r\n\r\n' +
      'HTTP/1.1 204 No Content\r\n\r\n'
    expect(answersOf([chunked])).toEqual([
      [200, true],
      [204, true],
    ])
    for (let at = 1; at < chunked.length; at += 7)
      expect(answersOf([chunked.slice(0, at), chunked.slice(at)])).toEqual([
        [200, true],
        [204, true],
      ])
  })

  it('takes HTTP/1.0 as closing unless it says keep-alive', () => {
    expect(
      answersOf([
        'HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n',
        'HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n',
      ]),
    ).toEqual([
      [200, false],
      [200, true],
    ])
  })

  it('refuses what is not an HTTP answer, or an answer it cannot frame', () => {
    expect(() => answersOf(['SSH-2.0-OpenSSH\r\n\r\n'])).toThrow(/not an HTTP answer/)
    expect(() => answersOf(['HTTP/1.1 200 OK\r\n\r\n'])).toThrow(/neither content-length/)
    expect(() =>
      answersOf(['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n']),
    ).toThrow(/bad chunk size/)
  })
})

describe('the paced client’s connections', () => {
  const servers: Server[] = []
  afterEach(async () => {
    for (const server of servers.splice(0))
      await new Promise((resolve) => server.close(() => resolve(undefined)))
  })
  const listen = async (server: Server) => {
    servers.push(server)
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    return (server.address() as AddressInfo).port
  }
  const sendAll = (pool: ConnectionPool, requests: Buffer[]) =>
    Promise.all(
      requests.map(
        (bytes) =>
          new Promise<Answer | Error>((resolve) =>
            pool.send({ bytes, from: performance.now() }, resolve),
          ),
      ),
    )

  it('sends one request at a time a connection, opening connections up to its bound', async () => {
    let open = 0
    let most = 0
    const seen: string[] = []
    const server = createHttpServer((req, res) => {
      let body = ''
      req.on('data', (chunk) => {
        body += chunk
      })
      req.on('end', () => {
        seen.push(`${req.url} ${req.headers['x-forwarded-for']} ${body}`)
        // Answers a while later, so requests overlap.
        setTimeout(() => {
          res.writeHead(201, { 'content-type': 'application/json' })
          res.end(JSON.stringify({ ok: true }))
        }, 20)
      })
    })
    server.on('connection', (socket) => {
      most = Math.max(most, ++open)
      socket.on('close', () => open--)
    })
    const port = await listen(server)
    const pool = new ConnectionPool('127.0.0.1', port, 3)
    const requests = Array.from({ length: 9 }, (_, i) =>
      requestBytes(
        `127.0.0.1:${port}`,
        `/v1/x${i}`,
        { 'x-forwarded-for': `10.0.0.${i}` },
        '{"a":1}',
      ),
    )
    const answers = await sendAll(pool, requests)
    pool.close()
    expect(answers.map((a) => (a instanceof Error ? a.message : a.status))).toEqual(
      Array(9).fill(201),
    )
    expect(most).toBe(3)
    expect(seen.sort()).toEqual(
      Array.from({ length: 9 }, (_, i) => `/v1/x${i} 10.0.0.${i} {"a":1}`).sort(),
    )
  })

  it('answers an error for a request whose connection closes before its answer', async () => {
    const server = createServer((socket) => socket.once('data', () => socket.destroy()))
    const port = await listen(server)
    const pool = new ConnectionPool('127.0.0.1', port)
    const [answer] = await sendAll(pool, [requestBytes('h', '/', {}, '{}')])
    pool.close()
    expect(answer).toBeInstanceOf(Error)
    expect((answer as Error).message).toMatch(/closed before the answer/)
  })

  it('answers an error for a request with no answer in time, and goes on with the next', async () => {
    let seen = 0
    const server = createHttpServer((req, res) => {
      req.resume()
      // The first request never gets an answer; the next ones do.
      if (seen++ > 0) req.on('end', () => res.end('{}'))
    })
    const port = await listen(server)
    const pool = new ConnectionPool('127.0.0.1', port, 1, 200)
    const started = performance.now()
    const answers = await sendAll(pool, [
      requestBytes('h', '/', {}, '{}'),
      requestBytes('h', '/', {}, '{}'),
    ])
    pool.close()
    expect((answers[0] as Error).message).toMatch(/no answer within 200 ms/)
    expect((answers[1] as Answer).status).toBe(200)
    expect(performance.now() - started).toBeGreaterThanOrEqual(190)
  })

  it('refuses a header that would split the request', () => {
    expect(() => requestBytes('h', '/', { 'x-a': 'b\r\nx-c: d' }, '')).toThrow(/bad header/)
  })
})
