/**
 * The packages a store installs, as a store would get them: `scripts/pack.mjs` packs each with
 * `npm pack`, and plain npm installs the tarballs into a fresh project outside the workspace.
 * There the packed server runs as `npx textgate serve` (SQLite in a temporary folder, sandbox
 * carrier), a Node store server built on @textgate/store verifies a real token, redeems it and
 * verifies a real webhook, @textgate/store runs with web globals alone and on Bun and Deno
 * (from their npm packages), and a vite build imports the widget.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createContext, runInContext } from 'node:vm'
import { build } from 'esbuild'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type CreatedProject,
  freePort,
  ROOT,
  TEST_SECRET,
  tempDir,
  verifyThroughApi,
} from '../support/processes'

interface Packed {
  name: string
  file: string
  packedBytes: number
  unpackedBytes: number
}

const project = tempDir('tg-packages-')
const dir = project.path
const runtimes = join(dir, 'runtimes')
const children: ChildProcess[] = []
let packed: Packed[] = []

function run(command: string, args: string[], env: Record<string, string> = {}, cwd = dir) {
  const result = spawnSync(command, args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 8 * 60_000,
  })
  if (result.status !== 0) {
    throw new Error(
      `${command} ${args.join(' ')}: ${result.status}\n${result.stdout}${result.stderr}`,
    )
  }
  return result.stdout
}

/** Starts a long-running process in the project and waits until `url` answers 200. */
async function start(command: string, args: string[], env: Record<string, string>, url: string) {
  const child = spawn(command, args, {
    cwd: dir,
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    // A process group of its own: `npx` does not pass SIGTERM on to the server it started, so
    // the group is signalled, or every run leaves a `textgate serve` behind.
    detached: true,
  })
  children.push(child)
  let log = ''
  child.stdout?.on('data', (chunk) => {
    log += chunk
  })
  child.stderr?.on('data', (chunk) => {
    log += chunk
  })
  const deadline = Date.now() + 60_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${command} ${args.join(' ')} exited:\n${log}`)
    if (
      await fetch(url).then(
        (r) => r.ok,
        () => false,
      )
    )
      return { child, log: () => log }
    if (Date.now() > deadline)
      throw new Error(`${command} ${args.join(' ')} never answered:\n${log}`)
    await new Promise((r) => setTimeout(r, 200))
  }
}

/**
 * better-sqlite3 compiles itself on install where no prebuilt binary can be downloaded (as here),
 * which takes minutes on a busy machine and is its own business, not the packages'. When the
 * workspace holds the same version, its binary is put in place instead; otherwise it is built.
 */
function provideSqliteBinary() {
  const installed = join(dir, 'node_modules/better-sqlite3')
  const binary = 'build/Release/better_sqlite3.node'
  if (existsSync(join(installed, binary))) return
  const pnpmStore = join(ROOT, 'node_modules/.pnpm')
  const version = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')).version
  const ours = join(pnpmStore, `better-sqlite3@${version}/node_modules/better-sqlite3`, binary)
  if (existsSync(ours)) {
    cpSync(ours, join(installed, binary))
  } else {
    run('npm', ['rebuild', 'better-sqlite3', '--foreground-scripts'])
  }
}

beforeAll(async () => {
  const out = spawnSync(process.execPath, [join(ROOT, 'scripts/pack.mjs'), '--json'], {
    encoding: 'utf8',
    timeout: 8 * 60_000,
  })
  if (out.status !== 0) throw new Error(`scripts/pack.mjs failed:\n${out.stdout}${out.stderr}`)
  packed = JSON.parse(out.stdout)
  for (const p of packed) {
    console.log(
      `${p.name}: ${(p.packedBytes / 1024).toFixed(1)} kB packed, ${(p.unpackedBytes / 1024).toFixed(1)} kB unpacked`,
    )
  }
  const vite = JSON.parse(readFileSync(join(ROOT, 'widget/package.json'), 'utf8')).devDependencies
    .vite
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({ name: 'a-store', private: true, type: 'module' }),
  )
  run('npm', [
    'install',
    '--prefer-offline',
    '--no-audit',
    '--no-fund',
    '--loglevel=error',
    // better-sqlite3 is given its binary below; no other install script is needed.
    '--ignore-scripts',
    ...packed.map((p) => p.file),
    `vite@${vite}`,
  ])
  provideSqliteBinary()
  // Bun and Deno in a folder of their own (installed here, before any server runs: a blocking
  // install must not hold this process while it keeps connections to a server open). npm 11
  // runs a dependency's install script only when the project allows it.
  mkdirSync(runtimes)
  writeFileSync(
    join(runtimes, 'package.json'),
    JSON.stringify({ private: true, allowScripts: { bun: true, deno: true } }),
  )
  run(
    'npm',
    ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', ...RUNTIMES],
    {},
    runtimes,
  )
}, 20 * 60_000)

/** Whether any process of the group `pid` leads is still running. */
function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0)
    return true
  } catch {
    return false
  }
}

afterAll(async () => {
  for (const child of children) {
    if (child.exitCode === null && child.pid !== undefined) {
      const exited = new Promise((r) => child.once('exit', r))
      process.kill(-child.pid, 'SIGTERM')
      await exited
      // …and the server under it has ended too (it finishes its requests first).
      for (let i = 0; i < 100 && groupAlive(child.pid); i++) {
        await new Promise((r) => setTimeout(r, 100))
      }
    }
  }
  project.remove()
})

describe('installed packages (npm pack, plain npm)', () => {
  it('packs @textgate/widget, @textgate/store and @textgate/server', () => {
    expect(packed.map((p) => p.name).sort()).toEqual([
      '@textgate/server',
      '@textgate/store',
      '@textgate/widget',
    ])
    const widget = join(dir, 'node_modules/@textgate/widget')
    const manifest = JSON.parse(readFileSync(join(widget, 'package.json'), 'utf8'))
    expect(manifest.customElements).toBe('custom-elements.json')
    const elements = JSON.parse(readFileSync(join(widget, 'custom-elements.json'), 'utf8'))
    expect(JSON.stringify(elements)).toContain('"tagName":"textgate-verify"')
    expect(readFileSync(join(widget, 'dist/module/index.d.ts'), 'utf8')).toContain(
      "'textgate-verify': TextgateVerify",
    )
    // The widget bundles Lit (script-tag build) and libphonenumber-js (both builds): their
    // licences ship beside each entry, which names them in its banner.
    const scriptNotices = readFileSync(join(widget, 'dist/widget.licenses.txt'), 'utf8')
    expect(scriptNotices).toContain('Redistribution and use in source and binary forms')
    expect(scriptNotices).toContain('Permission is hereby granted, free of charge')
    expect(scriptNotices).toContain('Apache License')
    const widgetJs = readFileSync(join(widget, 'dist/widget.js'), 'utf8')
    expect(widgetJs).toMatch(
      /^\/\*! Textgate widget\. Bundles .*lit.*libphonenumber-js.*\.\/widget\.licenses\.txt \*\//,
    )
    // A production build, though this test runs pack.mjs with NODE_ENV=test: Lit's development
    // build (its "dev mode" warnings, 13 kB more) must not ship.
    expect(widgetJs).not.toContain('dev mode')
    const moduleNotices = readFileSync(join(widget, 'dist/module/widget.licenses.txt'), 'utf8')
    expect(moduleNotices).toContain('Permission is hereby granted, free of charge')
    expect(readFileSync(join(widget, 'dist/module/index.js'), 'utf8')).toMatch(/^\/\*! Textgate/)
    // No manifest may point at the workspace.
    for (const name of ['widget', 'store', 'server']) {
      const text = readFileSync(join(dir, `node_modules/@textgate/${name}/package.json`), 'utf8')
      expect(text).not.toContain('workspace:')
    }
    // The server bundles (patched) libphonenumber-js instead of depending on it: its licences
    // come along.
    const server = join(dir, 'node_modules/@textgate/server')
    const serverManifest = JSON.parse(readFileSync(join(server, 'package.json'), 'utf8'))
    expect(Object.keys(serverManifest.dependencies)).not.toContain('libphonenumber-js')
    const notices = join(server, 'lib/cli/third-party/libphonenumber-js')
    expect(readFileSync(join(notices, 'LICENSE'), 'utf8')).toMatch(/MIT|Permission is hereby/)
    expect(existsSync(join(notices, 'LICENSE.Apache'))).toBe(true)
  })

  describe('a store server on the packed server', () => {
    let textgateUrl = ''
    let storeUrl = ''
    let keys: CreatedProject
    let serverLog: () => string = () => ''
    let webhookSecret = ''
    /**
     * The one real token of these tests: verifying offline does not consume it, and more
     * verifications from one address without the widget's signals would meet the fraud guard.
     */
    let token = ''

    // Made in beforeAll, not while collecting: a failed install must leave no folder behind.
    let data: ReturnType<typeof tempDir> | undefined
    afterAll(() => data?.remove())

    beforeAll(async () => {
      data = tempDir('tg-packages-data-')
      const port = await freePort()
      textgateUrl = `http://127.0.0.1:${port}`
      const env = {
        PORT: String(port),
        PUBLIC_URL: textgateUrl,
        TEXTGATE_SECRET: TEST_SECRET,
        TEXTGATE_DATA_DIR: data.path,
        DATABASE_URL: `sqlite:${data.path}/textgate.db`,
        NODE_ENV: 'test',
      }
      // `npx --no-install`: the package's own bin, never one fetched from the registry.
      const created = run(
        'npx',
        [
          '--no-install',
          'textgate',
          'projects',
          'create',
          '--name',
          'Shop',
          '--origin',
          'https://shop.example',
          '--json',
        ],
        env,
      )
      keys = JSON.parse(created)
      serverLog = (
        await start('npx', ['--no-install', 'textgate', 'serve'], env, `${textgateUrl}/readyz`)
      ).log

      const storePort = await freePort()
      storeUrl = `http://127.0.0.1:${storePort}`
      const endpoint = await fetch(`${textgateUrl}/v1/webhooks/endpoints`, {
        method: 'POST',
        headers: { authorization: `Bearer ${keys.secretKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ url: `${storeUrl}/webhooks`, events: ['verification.approved'] }),
      })
      expect(endpoint.status).toBe(201)
      webhookSecret = ((await endpoint.json()) as { secret: string }).secret
      writeFileSync(join(dir, 'store-server.mjs'), STORE_SERVER)
      await start(
        process.execPath,
        ['store-server.mjs'],
        {
          STORE_PORT: String(storePort),
          TEXTGATE_URL: textgateUrl,
          TEXTGATE_PROJECT_ID: keys.projectId,
          TEXTGATE_SECRET_KEY: keys.secretKey,
          TEXTGATE_WEBHOOK_SECRET: webhookSecret,
        },
        `${storeUrl}/events`,
      )
    }, 120_000)

    it('serves the widget, the console and the API reference from the package', async () => {
      const widget = await fetch(`${textgateUrl}/widget.js`)
      expect(widget.status).toBe(200)
      expect(await widget.text()).toContain('textgate-verify')
      const licenses = await fetch(`${textgateUrl}/widget.licenses.txt`)
      expect(licenses.status).toBe(200)
      expect(licenses.headers.get('Content-Type')).toBe('text/plain; charset=utf-8')
      expect(await licenses.text()).toContain('Redistribution and use in source and binary forms')
      expect((await fetch(`${textgateUrl}/console/`)).status).toBe(200)
      // The console's and the API reference's bundles carry their licences too.
      const consoleLicenses = await fetch(`${textgateUrl}/console/assets/console.licenses.txt`)
      expect(consoleLicenses.status).toBe(200)
      expect(await consoleLicenses.text()).toContain('uplot')
      expect((await fetch(`${textgateUrl}/docs`)).status).toBe(200)
      expect(await (await fetch(`${textgateUrl}/docs/LICENSE`)).text()).toContain('Apache License')
    })

    it('verifies a real token, redeems it once, and verifies the webhook it caused', async () => {
      token = await verifyThroughApi(textgateUrl, keys, '+447400123321')
      const register = () =>
        fetch(`${storeUrl}/register`, { method: 'POST', body: token }).then((r) => r.json())
      const first = await register()
      expect(first).toMatchObject({ phone: '+447400123321', redeemed: { valid: true } })
      expect(await register()).toMatchObject({
        redeemed: { valid: false, reason: 'already_redeemed' },
      })

      const deadline = Date.now() + 30_000
      let events: { id: string; type: string; verificationId: string }[] = []
      while (!events.some((e) => e.verificationId === first.verificationId)) {
        if (Date.now() > deadline) throw new Error('no verified webhook reached the store')
        await new Promise((r) => setTimeout(r, 200))
        events = await fetch(`${storeUrl}/events`).then((r) => r.json())
      }
      expect(events[0]).toMatchObject({ type: 'verification.approved' })
      expect(events[0]?.id).toMatch(/^msg_/)

      // The verifier can refuse: a forged request is turned away.
      const forged = await fetch(`${storeUrl}/webhooks`, {
        method: 'POST',
        headers: {
          'webhook-id': 'msg_forged',
          'webhook-timestamp': String(Math.floor(Date.now() / 1000)),
          'webhook-signature': `v1,${btoa('x'.repeat(32))}`,
        },
        body: '{"type":"verification.approved"}',
      })
      expect(forged.status).toBe(400)
      expect(await forged.text()).toBe('invalid_signature')
    })

    it('runs @textgate/store with web globals only (no node: modules, no require)', async () => {
      const entry = join(dir, 'node_modules/@textgate/store/dist/index.js')
      // Bundled with its dependencies (jose, valibot) as an edge runtime's bundler would.
      const bundled = await build({
        entryPoints: [entry],
        bundle: true,
        write: false,
        format: 'iife',
        globalName: 'textgateStore',
        platform: 'neutral',
        mainFields: ['module', 'main'],
        conditions: ['worker', 'browser'],
        absWorkingDir: dir,
      })
      const code = bundled.outputFiles[0]?.text ?? ''
      expect(code).not.toMatch(/["']node:|\brequire\(/)

      // A fresh realm whose only globals are web ones: no process, Buffer, require or module.
      const context = createContext({
        fetch,
        crypto,
        Request,
        Response,
        Headers,
        URL,
        TextEncoder,
        TextDecoder,
        AbortController,
        AbortSignal,
        atob,
        btoa,
        setTimeout,
        clearTimeout,
        structuredClone,
      })
      runInContext(code, context)
      const verify = runInContext(
        `textgateStore.verifyPhoneToken(${JSON.stringify(token)}, { issuer: ${JSON.stringify(textgateUrl)}, audience: ${JSON.stringify(keys.projectId)}, allowTestMode: true }).then((c) => c.phone_number)`,
        context,
      )
      expect(await verify).toBe('+447400123321')
      expect(runInContext('typeof process + typeof require + typeof Buffer', context)).toBe(
        'undefinedundefinedundefined',
      )
    })
    it('runs @textgate/store on Bun and Deno (each installed from npm)', async () => {
      // The raw body and headers of the last webhook the store server accepted.
      const webhook = await fetch(`${storeUrl}/last-webhook`).then((r) => r.json())
      expect(webhook.headers['webhook-id']).toMatch(/^msg_/)
      writeFileSync(
        join(dir, 'runtime-input.json'),
        JSON.stringify({
          token,
          issuer: textgateUrl,
          audience: keys.projectId,
          secret: webhookSecret,
          webhook,
        }),
      )
      writeFileSync(join(dir, 'runtime-check.mjs'), RUNTIME_CHECK)
      const bin = (name: string) => join(runtimes, 'node_modules/.bin', name)
      for (const [runtime, args] of [
        [bin('bun'), ['run', 'runtime-check.mjs']],
        [bin('deno'), ['run', '--allow-net=127.0.0.1', '--allow-read=.', 'runtime-check.mjs']],
      ] as const) {
        const out = JSON.parse(run(runtime, [...args]))
        expect(out, runtime).toEqual({
          phone: '+447400123321',
          webhookId: webhook.headers['webhook-id'],
          refused: 'invalid_signature',
          runtime: runtime.endsWith('bun') ? 'bun' : 'deno',
        })
      }
    }, 300_000)

    it('runs the SQLite writer and checkpoint threads from the package (neither failed)', () => {
      // The bundle starts each thread from its file beside it: a file left out of the package
      // shows here as a failed thread, its writes back on the serving thread.
      expect(serverLog()).not.toMatch(/thread (failed|did not start)/)
    })
  })

  it('builds a page that imports the widget with vite', () => {
    writeFileSync(
      join(dir, 'index.html'),
      '<form><textgate-verify name="phone_token" publishable-key="pk_test_x"></textgate-verify></form><script type="module" src="./main.js"></script>',
    )
    writeFileSync(
      join(dir, 'main.js'),
      "import { TextgateVerify } from '@textgate/widget'\nconsole.log(customElements.get('textgate-verify') === TextgateVerify)\n",
    )
    run('npx', ['--no-install', 'vite', 'build', '--logLevel', 'error'])
    const assets = join(dir, 'dist/assets')
    const entry = readdirSync(assets).find((f) => /^index-.*\.js$/.test(f))
    expect(entry).toBeDefined()
    const js = readFileSync(join(assets, entry!), 'utf8')
    expect(js).toContain('textgate-verify')
    // lit came from the store's node_modules (a dependency), not an unresolved import.
    expect(js).not.toMatch(/from\s*["']lit["']/)
    expect(js).toContain('LitElement')
  })
})

/** The store's server: plain Node, @textgate/store only. */
const STORE_SERVER = `
import { createServer } from 'node:http'
import { createRedeemClient, PhoneTokenError, verifyPhoneToken, verifyWebhook, WebhookVerificationError } from '@textgate/store'

const env = process.env
const textgate = createRedeemClient({ url: env.TEXTGATE_URL, secretKey: env.TEXTGATE_SECRET_KEY })
const events = []
let lastWebhook = null

async function text(req) {
  let body = ''
  for await (const chunk of req) body += chunk
  return body
}
function send(res, status, body) {
  res.writeHead(status, { 'content-type': typeof body === 'string' ? 'text/plain' : 'application/json' })
  res.end(typeof body === 'string' ? body : JSON.stringify(body))
}

createServer(async (req, res) => {
  try {
    if (req.method === 'POST' && req.url === '/register') {
      const token = await text(req)
      const claims = await verifyPhoneToken(token, {
        issuer: env.TEXTGATE_URL,
        audience: env.TEXTGATE_PROJECT_ID,
        allowTestMode: true,
      })
      const redeemed = await textgate.redeem(token)
      return send(res, 200, { phone: claims.phone_number, verificationId: claims.sub, redeemed })
    }
    if (req.method === 'POST' && req.url === '/webhooks') {
      const body = await text(req)
      const { id, event } = await verifyWebhook(body, req.headers, env.TEXTGATE_WEBHOOK_SECRET)
      events.push({ id, type: event.type, verificationId: event.data.verificationId })
      const headers = {}
      for (const name of ['webhook-id', 'webhook-timestamp', 'webhook-signature']) headers[name] = req.headers[name]
      lastWebhook = { body, headers }
      return send(res, 204, '')
    }
    if (req.url === '/events') return send(res, 200, events)
    if (req.url === '/last-webhook') return send(res, 200, lastWebhook)
    send(res, 404, 'not found')
  } catch (error) {
    if (error instanceof PhoneTokenError || error instanceof WebhookVerificationError) {
      return send(res, 400, error.code)
    }
    send(res, 500, String(error))
  }
}).listen(Number(env.STORE_PORT), '127.0.0.1')
`

/** Bun and Deno, from their npm packages (each ships its binary in a platform package). */
const RUNTIMES = ['bun@1.4.5', 'deno@2.9.6']

/** Run by Bun and by Deno in the store's project: the installed @textgate/store, nothing else. */
const RUNTIME_CHECK = `
import { verifyPhoneToken, verifyWebhook } from '@textgate/store'
import input from './runtime-input.json' with { type: 'json' }

const claims = await verifyPhoneToken(input.token, {
  issuer: input.issuer,
  audience: input.audience,
  allowTestMode: true,
})
const { body, headers } = input.webhook
const webhook = await verifyWebhook(body, new Headers(headers), input.secret)
const refused = await verifyWebhook(body + ' ', headers, input.secret).then(
  () => 'accepted',
  (error) => error.code,
)
const runtime = globalThis.Deno ? 'deno' : globalThis.Bun ? 'bun' : 'other'
console.log(JSON.stringify({ phone: claims.phone_number, webhookId: webhook.id, refused, runtime }))
`
