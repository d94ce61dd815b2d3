/**
 * `/openapi.json` (generated once per process) and `/docs`, Swagger UI served from this server
 * (swagger-ui-dist, no CDN) under a strict CSP of its own: scripts, styles and requests from
 * 'self' only, nothing inline. Serving swagger-ui-dist's files redistributes them, and its
 * Apache License 2.0 (§4) asks that a copy of the licence and its NOTICE go with them: both are
 * served from the installed package at /docs/LICENSE and /docs/NOTICE, which the page names.
 * The script and stylesheet are sent as the package ships them, with their own licence comments;
 * the script's first line points to the licences of what it bundles, the
 * swagger-ui-bundle.js.LICENSE.txt beside it, served there too.
 * @module
 */
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { Hono } from 'hono'
import { buildOpenApiDocument } from './document'

export const DOCS_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Textgate API reference</title>
<link rel="stylesheet" href="/docs/swagger-ui.css">
<link rel="icon" type="image/png" href="/docs/favicon-32x32.png">
</head>
<body>
<!-- Swagger UI (swagger-ui-dist), Apache License 2.0: /docs/LICENSE, /docs/NOTICE -->
<div id="swagger-ui"></div>
<footer class="swagger-ui"><p class="wrapper">Rendered by Swagger UI (Apache License 2.0): <a href="/docs/LICENSE">LICENSE</a>, <a href="/docs/NOTICE">NOTICE</a>, and the <a href="/docs/swagger-ui-bundle.js.LICENSE.txt">licences of what its script bundles</a>.</p></footer>
<script src="/docs/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script>
</body>
</html>
`

const INIT = `window.ui = SwaggerUIBundle({
  url: '/openapi.json',
  dom_id: '#swagger-ui',
  deepLinking: true,
  tryItOutEnabled: false,
  validatorUrl: null,
});
`

/** Files of the installed swagger-ui-dist, sent as they are. */
const ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
  LICENSE: 'text/plain; charset=utf-8',
  NOTICE: 'text/plain; charset=utf-8',
  'swagger-ui-bundle.js.LICENSE.txt': 'text/plain; charset=utf-8',
}

export function openApiRoutes({
  serverUrl,
  internalRoutes = () => [],
}: {
  serverUrl?: string | undefined
  /** Read when the document is first asked for, once every route is registered. */
  internalRoutes?: () => { method: string; path: string }[]
} = {}) {
  const routes = new Hono()
  let document: string | undefined
  const dist = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'))
  const cache = new Map<string, Buffer>()

  routes.get('/openapi.json', (c) => {
    document ??= JSON.stringify(
      buildOpenApiDocument({
        internalRoutes: internalRoutes(),
        ...(serverUrl ? { serverUrl } : {}),
      }),
    )
    c.header('Content-Type', 'application/json; charset=utf-8')
    c.header('Cache-Control', 'public, max-age=300')
    c.header('Access-Control-Allow-Origin', '*')
    return c.body(document)
  })
  routes.get('/docs', (c) => {
    c.header('Content-Security-Policy', DOCS_CSP)
    c.header('Cache-Control', 'no-cache')
    return c.html(PAGE)
  })
  routes.get('/docs/:file', (c) => {
    const file = c.req.param('file')
    c.header('Content-Security-Policy', DOCS_CSP)
    c.header('Cache-Control', 'public, max-age=86400')
    if (file === 'init.js') {
      c.header('Content-Type', 'text/javascript; charset=utf-8')
      return c.body(INIT)
    }
    const type = ASSETS[file]
    if (!type) return c.json({ error: { code: 'not_found', message: 'Not found.' } }, 404)
    let body = cache.get(file)
    if (!body) {
      body = readFileSync(join(dist, file))
      cache.set(file, body)
    }
    c.header('Content-Type', type)
    return c.body(new Uint8Array(body))
  })
  return routes
}
