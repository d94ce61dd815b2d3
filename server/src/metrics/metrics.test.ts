import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Hono } from 'hono'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHarness, type Harness, METRICS_TOKEN } from '../../testing/harness'
import { capturedLogger } from '../../testing/log-capture'
import { DIALECTS } from '../../testing/storage'
import { loadConfig } from '../config'
import { responseHeaders } from '../http/headers'
import { requestId, requestLog } from '../http/request-id'
import { createLogger } from '../logger'
import { startServer } from '../server'
import { openStorage } from '../storage'
import { bearerMatches, createMetricsRegistry } from './index'

const PHONE = '+447400123999'

/**
 * Problems with a Prometheus text exposition (format 0.0.4): a sample line that does not parse
 * (label values quoted, with only \\ \" \n escaped; NaN and Inf in any case, as Prometheus's
 * float parser reads them: prom-client writes the event-loop lag's mean as `Nan` before it has a
 * sample), a family without its HELP and TYPE before its samples, a HELP or TYPE given twice, or
 * the same series twice.
 */
function expositionProblems(text: string): string[] {
  const problems: string[] = []
  const help = new Set<string>()
  const type = new Map<string, string>()
  const series = new Set<string>()
  const sample =
    /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*",?)*)\})? (-?[0-9.e+-]+|[Nn][Aa][Nn]|[+-]?[Ii][Nn][Ff])( -?\d+)?$/
  for (const line of text.split('\n')) {
    if (line === '') continue
    const comment = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line)
    if (comment) {
      const [, kind, name = '', rest = ''] = comment
      if (kind === 'HELP') {
        if (help.has(name)) problems.push(`HELP twice for ${name}`)
        help.add(name)
      } else {
        if (type.has(name)) problems.push(`TYPE twice for ${name}`)
        if (!/^(counter|gauge|histogram|summary|untyped)$/.test(rest)) problems.push(line)
        type.set(name, rest)
      }
      continue
    }
    const match = sample.exec(line)
    if (!match) {
      problems.push(`unparsable: ${line}`)
      continue
    }
    const [, name = '', labels = ''] = match
    const family = [name, name.replace(/_(bucket|sum|count)$/, '')].find((n) => type.has(n))
    if (!family || !help.has(family)) problems.push(`no HELP and TYPE before ${name}`)
    const key = `${name}{${labels
      .split(/,(?=[a-zA-Z_])/)
      .filter(Boolean)
      .sort()
      .join(',')}}`
    if (series.has(key)) problems.push(`series twice: ${key}`)
    series.add(key)
  }
  return problems
}

describe('metrics: SQLite quiet moments', () => {
  it('counts the quiet moments lent to the checkpoint thread', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tg-quiet-metric-'))
    // A WAL due to start over every 200 frames, checked every 20 ms.
    const storage = openStorage(`sqlite:${join(dir, 'textgate.db')}`, {
      walCheckpointer: { intervalMs: 20, resetFrames: 200 },
    })
    try {
      const { quietMoments } = storage
      expect(quietMoments).toBeTypeOf('function')
      const registry = createMetricsRegistry({ db: storage.db, quietMoments })
      const scraped = async () => {
        const text = await registry.getSingleMetricAsString('textgate_sqlite_quiet_moments_total')
        return Number(/^textgate_sqlite_quiet_moments_total (\d+)$/m.exec(text)?.[1])
      }
      expect(await scraped()).toBe(0)
      await sql`create table blobs (id integer primary key, body blob not null)`.execute(storage.db)
      // Commits back to back leave the thread no pause to start the WAL over in: it asks for
      // quiet moments.
      const started = performance.now()
      while ((quietMoments?.() ?? 0) < 2 && performance.now() - started < 10_000) {
        await sql`insert into blobs (body) values (randomblob(4096))`.execute(storage.db)
        await new Promise(setImmediate)
      }
      const counted = quietMoments?.() ?? 0
      expect(counted).toBeGreaterThanOrEqual(2)
      // Every one so far, and only those: the count never goes back (a scrape adds what is new).
      expect(await scraped()).toBeGreaterThanOrEqual(counted)
      expect(await scraped()).toBeLessThanOrEqual(quietMoments?.() ?? 0)
    } finally {
      await storage.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('is absent where there is no checkpoint thread (SQLite in memory)', async () => {
    const storage = openStorage('sqlite::memory:')
    try {
      expect(storage.quietMoments).toBeUndefined()
    } finally {
      await storage.close()
    }
  })
})

for (const dialect of DIALECTS) {
  describe(`metrics (${dialect})`, () => {
    let h: Harness
    let pk: string
    let sk: string

    beforeAll(async () => {
      h = await createHarness(dialect)
      const created = await h.project()
      pk = created.publishableKey
      sk = created.secretKey
    })
    afterAll(() => h.dispose())

    const scrape = async (token: string | null = METRICS_TOKEN) => {
      const response = await h.app.request('http://textgate.test/metrics', {
        headers: token ? { Authorization: `Bearer ${token}` } : {},
      })
      return {
        status: response.status,
        type: response.headers.get('Content-Type'),
        text: await response.text(),
      }
    }

    it('answers only the metrics token', async () => {
      expect((await scrape(null)).status).toBe(401)
      expect((await scrape('wrong-token-wrong-token-wrong-token')).status).toBe(401)
      expect((await scrape(sk)).status).toBe(401)
      const ok = await scrape()
      expect(ok.status).toBe(200)
      expect(ok.type).toMatch(/^text\/plain; version=0\.0\.4/)
    })

    it('counts requests by route pattern, verifications by status and country, fraud decisions, queues', async () => {
      const started = await h.call('POST', '/v1/verifications', {
        key: pk,
        body: { phone: PHONE, consent: { accepted: true } },
      })
      expect(started.status).toBe(201)
      const [code] = await h.inbox(sk, PHONE)
      await h.call('POST', `/v1/verifications/${started.json.id}/check`, {
        key: pk,
        body: { code },
      })
      await h.call('GET', '/v1/verifications/ver_doesnotexist00000000', { key: sk })
      await h.call('GET', '/wp-login.php?user=+447400123999')
      // A text still waiting, for the queue gauges.
      await h.call('POST', '/v1/verifications', {
        key: pk,
        body: { phone: '+447400123998', consent: { accepted: true } },
      })
      const { text } = await scrape()
      expect(text).toMatch(
        /textgate_http_requests_total\{method="POST",route="\/v1\/verifications\/:id\/check",status="200"\} \d+/,
      )
      expect(text).toMatch(
        /textgate_http_requests_total\{method="GET",route="\/v1\/verifications\/:id",status="404"\} \d+/,
      )
      expect(text).toMatch(
        /textgate_http_requests_total\{method="GET",route="unmatched",status="404"\}/,
      )
      expect(text).toMatch(
        /textgate_http_request_duration_seconds_bucket\{le="0.005",method="POST"/,
      )
      expect(text).toMatch(/textgate_verifications_total\{status="started",country="GB"\} \d+/)
      expect(text).toMatch(/textgate_verifications_total\{status="approved",country="GB"\} \d+/)
      expect(text).toMatch(
        /textgate_fraud_decisions_total\{decision="allow",reason="[a-z_]+"\} \d+/,
      )
      expect(text).toMatch(/^textgate_outbox_depth [1-9]\d*$/m)
      expect(text).toMatch(/^textgate_outbox_oldest_age_seconds \d/m)
      expect(text).toMatch(/^textgate_webhook_queue_depth \d+$/m)
      expect(text).toMatch(/^textgate_webhook_queue_oldest_age_seconds \d/m)
      // Alone on its database, the process counts in memory; one mode at a time.
      expect(text).toMatch(/^textgate_fraud_counters_mode\{mode="local"\} 1$/m)
      expect(text.match(/^textgate_fraud_counters_mode\{mode="[a-z-]+"\} 1$/gm)).toHaveLength(1)
      expect(text).toMatch(/^textgate_fraud_counters_mode\{mode="shared"\} 0$/m)
      expect(text).toMatch(/^process_cpu_user_seconds_total /m)
      expect(text).toMatch(/^nodejs_eventloop_lag_seconds /m)
      expect(expositionProblems(text)).toEqual([])
      // Bounded labels: no ids, numbers or paths as sent.
      const labels = [...text.matchAll(/\{([^}]*)\}/g)].map((m) => m[1]).join('\n')
      expect(labels).not.toMatch(/ver_|\+44|7400|wp-login|doesnotexist/)
    })
  })
}

describe('request ids', () => {
  function app(trusted: boolean) {
    const { logger, lines } = capturedLogger('info')
    const hono = new Hono()
    hono.use(responseHeaders())
    hono.use(requestId({ fromTrustedProxy: () => trusted }))
    hono.get('/work', async (c) => {
      // A unit's own logger, made at start-up, handed the request deep in an async call chain.
      const unit = { work: async (log: typeof logger) => log.info('working') }
      await new Promise((resolve) => setTimeout(resolve, 5))
      await unit.work(requestLog(c, logger))
      await Promise.resolve().then(() => requestLog(c, logger).warn('still working'))
      // Background work, not handed the request, says so by carrying no id.
      logger.info('background')
      return c.text('ok')
    })
    return { hono, lines }
  }

  it('makes one per request, returns it, and puts it in every log line of the request', async () => {
    const { hono, lines } = app(false)
    const [a, b] = await Promise.all([hono.request('/work'), hono.request('/work')])
    const idA = a.headers.get('X-Request-Id')
    const idB = b.headers.get('X-Request-Id')
    expect(idA).toMatch(/^[0-9a-f-]{36}$/)
    expect(idB).not.toBe(idA)
    expect(lines).toHaveLength(6)
    expect(lines.filter((l) => l.requestId === idA)).toHaveLength(2)
    expect(lines.filter((l) => l.requestId === idB)).toHaveLength(2)
    expect(lines.filter((l) => l.msg === 'background' && !('requestId' in l))).toHaveLength(2)
  })

  it('names the request in what a unit logs about it: a start past the daily spend cap', async () => {
    const { logger, lines } = capturedLogger('info')
    const h = await createHarness('sqlite', { logger })
    try {
      const { publishableKey } = await h.project({
        fraudSettings: {
          velocity: { mode: 'off' },
          conversion: { mode: 'off' },
          destinations: { mode: 'off' },
          callers: { mode: 'off' },
          spend: { dailyCountryCap: 0.015, defaultCostPerSms: 0.01 },
        },
      })
      const start = (phone: string) =>
        h.call('POST', '/v1/verifications', {
          key: publishableKey,
          body: { phone, consent: { accepted: true } },
        })
      expect((await start('+447400123001')).status).toBe(201)
      // The second text would pass the cap: a decoy, and the guard's warning names this request.
      const capped = await start('+447400123002')
      expect(capped.status).toBe(201)
      const warning = lines.find((l) => l.msg === 'fraud guard: daily spend cap reached')
      expect(warning).toMatchObject({ requestId: capped.headers.get('X-Request-Id') })
    } finally {
      await h.dispose()
    }
  })

  it('keeps an incoming id only from a trusted proxy, and only a sane one', async () => {
    const untrusted = app(false)
    const spoofed = await untrusted.hono.request('/work', {
      headers: { 'X-Request-Id': 'abc-123' },
    })
    expect(spoofed.headers.get('X-Request-Id')).not.toBe('abc-123')

    const trusted = app(true)
    const kept = await trusted.hono.request('/work', {
      headers: {
        'X-Request-Id': 'edge-7f3a',
        traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      },
    })
    expect(kept.headers.get('X-Request-Id')).toBe('edge-7f3a')
    expect(trusted.lines[0]).toMatchObject({
      requestId: 'edge-7f3a',
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
    })
    for (const bad of ['x'.repeat(200), 'a b', 'id"x', '<script>']) {
      const replaced = await trusted.hono.request('/work', { headers: { 'X-Request-Id': bad } })
      expect(replaced.headers.get('X-Request-Id')).toMatch(/^[0-9a-f-]{36}$/)
    }
  })

  it('finds what is wrong in an exposition', () => {
    const good = '# HELP a_total A.\n# TYPE a_total counter\na_total{x="q\\"\\\\"} 1\n'
    expect(expositionProblems(good)).toEqual([])
    expect(expositionProblems('# HELP a A.\n# TYPE a gauge\na Nan\n')).toEqual([])
    expect(expositionProblems(`${good}a_total{x="q\\"\\\\"} 2\n`)).toHaveLength(1)
    expect(expositionProblems('a_total 1\n')).toHaveLength(1)
    expect(expositionProblems('# HELP a A.\n# TYPE a gauge\na{x="un"quoted"} 1\n')).toHaveLength(1)
  })

  it('compares the metrics token in constant time and exactly', () => {
    expect(bearerMatches('Bearer abcdefghijklmnop', 'abcdefghijklmnop')).toBe(true)
    expect(bearerMatches('bearer abcdefghijklmnop', 'abcdefghijklmnop')).toBe(true)
    expect(bearerMatches('Bearer abcdefghijklmno', 'abcdefghijklmnop')).toBe(false)
    expect(bearerMatches(undefined, 'abcdefghijklmnop')).toBe(false)
  })
})

describe('METRICS_PORT', () => {
  it('serves /metrics on its own port, and the main port not at all without a token', async () => {
    const config = loadConfig({
      PORT: '0',
      METRICS_PORT: '0',
      DATABASE_URL: 'sqlite::memory:',
      TEXTGATE_SECRET: 'metrics-port-test-secret-0123456789-0123456789',
    })
    const server = await startServer(config, {
      logger: createLogger('silent'),
      hostname: '127.0.0.1',
    })
    try {
      expect(server.metricsPort).toBeGreaterThan(0)
      const own = await fetch(`http://127.0.0.1:${server.metricsPort}/metrics`)
      expect(own.status).toBe(200)
      const scraped = await own.text()
      expect(scraped).toMatch(/textgate_outbox_depth 0/)
      expect(scraped).toMatch(/^textgate_fraud_counters_mode\{mode="[a-z-]+"\} 1$/m)
      const main = await fetch(`http://127.0.0.1:${server.port}/metrics`)
      expect(main.status).toBe(404)
      const other = await fetch(`http://127.0.0.1:${server.metricsPort}/v1/verifications`)
      expect(other.status).toBe(404)
    } finally {
      await server.close()
    }
  })
})
