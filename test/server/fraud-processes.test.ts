/**
 * The fraud guard's counters hold across server processes: two real servers on one database
 * share one limit, with requests racing between them.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { DIALECTS } from '@textgate/server/testing/storage'
import Database from 'better-sqlite3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type CreatedProject, createProjectAsync } from '../support/processes'
import { startTwoServers, type TwoServers } from '../support/two-servers'

const ORIGIN = 'https://shop.example'
const LIMIT = 20
const REQUESTS = 60

const redisUrl = process.env.TEXTGATE_TEST_REDIS_URL
const SETUPS: [string, 'sqlite' | 'postgres', string | undefined][] = [
  ...DIALECTS.map((d) => [`one ${d} database`, d, undefined] as [string, typeof d, undefined]),
  ...(redisUrl
    ? [['SQLite files and one Redis', 'sqlite', redisUrl] as [string, 'sqlite', string]]
    : []),
]

if (!redisUrl) {
  describe('two server processes sharing Redis counters', () => {
    it.skip('needs TEXTGATE_TEST_REDIS_URL (e.g. redis://127.0.0.1:6379); CI sets it', () => {})
  })
}

describe.each(SETUPS)('two server processes on %s', (_name, dialect, redis) => {
  let pair: TwoServers
  let project: CreatedProject

  beforeAll(async () => {
    const env = { TRUST_PROXY: '1', ...(redis ? { REDIS_URL: redis } : {}) }
    pair = await startTwoServers(dialect, env, 'tg-fraud-')
    // Only the per-IP rule, so that every refusal below is that rule's.
    const settings = join(pair.dir, 'fraud.json')
    writeFileSync(
      settings,
      JSON.stringify({ velocity: { rules: [{ scope: 'ip', window: '10m', blockAt: LIMIT }] } }),
    )
    project = await createProjectAsync(pair.servers[0]!.env, 'Shared', [ORIGIN], settings)
  })

  afterAll(async () => {
    await pair?.close()
  })

  it(`lets exactly ${LIMIT} of ${REQUESTS} racing starts from one address through`, async () => {
    const statuses = await Promise.all(
      Array.from({ length: REQUESTS }, async (_, i) => {
        const server = pair.servers[i % 2]!
        // Numbers in different ranges, so no other rule could apply.
        const phone = `+447400${String(100_000 + i * 7_919).slice(-6)}`
        const res = await fetch(`${server.url}/v1/verifications`, {
          method: 'POST',
          headers: {
            Authorization: `Bearer ${project.publishableKey}`,
            Origin: ORIGIN,
            'Content-Type': 'application/json',
            'X-Forwarded-For': '203.0.113.50',
          },
          body: JSON.stringify({ phone, consent: { accepted: true } }),
        })
        const body = (await res.json()) as { error?: { code: string } }
        return res.status === 201 ? 201 : `${res.status} ${body.error?.code}`
      }),
    )
    const accepted = statuses.filter((s) => s === 201).length
    expect(statuses.filter((s) => s !== 201 && s !== '429 rate_limited')).toEqual([])
    expect(accepted).toBe(LIMIT)
    if (redis) {
      // The limit held through Redis: the database kept no velocity counters at all.
      const db = new Database(join(pair.dir, 'shared.db'), { readonly: true })
      const rows = db
        .prepare("SELECT count(*) AS n FROM fraud_counters WHERE key LIKE 'start:%'")
        .get() as { n: number }
      db.close()
      expect(rows.n).toBe(0)
    }
  })
})
