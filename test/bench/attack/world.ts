/**
 * One simulated store: a whole Textgate app on a fresh database (SQLite or PostgreSQL) served
 * over real HTTP on 127.0.0.1, with a clock the scenario moves, live keys whose texts go to a
 * sandbox inbox the simulated shoppers read, and a fake captcha siteverify that accepts only
 * tokens a simulated person earned.
 * @module
 */
import { randomBytes, randomInt } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import { createApp } from '@textgate/server/app'
import { sandboxCarrier } from '@textgate/server/carriers/sandbox'
import { type ChallengeService, createChallengeService, createFraud } from '@textgate/server/fraud'
import { trustedProxies } from '@textgate/server/http/client-ip'
import { createLogger } from '@textgate/server/logger'
import { createDispatcher } from '@textgate/server/outbox'
import { createApiKey, createProject } from '@textgate/server/projects'
import { decrypt, deriveSecrets } from '@textgate/server/secrets'
import type { DialectName } from '@textgate/server/storage'
import { createTestStorage } from '@textgate/server/testing/storage'
import { createTokenService } from '@textgate/server/tokens'
import { createVerificationService } from '@textgate/server/verifications/service'

export interface WorldOptions {
  dialect: DialectName
  /** The store configured Turnstile: escalations become an interactive step. */
  captcha?: boolean
  /** Where the store's page lives (its origin is allowed). */
  origin?: string
  widgetPath?: string
  /** Simulated start time. */
  startAt?: number
}

export type World = Awaited<ReturnType<typeof createWorld>>

export async function createWorld(options: WorldOptions) {
  // SQLite as the server opens it: a file whose hot writes go through the writer thread.
  const storage = await createTestStorage(options.dialect, {
    writerThread: options.dialect === 'sqlite',
  })
  const secrets = deriveSecrets(randomBytes(32).toString('hex'))
  let nowMs = options.startAt ?? Date.parse('2026-12-07T09:00:00Z')
  const now = () => nowMs
  const logger = createLogger(process.env.ATTACK_LOG_LEVEL ?? 'silent')

  // The fake siteverify: a token is good once, and only if a simulated person earned it.
  const humanTokens = new Set<string>()
  const siteverify: Server = createServer((req, res) => {
    let body = ''
    req.on('data', (chunk) => {
      body += chunk
    })
    req.on('end', () => {
      const token = new URLSearchParams(body).get('response') ?? ''
      const success = humanTokens.delete(token)
      res.setHeader('Content-Type', 'application/json')
      res.end(JSON.stringify({ success }))
    })
  })
  await new Promise<void>((resolve) => siteverify.listen(0, '127.0.0.1', resolve))
  const verifyUrl = `http://127.0.0.1:${(siteverify.address() as AddressInfo).port}/siteverify`

  const tokens = createTokenService({
    db: storage.db,
    encryptionKey: secrets.encryptionKey,
    issuer: 'https://verify.example',
    now,
  })
  await tokens.ensureSigningKey()
  const sandbox = sandboxCarrier({ db: storage.db, encryptionKey: secrets.encryptionKey, now })
  const dispatcher = createDispatcher({
    storage,
    encryptionKey: secrets.encryptionKey,
    logger,
    now,
    carrierFor: () => sandbox,
  })
  // The real puzzles and their real check; the world remembers each puzzle's number so that a
  // simulated person's device "solves" it instantly (its time is not a measured figure), while
  // attackers solve every puzzle themselves.
  const answers = new Map<string, number>()
  let picked = 0
  const puzzles = createChallengeService(storage.db, secrets.pepper, {
    numberFor: (maxnumber) => {
      picked = randomInt(0, maxnumber + 1)
      return picked
    },
  })
  const challenges: ChallengeService = {
    async issue(projectId, difficulty, at, phone) {
      const challenge = await puzzles.issue(projectId, difficulty, at, phone)
      answers.set(challenge.challenge, picked)
      return challenge
    },
    redeem: (...args) => puzzles.redeem(...args),
  }
  const fraud = createFraud({ db: storage.db, secrets, now, logger, challenges })
  const verifications = createVerificationService({ db: storage.db, secrets, tokens, fraud, now })
  const app = createApp({
    storage,
    secrets,
    tokens,
    verifications,
    logger,
    widgetPath: options.widgetPath ?? '/nonexistent/widget.js',
    // The simulated clients come through 127.0.0.1 and say who they are in X-Forwarded-For.
    trustedProxies: trustedProxies('loopback'),
    carriers: () => [],
    now,
  })
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s))
  })
  // Long proof-of-work solves block this process: idle sockets must outlive them.
  ;(server as unknown as { keepAliveTimeout: number }).keepAliveTimeout = 120_000
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

  const origin = options.origin ?? 'https://shop.example'
  const { project } = await createProject(storage.db, {
    name: 'Simulated store',
    origins: [origin],
    ...(options.captcha
      ? {
          fraudSettings: {
            challenge: { captcha: { provider: 'turnstile', secret: 'sim-secret', verifyUrl } },
          },
        }
      : {}),
  })
  const publishableKey = await createApiKey(storage.db, project.id, 'publishable', 'live', nowMs)

  return {
    url,
    origin,
    dialect: options.dialect,
    db: storage.db,
    fraud,
    projectId: project.id,
    publishableKey,
    now,
    setNow(ms: number) {
      if (ms > nowMs) nowMs = ms
    },
    /** The number that solves a puzzle the server issued (for simulated people only). */
    answerOf: (challenge: string) => answers.get(challenge),
    /** A captcha token a person just earned (the simulated Turnstile widget). */
    earnCaptchaToken(): string {
      const token = randomBytes(12).toString('hex')
      humanTokens.add(token)
      return token
    },
    /** Hands every due text to the (sandbox) carrier. */
    drain: () => dispatcher.drain(),
    /** The newest code texted to `phone`, if any text reached it. */
    async codeFor(phone: string): Promise<string | undefined> {
      await dispatcher.drain()
      const row = await storage.db
        .selectFrom('sandbox_messages')
        .select('body_encrypted')
        .where('project_id', '=', project.id)
        .where('to', '=', phone)
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        .executeTakeFirst()
      if (!row) return undefined
      return /(\d{4,10})/.exec(decrypt(secrets.encryptionKey, row.body_encrypted))?.[1]
    },
    /**
     * How many texts (first sends and resends) these verifications had handed to the carrier:
     * a pumper is paid per text, so each resend counts.
     */
    async textsSent(verificationIds: string[]): Promise<number> {
      await dispatcher.drain()
      let sent = 0
      for (let i = 0; i < verificationIds.length; i += 500) {
        const rows = await storage.db
          .selectFrom('messages')
          .select('verification_id')
          .where('verification_id', 'in', verificationIds.slice(i, i + 500))
          .where('status', '!=', 'suppressed')
          .execute()
        sent += rows.length
      }
      return sent
    },
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await new Promise<void>((resolve) => siteverify.close(() => resolve()))
      await fraud.close()
      await storage.dispose()
    },
  }
}
