/**
 * The console's built page (server/console/dist): index.html for every console path (the page
 * routes in the browser), its hashed assets with a long cache, and beside them the licence texts
 * of the third-party code its script bundles (assets/console.licenses.txt, written by the build
 * and named by the banner atop the script), which must go with every copy served.
 * @module
 */
import { existsSync, readFileSync } from 'node:fs'
import { extname, join, normalize } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Context } from 'hono'

export const DEFAULT_CONSOLE_DIR = fileURLToPath(new URL('../../console/dist', import.meta.url))

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.webmanifest': 'application/manifest+json',
  '.txt': 'text/plain; charset=utf-8',
}

/**
 * The notices file the console's build writes beside its script (server/console/vite.config.ts).
 * Its name carries no hash, so it is revalidated instead of cached for a year.
 */
const CONSOLE_LICENSES = 'console.licenses.txt'

export function consolePage(dir: string) {
  let cached: string | undefined
  return function consolePage(c: Context) {
    const file = join(dir, 'index.html')
    if (!existsSync(file)) {
      return c.text('The console is not built: run `pnpm --filter @textgate/console build`.', 503)
    }
    cached ??= readFileSync(file, 'utf8')
    c.header('Cache-Control', 'no-cache')
    return c.html(cached)
  }
}

export function consoleAsset(dir: string) {
  const root = join(dir, 'assets')
  return function consoleAsset(c: Context) {
    const name = c.req.param('name') ?? ''
    const path = normalize(join(root, name))
    const type = TYPES[extname(name)]
    if (!/^[\w.-]+$/.test(name) || !path.startsWith(root) || !type || !existsSync(path)) {
      return c.notFound()
    }
    c.header('Content-Type', type)
    c.header(
      'Cache-Control',
      name === CONSOLE_LICENSES ? 'no-cache' : 'public, max-age=31536000, immutable',
    )
    return c.body(readFileSync(path))
  }
}
