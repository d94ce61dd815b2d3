/**
 * Serves the built widget (`widget/dist/widget.js`) with ETag and pre-compressed bodies.
 * The file is re-read when it changes on disk, so a rebuild needs no restart.
 * @module
 */
import { createHash } from 'node:crypto'
import { readFileSync, statSync } from 'node:fs'
import { brotliCompressSync, gzipSync } from 'node:zlib'
import type { Context } from 'hono'
import { ApiError } from './errors'

interface Loaded {
  mtimeMs: number
  etag: string
  raw: Buffer
  gzip: Buffer
  brotli: Buffer
}

export function widgetFile(path: string) {
  let loaded: Loaded | undefined

  function load(): Loaded | undefined {
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

  return function serveWidget(c: Context): Response {
    const file = load()
    if (!file) {
      throw new ApiError('not_found', {}, { message: 'widget.js is not built: run `pnpm build`' })
    }
    // A module script from another origin needs CORS; the file is public.
    c.header('Access-Control-Allow-Origin', '*')
    c.header('Cache-Control', 'public, max-age=300')
    c.header('ETag', file.etag)
    c.header('Vary', 'Accept-Encoding')
    c.header('Content-Type', 'text/javascript; charset=utf-8')
    if (c.req.header('If-None-Match') === file.etag) return c.body(null, 304)
    const accepted = c.req.header('Accept-Encoding') ?? ''
    const [encoding, body] = /\bbr\b/.test(accepted)
      ? ['br', file.brotli]
      : /\bgzip\b/.test(accepted)
        ? ['gzip', file.gzip]
        : [undefined, file.raw]
    if (encoding) c.header('Content-Encoding', encoding)
    return c.body(new Uint8Array(body))
  }
}
