/**
 * The verification API's limits on two real server processes sharing a database: resends racing
 * on one verification (one is sent, and the spend caps hold only what was sent: a resend that
 * lost keeps no reservation), and the answer to a verification out of checks.
 */
import { createHmac } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { deriveSecrets } from '@textgate/server/secrets'
import { DIALECTS } from '@textgate/server/testing/storage'
import Database from 'better-sqlite3'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type CreatedProject,
  createProjectAsync,
  sandboxCode,
  TEST_SECRET,
} from '../support/processes'
import { startTwoServers, type TwoServers } from '../support/two-servers'

const ORIGIN = 'https://shop.example'
/** A store's page in development, with a port. */
const DEV_ORIGIN = 'http://localhost:5173'
const RESENDS = 8
/** The price of one text to GB set for the project, in millionths (as the counters hold it). */
const ONE_TEXT = 70_000
const DAY_MS = 86_400_000

/** A counter's key as the servers store it (an HMAC of it: see fraud/counters/keyed.ts). */
function counterKey(plain: string): string {
  const secret = createHmac('sha256', deriveSecrets(TEST_SECRET).pepper)
    .update('textgate/counter-keys/v1')
    .digest()
  return createHmac('sha256', secret).update(plain).digest('base64url').slice(0, 32)
}

describe.each(DIALECTS)('the verification API on two server processes (%s)', (dialect) => {
  let pair: TwoServers
  let project: CreatedProject

  beforeAll(async () => {
    pair = await startTwoServers(dialect, { TRUST_PROXY: '1' }, 'tg-resend-')
    const settings = join(pair.dir, 'fraud.json')
    writeFileSync(settings, JSON.stringify({ spend: { costs: { GB: ONE_TEXT / 1_000_000 } } }))
    const env = pair.servers[0]!.env
    project = await createProjectAsync(env, 'Racing', [ORIGIN, DEV_ORIGIN], settings)
  }, 120_000)

  afterAll(async () => {
    // Stopping a server the test stopped already does nothing.
    await pair?.close()
  })

  /** Runs `query` on the shared database once the servers are stopped (their counts written). */
  async function query<T>(text: string): Promise<T[]> {
    if (dialect === 'postgres') {
      const { rows } = await sql<T>`${sql.raw(text)}`.execute(pair.storage!.db)
      return rows
    }
    const db = new Database(join(pair.dir, 'shared.db'))
    try {
      const statement = db.prepare(text)
      if (!statement.reader) {
        statement.run()
        return []
      }
      return statement.all() as T[]
    } finally {
      db.close()
    }
  }

  it('tells a client out of checks to start again, not to repeat the check in a second', async () => {
    const headers = {
      Authorization: `Bearer ${project.publishableKey}`,
      Origin: ORIGIN,
      'Content-Type': 'application/json',
      'X-Forwarded-For': '203.0.113.62',
    }
    const started = await fetch(`${pair.servers[0]!.url}/v1/verifications`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ phone: '+447400789612', consent: { accepted: true } }),
    })
    const { id } = (await started.json()) as { id: string }
    const code = await sandboxCode(pair.servers[0]!.url, project, '+447400789612')
    const wrong = code === '000000' ? '111111' : '000000'
    let last: Response | undefined
    for (let i = 0; i < 5; i++) {
      last = await fetch(`${pair.servers[i % 2]!.url}/v1/verifications/${id}/check`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ code: wrong }),
      })
    }
    expect(last!.status).toBe(429)
    expect(((await last!.json()) as { error: unknown }).error).toMatchObject({
      code: 'max_attempts_reached',
      retry: 'new_verification',
    })
    // The code's 10 minutes, less the few seconds this took.
    const wait = Number(last!.headers.get('Retry-After'))
    expect(wait).toBeGreaterThan(570)
    expect(wait).toBeLessThanOrEqual(600)
  })

  it("ends a code's text with the WebOTP line of the page's host, without its port", async () => {
    const phone = '+447400456613'
    const started = await fetch(`${pair.servers[1]!.url}/v1/verifications`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${project.publishableKey}`,
        Origin: DEV_ORIGIN,
        'Content-Type': 'application/json',
        'X-Forwarded-For': '203.0.113.63',
      },
      body: JSON.stringify({ phone, consent: { accepted: true } }),
    })
    expect(started.status).toBe(201)
    const code = await sandboxCode(pair.servers[0]!.url, project, phone)
    const inbox = await fetch(`${pair.servers[0]!.url}/v1/sandbox/messages?to=${phone}`, {
      headers: { Authorization: `Bearer ${project.secretKey}` },
    })
    const [message] = (await inbox.json()) as { body: string }[]
    expect(message!.body.split('\n').at(-1)).toBe(`@localhost #${code}`)
  })

  it('reserves the cost of the one resend sent, none for those that lost', async () => {
    const headers = {
      Authorization: `Bearer ${project.publishableKey}`,
      Origin: ORIGIN,
      'Content-Type': 'application/json',
      'X-Forwarded-For': '203.0.113.61',
    }
    const started = await fetch(`${pair.servers[0]!.url}/v1/verifications`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ phone: '+447400123611', consent: { accepted: true } }),
    })
    expect(started.status).toBe(201)
    const { id } = (await started.json()) as { id: string }
    // The 30 s wait before a resend, gone by (the servers keep the real time).
    await query(`UPDATE verifications SET resend_after = 0 WHERE id = '${id}'`)

    const statuses = await Promise.all(
      Array.from({ length: RESENDS }, async (_, i) => {
        const res = await fetch(`${pair.servers[i % 2]!.url}/v1/verifications/${id}/resend`, {
          method: 'POST',
          headers,
          body: '{}',
        })
        const body = (await res.json()) as { error?: { code: string } }
        return res.status === 200 ? 200 : `${res.status} ${body.error?.code}`
      }),
    )
    expect(statuses.filter((s) => s === 200)).toHaveLength(1)
    expect(statuses.filter((s) => s !== 200 && s !== '429 rate_limited')).toEqual([])

    await Promise.all(pair.servers.map((s) => s.close()))
    const messages = await query<{ n: number }>(
      `SELECT count(*) AS n FROM messages WHERE verification_id = '${id}'`,
    )
    expect(Number(messages[0]?.n)).toBe(2)
    // The day's spend is what was texted (this start and its one resend, and the other test's
    // start), at the project's price: none of the losers' reservations.
    const texts = await query<{ n: number }>('SELECT count(*) AS n FROM messages')
    const spent = Number(texts[0]?.n) * ONE_TEXT
    const day = Math.floor(Date.now() / DAY_MS) * DAY_MS
    const spend = async (scope: string) => {
      const key = counterKey(`spend:${project.projectId}:${scope}:${day}`)
      const rows = await query<{ count: number }>(
        `SELECT count FROM fraud_counters WHERE key = '${key}|${DAY_MS}' AND bucket = ${day}`,
      )
      return rows.map((row) => Number(row.count))
    }
    expect(await spend('project')).toEqual([spent])
    expect(await spend('country:GB')).toEqual([spent])
  })
})
