/**
 * The benchmark's open-loop HTTP/1.1 client: requests sent at the moments they are due, each on
 * a free keep-alive connection (a new one when every connection has a request out), never two on
 * one connection at once, as browsers and autocannon send them.
 *
 * It writes each request as one prepared buffer and reads answers with a parser that knows only
 * what it needs (the status code, then `content-length` or chunked framing), as autocannon does.
 * node:http's client, which the paced rows used before, took 3.8-4.0 s of CPU for 16,500 requests
 * at 1,500 a second to the bare route (0.23 ms a request, startup included); this one took
 * 2.4-2.8 s, on the same two cores as the server it measures.
 * @module
 */
import { connect, type Socket } from 'node:net'

/** One request as it goes out: its bytes, and where its latency counts from. */
export interface PacedRequest {
  bytes: Buffer
  /** performance.now() the latency runs from (when it was due, or sent if later). */
  from: number
}

export interface Answer {
  status: number
  /** performance.now() when the answer's last byte was read. */
  at: number
}

/** A request's bytes: `POST path HTTP/1.1` with its headers and a JSON body. */
export function requestBytes(
  host: string,
  path: string,
  headers: Record<string, string>,
  body: string,
): Buffer {
  const bodyBytes = Buffer.from(body)
  let head = `POST ${path} HTTP/1.1\r\nhost: ${host}\r\ncontent-length: ${bodyBytes.length}\r\n`
  for (const [name, value] of Object.entries(headers)) {
    if (/[\r\n]/.test(name) || /[\r\n]/.test(value)) throw new Error(`bad header ${name}`)
    head += `${name}: ${value}\r\n`
  }
  return Buffer.concat([Buffer.from(`${head}\r\n`), bodyBytes])
}

const HEADER_END = Buffer.from('\r\n\r\n')

/**
 * Reads HTTP/1.1 answers off one connection, one at a time: `push` each chunk read; it calls
 * `onAnswer` for every whole answer (status code, and whether the server keeps the connection
 * open). A malformed answer throws.
 */
export class AnswerParser {
  private buffered: Buffer = Buffer.alloc(0)
  /** The answer being read: its status, keep-alive, and the body framing still to come. */
  private status = 0
  private keepAlive = true
  /** Body bytes still to come (content-length), or -1 while reading chunks, or -2 for headers. */
  private remaining = -2
  /** While reading chunks: the bytes left of the current chunk, including its CRLF. */
  private chunkLeft = 0
  private lastChunk = false

  constructor(private readonly onAnswer: (status: number, keepAlive: boolean) => void) {}

  push(chunk: Buffer): void {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk])
    for (;;) {
      if (this.remaining === -2) {
        const end = this.buffered.indexOf(HEADER_END)
        if (end < 0) return
        const bodyLength = this.readHead(this.buffered.toString('latin1', 0, end))
        this.buffered = this.buffered.subarray(end + 4)
        if (bodyLength === 0) this.finish()
        continue
      }
      if (this.remaining > 0) {
        if (this.buffered.length < this.remaining) {
          this.remaining -= this.buffered.length
          this.buffered = Buffer.alloc(0)
          return
        }
        this.buffered = this.buffered.subarray(this.remaining)
        this.finish()
        continue
      }
      // Chunked: a size line, that many bytes and CRLF; a size of 0, trailers, then a blank line.
      if (!this.readChunks()) return
    }
  }

  /** Reads an answer's head; returns its body's length (-1: chunked). */
  private readHead(head: string): number {
    const lines = head.split('\r\n')
    const statusLine = /^HTTP\/1\.([01]) (\d{3})/.exec(lines[0] ?? '')
    if (!statusLine) throw new Error(`not an HTTP answer: ${JSON.stringify(lines[0])}`)
    this.status = Number(statusLine[2])
    this.keepAlive = statusLine[1] === '1'
    let length: number | undefined
    let chunked = false
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':')
      const name = line.slice(0, colon).trim().toLowerCase()
      const value = line
        .slice(colon + 1)
        .trim()
        .toLowerCase()
      if (name === 'content-length') length = Number(value)
      else if (name === 'transfer-encoding') chunked = value.split(',').at(-1)?.trim() === 'chunked'
      else if (name === 'connection')
        this.keepAlive = value.includes('close')
          ? false
          : value.includes('keep-alive') || this.keepAlive
    }
    if (chunked) {
      this.remaining = -1
      this.chunkLeft = 0
      this.lastChunk = false
    } else if (length !== undefined && Number.isSafeInteger(length) && length >= 0) {
      this.remaining = length
    } else if (this.status === 204 || this.status === 304 || this.status < 200) {
      this.remaining = 0
    } else {
      throw new Error(`an answer with neither content-length nor chunked framing (${this.status})`)
    }
    return this.remaining
  }

  /** Reads what it can of a chunked body; true once the answer is whole. */
  private readChunks(): boolean {
    for (;;) {
      if (this.chunkLeft > 0) {
        const take = Math.min(this.chunkLeft, this.buffered.length)
        this.buffered = this.buffered.subarray(take)
        this.chunkLeft -= take
        if (this.chunkLeft > 0) return false
        continue
      }
      const lineEnd = this.buffered.indexOf('\r\n')
      if (lineEnd < 0) return false
      const line = this.buffered.toString('latin1', 0, lineEnd)
      this.buffered = this.buffered.subarray(lineEnd + 2)
      if (this.lastChunk) {
        // Trailer lines until the blank one that ends the answer.
        if (line === '') {
          this.finish()
          return true
        }
        continue
      }
      const size = Number.parseInt(line.split(';')[0] ?? '', 16)
      if (!Number.isSafeInteger(size) || size < 0) throw new Error(`bad chunk size ${line}`)
      if (size === 0) this.lastChunk = true
      else this.chunkLeft = size + 2
    }
  }

  private finish() {
    this.remaining = -2
    this.onAnswer(this.status, this.keepAlive)
  }
}

interface Connection {
  socket: Socket
  /** The request out on it, if any. */
  out: PacedRequest | undefined
  /** The callback of the request out. */
  done: ((answer: Answer | Error) => void) | undefined
  /** Ends the connection with an error once the request out has waited `timeoutMs`. */
  timer: NodeJS.Timeout | undefined
}

/**
 * Keep-alive connections to one server. `send` puts a request on a free connection (opening one
 * when none is free, up to `maxConnections`, then queueing) and calls back with its answer, or
 * with an error when the connection fails or no answer came within `timeoutMs` (10 s, as
 * autocannon's default).
 */
export class ConnectionPool {
  private readonly free: Connection[] = []
  private readonly queued: [PacedRequest, (answer: Answer | Error) => void][] = []
  private open = 0
  private closed = false

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly maxConnections = 256,
    private readonly timeoutMs = 10_000,
  ) {}

  send(request: PacedRequest, done: (answer: Answer | Error) => void): void {
    const connection =
      this.free.pop() ?? (this.open < this.maxConnections ? this.connect() : undefined)
    if (connection) this.put(connection, request, done)
    else this.queued.push([request, done])
  }

  close(): void {
    this.closed = true
    for (const connection of this.free) connection.socket.destroy()
    this.free.length = 0
  }

  private put(connection: Connection, request: PacedRequest, done: Connection['done']) {
    connection.out = request
    connection.done = done
    const { socket } = connection
    connection.timer = setTimeout(
      () => socket.destroy(new Error(`no answer within ${this.timeoutMs} ms`)),
      this.timeoutMs,
    )
    socket.write(request.bytes)
  }

  private connect(): Connection {
    this.open++
    const socket = connect({ host: this.host, port: this.port, noDelay: true })
    const connection: Connection = { socket, out: undefined, done: undefined, timer: undefined }
    const fail = (error: Error) => {
      clearTimeout(connection.timer)
      const { done } = connection
      connection.out = undefined
      connection.done = undefined
      done?.(error)
    }
    const parser = new AnswerParser((status, keepAlive) => {
      clearTimeout(connection.timer)
      const { done } = connection
      connection.out = undefined
      connection.done = undefined
      if (!keepAlive) {
        socket.destroy()
      } else {
        const next = this.queued.shift()
        if (next) this.put(connection, next[0], next[1])
        else if (this.closed) socket.destroy()
        else this.free.push(connection)
      }
      done?.({ status, at: performance.now() })
    })
    socket.on('data', (chunk: Buffer) => {
      try {
        parser.push(chunk)
      } catch (error) {
        socket.destroy(error as Error)
      }
    })
    socket.on('error', fail)
    socket.on('close', () => {
      this.open--
      const at = this.free.indexOf(connection)
      if (at >= 0) this.free.splice(at, 1)
      if (connection.done) fail(new Error('the connection closed before the answer'))
      const next = this.closed ? undefined : this.queued.shift()
      if (next) this.send(next[0], next[1])
    })
    return connection
  }
}
