/**
 * Serves the built widget (`widget/dist/widget.js`), the chunks it imports lazily
 * (`widget/dist/chunks/*.js`: other languages, each country's phone metadata) and the licences of
 * the third-party code inside them (`widget/dist/widget.licenses.txt`, named by widget.js's
 * banner) with ETag and pre-compressed bodies. A file is re-read when it changes on disk, so a
 * rebuild needs no restart.
 * @module
 */
import { createHash } from 'node:crypto'
import { readFileSync, statSync } from 'node:fs'
import { basename, join } from 'node:path'
import { brotliCompressSync, gzipSync } from 'node:zlib'
import type { Context } from 'hono'
import { ApiError } from '../http/errors'

interface Loaded {
  mtimeMs: number
  etag: string
  raw: Buffer
  gzip: Buffer
  brotli: Buffer
}

function fileLoader(path: string) {
  let loaded: Loaded | undefined

  return function load(): Loaded | undefined {
    let mtimeMs: number
    try {
      mtimeMs = statSync(path).mtimeMs
    } catch {
      return undefined
    }
    if (loaded?.mtimeMs === mtimeMs) return loaded
    const raw = readFileSync(path)
    loaded = {
      mtimeMs,
      etag: `"${createHash('sha256').update(raw).digest('base64url').slice(0, 27)}"`,
      raw,
      gzip: gzipSync(raw, { level: 9 }),
      brotli: brotliCompressSync(raw),
    }
    return loaded
  }
}

/**
 * Whether `If-None-Match` names `etag` (RFC 9110 §13.1.2): `*`, or a list of tags compared
 * weakly, so `W/"…"` matches too. A proxy that compresses the file itself (nginx with gzip on)
 * weakens the ETag it passes on, and browsers then send that form back.
 */
function noneMatchHits(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false
  if (header.trim() === '*') return true
  return header.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag)
}

/**
 * The content codings `Accept-Encoding` accepts (RFC 9110 §12.5.3): names in lower case, without
 * those it refuses with `q=0`.
 */
function acceptedEncodings(header: string | undefined): Set<string> {
  const accepted = new Set<string>()
  for (const item of (header ?? '').split(',')) {
    const [name = '', ...params] = item.split(';').map((part) => part.trim().toLowerCase())
    const q = params.find((param) => param.startsWith('q='))
    if (name && !(q !== undefined && Number(q.slice(2)) === 0)) accepted.add(name)
  }
  return accepted
}

function send(
  c: Context,
  file: Loaded,
  cacheControl: string,
  contentType = 'text/javascript; charset=utf-8',
): Response {
  // A module script from another origin needs CORS; the file is public, and stores load it
  // from their own pages (also those sending Cross-Origin-Embedder-Policy).
  c.header('Access-Control-Allow-Origin', '*')
  c.header('Cross-Origin-Resource-Policy', 'cross-origin')
  c.header('X-Content-Type-Options', 'nosniff')
  c.header('Cache-Control', cacheControl)
  c.header('ETag', file.etag)
  c.header('Vary', 'Accept-Encoding')
  c.header('Content-Type', contentType)
  if (noneMatchHits(c.req.header('If-None-Match'), file.etag)) return c.body(null, 304)
  const accepted = acceptedEncodings(c.req.header('Accept-Encoding'))
  const [encoding, body] = accepted.has('br')
    ? ['br', file.brotli]
    : accepted.has('gzip') || accepted.has('x-gzip')
      ? ['gzip', file.gzip]
      : [undefined, file.raw]
  if (encoding) c.header('Content-Encoding', encoding)
  return c.body(new Uint8Array(body))
}

/**
 * A file the widget's build writes under a name that never changes: cached for a short while,
 * `not_found` until built.
 */
function builtFile(path: string, contentType?: string) {
  const load = fileLoader(path)
  const name = basename(path)
  return function serveBuilt(c: Context): Response {
    const file = load()
    if (!file) {
      throw new ApiError('not_found', {}, { message: `${name} is not built: run \`pnpm build\`` })
    }
    return send(c, file, 'public, max-age=300', contentType)
  }
}

/** `GET /widget.js`: short-lived cache, the URL never changes. */
export const widgetFile = (path: string) => builtFile(path)

/**
 * `GET /widget.licenses.txt`: the licence texts of the packages widget.js and its chunks bundle
 * (Lit, libphonenumber-js), written beside widget.js by its build. The banner at the top of
 * widget.js points here; cached as widget.js is, since they change together.
 */
export const widgetLicenses = (widgetPath: string) =>
  builtFile(join(widgetPath, '..', 'widget.licenses.txt'), 'text/plain; charset=utf-8')

/** Chunk names as Vite writes them: `<name>-<hash>.js`; nothing else is served. */
const CHUNK_NAME = /^[\w.-]+-[\w-]{6,}\.js$/

/**
 * `GET /chunks/:name`: the widget's lazy chunks, from `<dir of widget.js>/chunks`. Their names
 * carry a hash of their content (the phone metadata chunks share one, of all the metadata), so
 * they are cached for a year.
 */
export function widgetChunks(widgetPath: string) {
  const dir = join(widgetPath, '..', 'chunks')
  const loaders = new Map<string, () => Loaded | undefined>()
  return function serveChunk(c: Context): Response {
    const name = c.req.param('name') ?? ''
    if (!CHUNK_NAME.test(name) || name.includes('..')) throw new ApiError('not_found')
    let load = loaders.get(name)
    if (!load) {
      load = fileLoader(join(dir, name))
      if (!load()) throw new ApiError('not_found')
      loaders.set(name, load)
    }
    const file = load()
    if (!file) throw new ApiError('not_found')
    return send(c, file, 'public, max-age=31536000, immutable')
  }
}
