/**
 * The benchmark's peer: better-auth with its phone-number plugin, mounted on Hono as better-auth's
 * Hono guide shows, on better-sqlite3 in WAL with synchronous=NORMAL (Textgate's SQLite settings).
 * Its rate limiter is on (as in production) with the limits raised, so that it does its work but
 * refuses nothing; the phone-number plugin signs up on verification (user + session), the flow a
 * store uses it for.
 *
 * `sendOTP` keeps each code in memory instead of texting it; `GET /bench/codes` hands them to the
 * benchmark (untimed) for the verify run. PORT and PEER_DB (a file path) come from the environment.
 * @module
 */
import { serve } from '@hono/node-server'
import { betterAuth } from 'better-auth'
import { getMigrations } from 'better-auth/db/migration'
import { phoneNumber } from 'better-auth/plugins'
import Database from 'better-sqlite3'
import { Hono } from 'hono'

const HIGH = 1_000_000_000
const port = Number(process.env.PORT)
const sqlite = new Database(process.env.PEER_DB ?? ':memory:')
sqlite.pragma('journal_mode = WAL')
sqlite.pragma('synchronous = NORMAL')

const codes = new Map<string, string>()
const auth = betterAuth({
  database: sqlite,
  baseURL: `http://127.0.0.1:${port}`,
  secret: 'bench-peer-secret-0123456789-0123456789',
  rateLimit: {
    enabled: true,
    window: 60,
    max: HIGH,
    customRules: { '/phone-number/*': { window: 60, max: HIGH } },
  },
  advanced: { ipAddress: { ipAddressHeaders: ['x-forwarded-for'] } },
  plugins: [
    phoneNumber({
      sendOTP: ({ phoneNumber, code }) => {
        codes.set(phoneNumber, code)
      },
      signUpOnVerification: {
        getTempEmail: (phone) => `${phone.replace('+', '')}@bench.store.test`,
        getTempName: (phone) => phone,
      },
    }),
  ],
})
const { runMigrations } = await getMigrations(auth.options)
await runMigrations()

const app = new Hono()
app.get('/healthz', (c) => c.json({ status: 'ok' }))
app.on(['POST', 'GET'], '/api/auth/*', (c) => auth.handler(c.req.raw))
app.get('/bench/codes', (c) => {
  const all = [...codes]
  codes.clear()
  return c.json(all)
})

const server = serve({ fetch: app.fetch, port, hostname: '127.0.0.1' })
process.once('SIGTERM', () => server.close(() => process.exit(0)))
