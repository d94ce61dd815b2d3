/**
 * The demo store's own server: what a store developer writes to use Textgate.
 *
 * The registration form carries the widget's token as `phone_token`. The store checks it offline
 * with `verifyPhoneToken` (signature, issuer, audience, expiry), then redeems it once with its
 * secret key so a token cannot create two accounts, and only then stores the account, with the
 * token's id. The same form sent again (a double click, a reload that posts it again) is answered
 * as the first was, from the account that token made, rather than with the redeem's
 * `already_redeemed`.
 *
 * Run: `tsx demo/src/store-server.ts` (settings below), or `pnpm start` for everything at once.
 * @module
 */
import { readFileSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { serve } from '@hono/node-server'
import { isErrorBody } from '@textgate/shared/errors'
import {
  createRedeemClient,
  type PhoneTokenClaims,
  PhoneTokenError,
  type PhoneTokenErrorCode,
  type RedeemFailure,
  verifyPhoneToken,
} from '@textgate/store'
import Database from 'better-sqlite3'
import { Hono } from 'hono'
import { inboxPage, registerPage, STORE_CSS, STORE_JS, themesPage, welcomePage } from './pages'

export interface StoreOptions {
  /** Where this server reaches Textgate (server to server). */
  textgateUrl: string
  /** Textgate's PUBLIC_URL: the token issuer, and where browsers load `/widget.js`. */
  publicTextgateUrl?: string
  projectId: string
  publishableKey: string
  secretKey: string
  dbPath: string
}

interface Account {
  id: number
  name: string
  email: string
  phone: string
  phone_verified_at: string
  /** 1 when the shopper ticked the widget's optional marketing checkbox. */
  marketing_opt_in: number
  /** The `jti` of the phone token that made the account: a repeated form finds it. */
  phone_token_id: string | null
  created_at: string
}

/** What a registration came to: the account, or the message the form comes back with. */
type Outcome = { accountId: number } | { status: 422 | 503; message: string }

const FAVICON =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#1f6f5c"/></svg>'

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/

/** What the shopper reads for each reason a token is refused (offline, or by the redeem). */
const TOKEN_PROBLEMS = {
  invalid_token: 'Please verify your phone number before creating the account.',
  expired: 'Your phone verification has expired. Please verify the number again.',
  wrong_audience: 'That phone verification was not made for this store. Please verify again.',
  wrong_issuer: 'That phone verification was not made for this store. Please verify again.',
  unknown_key: 'We could not check your phone verification. Please verify again.',
  jwks_unreachable: 'We could not check your phone verification just now. Please try again.',
  already_redeemed: 'That phone verification was already used. Please verify the number again.',
  test_mode: 'That phone verification was made in test mode. Please verify again.',
  wrong_mode: 'That phone verification was made in test mode. Please verify again.',
  wrong_project: 'That phone verification was not made for this store. Please verify again.',
} satisfies Record<PhoneTokenErrorCode | RedeemFailure, string>

export function openAccounts(dbPath: string) {
  const db = new Database(dbPath)
  db.pragma('journal_mode = WAL')
  db.exec(`CREATE TABLE IF NOT EXISTS accounts (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    email TEXT NOT NULL,
    phone TEXT NOT NULL,
    phone_verified_at TEXT NOT NULL,
    created_at TEXT NOT NULL
  )`)
  // Stores created before the marketing opt-in get its column.
  const columns = db.prepare('PRAGMA table_info(accounts)').all() as { name: string }[]
  if (!columns.some((column) => column.name === 'marketing_opt_in')) {
    db.exec('ALTER TABLE accounts ADD COLUMN marketing_opt_in INTEGER NOT NULL DEFAULT 0')
  }
  // …and the token's id, one account per token (older accounts have none).
  if (!columns.some((column) => column.name === 'phone_token_id')) {
    db.exec('ALTER TABLE accounts ADD COLUMN phone_token_id TEXT')
  }
  db.exec('CREATE UNIQUE INDEX IF NOT EXISTS accounts_phone_token_id ON accounts (phone_token_id)')
  const insert = db.prepare(
    'INSERT INTO accounts (name, email, phone, phone_verified_at, marketing_opt_in, phone_token_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
  )
  const byId = db.prepare('SELECT * FROM accounts WHERE id = ?')
  const byToken = db.prepare('SELECT * FROM accounts WHERE phone_token_id = ?')
  return {
    create(account: Omit<Account, 'id' | 'created_at'>): number {
      const result = insert.run(
        account.name,
        account.email,
        account.phone,
        account.phone_verified_at,
        account.marketing_opt_in,
        account.phone_token_id,
        new Date().toISOString(),
      )
      return Number(result.lastInsertRowid)
    },
    find: (id: number) => byId.get(id) as Account | undefined,
    /** The account a phone token (by its `jti`) made, if any. */
    findByToken: (tokenId: string) => byToken.get(tokenId) as Account | undefined,
    close: () => db.close(),
  }
}

export function createStoreApp(options: StoreOptions) {
  const textgateUrl = options.textgateUrl.replace(/\/+$/, '')
  const publicUrl = (options.publicTextgateUrl ?? textgateUrl).replace(/\/+$/, '')
  const accounts = openAccounts(options.dbPath)
  const secret = { Authorization: `Bearer ${options.secretKey}` }
  const app = new Hono()
  const redeemer = createRedeemClient({
    url: textgateUrl,
    secretKey: options.secretKey,
    timeoutMs: 5_000,
  })

  /**
   * Registrations under way, by token id: the same form sent again while the first is still
   * being handled (a double click) waits for it and gets its outcome.
   */
  const underWay = new Map<string, Promise<Outcome>>()

  /** Runs `register` once per token; a repeat gets the outcome of the account it made. */
  function registerOnce(tokenId: string, register: () => Promise<Outcome>): Promise<Outcome> {
    const made = accounts.findByToken(tokenId)
    if (made) return Promise.resolve({ accountId: made.id })
    let running = underWay.get(tokenId)
    if (!running) {
      running = register().finally(() => underWay.delete(tokenId))
      underWay.set(tokenId, running)
    }
    return running
  }

  async function textgate(path: string, init: RequestInit = {}): Promise<Response> {
    return fetch(`${textgateUrl}${path}`, {
      ...init,
      headers: { ...secret, ...init.headers },
      signal: AbortSignal.timeout(5_000),
    })
  }

  async function testNumberHint(): Promise<string | undefined> {
    try {
      const response = await textgate('/v1/sandbox/numbers/random?country=GB')
      if (!response.ok) return undefined
      return ((await response.json()) as { phone: string }).phone
    } catch {
      return undefined
    }
  }

  async function page(values?: { name?: string; email?: string }, error?: string) {
    return registerPage({
      textgateUrl: publicUrl,
      publishableKey: options.publishableKey,
      values,
      error,
      testNumber: await testNumberHint(),
    })
  }

  app.use('*', async (c, next) => {
    await next()
    c.header('X-Content-Type-Options', 'nosniff')
    c.header('Referrer-Policy', 'same-origin')
    if (c.res.headers.get('Content-Type')?.startsWith('text/html')) {
      c.header(
        'Content-Security-Policy',
        `default-src 'self'; script-src 'self' ${publicUrl}; connect-src 'self' ${publicUrl}; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'`,
      )
    }
  })

  app.get('/', async (c) => c.html(await page()))

  app.get('/themes', (c) =>
    c.html(themesPage({ textgateUrl: publicUrl, publishableKey: options.publishableKey })),
  )

  app.get('/store.css', (c) => {
    c.header('Content-Type', 'text/css; charset=utf-8')
    c.header('Cache-Control', 'public, max-age=300')
    return c.body(STORE_CSS)
  })

  app.get('/store.js', (c) => {
    c.header('Content-Type', 'text/javascript; charset=utf-8')
    c.header('Cache-Control', 'public, max-age=300')
    return c.body(STORE_JS)
  })

  app.get('/favicon.ico', (c) => {
    c.header('Content-Type', 'image/svg+xml')
    c.header('Cache-Control', 'public, max-age=86400')
    return c.body(FAVICON)
  })

  app.get('/privacy', (c) =>
    c.text(
      'Northwind Outfitters keeps your phone number to secure your account and never sells it.',
    ),
  )

  app.post('/register', async (c) => {
    const form = await c.req.parseBody()
    const name = typeof form.name === 'string' ? form.name.trim() : ''
    const email = typeof form.email === 'string' ? form.email.trim() : ''
    const values = { name, email }
    if (name.length === 0 || name.length > 200) {
      return c.html(await page(values, 'Please enter your name.'), 422)
    }
    if (!EMAIL.test(email) || email.length > 320) {
      return c.html(await page(values, 'Please enter a valid email address.'), 422)
    }

    // 1. Offline check: signature against Textgate's JWKS, issuer, audience (this project), expiry.
    let claims: PhoneTokenClaims
    try {
      claims = await verifyPhoneToken(form.phone_token, {
        issuer: publicUrl,
        audience: options.projectId,
        // The demo runs on test keys and the sandbox: a real store leaves this off in production.
        allowTestMode: true,
        jwksUrl: `${textgateUrl}/.well-known/jwks.json`,
      })
    } catch (error) {
      const code = error instanceof PhoneTokenError ? error.code : 'invalid_token'
      return c.html(await page(values, TOKEN_PROBLEMS[code]), 422)
    }
    // The widget adds `phone_token_marketing=yes` beside the token when the shopper opted in.
    const marketing = form.phone_token_marketing === 'yes' ? 1 : 0

    // 2. One use only: redeem the token so a replayed form cannot create a second account. The
    //    same form sent again is answered from the account its token made (below).
    const outcome = await registerOnce(claims.jti, async () => {
      try {
        const result = await redeemer.redeem(form.phone_token)
        if (!result.valid) {
          return { status: 422, message: TOKEN_PROBLEMS[result.reason] }
        }
      } catch (error) {
        console.error('[demo] could not redeem the phone token:', (error as Error).message)
        return { status: 503, message: TOKEN_PROBLEMS.jwks_unreachable }
      }
      const accountId = accounts.create({
        name,
        email,
        phone: claims.phone_number,
        phone_verified_at: new Date(claims.iat * 1000).toISOString(),
        marketing_opt_in: marketing,
        phone_token_id: claims.jti,
      })
      return { accountId }
    })
    if ('message' in outcome) return c.html(await page(values, outcome.message), outcome.status)
    // The token made this account: only the same form gets it again, another is refused.
    const account = accounts.find(outcome.accountId)
    if (
      !account ||
      account.name !== name ||
      account.email !== email ||
      account.marketing_opt_in !== marketing
    ) {
      return c.html(await page(values, TOKEN_PROBLEMS.already_redeemed), 422)
    }
    return c.redirect(`/welcome/${account.id}`, 303)
  })

  app.get('/welcome/:id', (c) => {
    const account = accounts.find(Number(c.req.param('id')))
    if (!account) return c.html(registerPageMissing(), 404)
    return c.html(welcomePage(account))
  })

  app.get('/sandbox', async (c) => {
    const to = (c.req.query('to') ?? '').replace(/[\s().-]/g, '')
    if (!/^\+[1-9]\d{1,14}$/.test(to)) {
      return c.html(
        inboxPage(to, [], 'Enter the number in international form, like +447400123123.'),
        400,
      )
    }
    try {
      const response = await textgate(`/v1/sandbox/messages?to=${encodeURIComponent(to)}`)
      const body: unknown = await response.json()
      if (!response.ok) {
        const message = isErrorBody(body) ? body.error.message : `HTTP ${response.status}`
        return c.html(inboxPage(to, [], message), 502)
      }
      return c.html(inboxPage(to, body as { body: string; createdAt: string }[]))
    } catch (error) {
      return c.html(inboxPage(to, [], `Textgate is unreachable: ${(error as Error).message}`), 502)
    }
  })

  return { app, close: () => accounts.close() }
}

function registerPageMissing(): string {
  return '<!doctype html><title>Not found</title><p>No such account. <a href="/">Register</a></p>'
}

export interface DemoProjectFile {
  projectId: string
  publishableKey: string
  secretKey: string
}

async function main() {
  const textgateUrl = process.env.TEXTGATE_URL ?? 'http://localhost:8787'
  const port = Number(process.env.DEMO_PORT ?? 3000)
  const projectFile = resolve(process.env.DEMO_PROJECT_FILE ?? './data/demo-project.json')
  const dbPath = resolve(process.env.DEMO_DB_PATH ?? './data/demo-store.db')
  let project: DemoProjectFile
  try {
    project = JSON.parse(readFileSync(projectFile, 'utf8')) as DemoProjectFile
  } catch (error) {
    console.error(
      `[demo] cannot read the demo project at ${projectFile} (${(error as Error).message}).\n` +
        '       Create one with: pnpm textgate projects create --name "Demo store" --origin http://localhost:3000 --json',
    )
    process.exit(1)
  }
  await mkdir(dirname(dbPath), { recursive: true })
  const store = createStoreApp({
    textgateUrl,
    publicTextgateUrl: process.env.TEXTGATE_PUBLIC_URL,
    projectId: project.projectId,
    publishableKey: project.publishableKey,
    secretKey: project.secretKey,
    dbPath,
  })
  const server = serve({ fetch: store.app.fetch, port, hostname: process.env.DEMO_HOST }, () =>
    console.log(`[demo] store listening on http://localhost:${port}`),
  )
  const stop = () => {
    server.close(() => {
      store.close()
      process.exit(0)
    })
    setTimeout(() => process.exit(0), 5_000).unref()
  }
  process.once('SIGTERM', stop)
  process.once('SIGINT', stop)
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  await main()
}
