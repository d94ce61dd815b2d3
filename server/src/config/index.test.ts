import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from './index'

const SECRET = 's'.repeat(32)

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env)
  } catch (error) {
    if (error instanceof ConfigError) return error.problems
    throw error
  }
  return []
}

describe('settings', () => {
  it('has the defaults DESIGN.md lists', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tg-config-'))
    const config = loadConfig({ TEXTGATE_SECRET: SECRET, TEXTGATE_DATA_DIR: dir })
    expect(config.port).toBe(8787)
    expect(config.publicUrl).toBe('http://localhost:8787')
    expect(config.databaseUrl).toBe(`sqlite:${dir}/textgate.db`)
  })

  it('derives the public URL from PORT and trims a trailing slash', () => {
    expect(loadConfig({ TEXTGATE_SECRET: SECRET, PORT: '9000' }).publicUrl).toBe(
      'http://localhost:9000',
    )
    expect(
      loadConfig({ TEXTGATE_SECRET: SECRET, PUBLIC_URL: 'https://verify.shop.example/' }).publicUrl,
    ).toBe('https://verify.shop.example')
    // WHATWG URL's origin: lower-case host, no default port; said once at start.
    const warnings: string[] = []
    const config = loadConfig(
      { TEXTGATE_SECRET: SECRET, PUBLIC_URL: 'HTTPS://Verify.Shop.Example:443/textgate/' },
      { warn: (message) => warnings.push(message) },
    )
    expect(config.publicUrl).toBe('https://verify.shop.example/textgate')
    expect(warnings).toEqual([
      'PUBLIC_URL is read as https://verify.shop.example/textgate (lower-case host, no default port, no trailing slash): tokens name it as their issuer.',
    ])
  })

  it('names every bad value at once', () => {
    const found = problems({
      PORT: 'eighty',
      PUBLIC_URL: 'verify.example',
      DATABASE_URL: 'mysql://x',
      TEXTGATE_SECRET: 'short',
    })
    expect(found).toEqual([
      'PORT must be a whole number',
      'PUBLIC_URL must be an absolute URL such as https://verify.example.com',
      'DATABASE_URL must be postgres://…, postgresql://…, sqlite:PATH or sqlite::memory:',
      'TEXTGATE_SECRET must be at least 32 bytes (try: openssl rand -base64 48)',
    ])
    expect(problems({ PORT: '70000', TEXTGATE_SECRET: SECRET })).toEqual([
      'PORT must be between 0 and 65535',
    ])
    expect(
      problems({ REDIS_URL: 'localhost:6379', TRUST_PROXY: 'maybe', TEXTGATE_SECRET: SECRET }),
    ).toEqual([
      'TRUST_PROXY: "maybe" is not an address, a CIDR range, loopback or private',
      'REDIS_URL must be redis://host:port[/db] or rediss://… (TLS)',
    ])
    expect(
      problems({ TEXTGATE_WEBHOOK_NETWORKS: '10.0.0.0/8,docker', TEXTGATE_SECRET: SECRET }),
    ).toEqual([
      'TEXTGATE_WEBHOOK_NETWORKS: "docker" is not a network in CIDR form (such as 10.0.0.0/8 or fd00::/8)',
    ])
    const withNetworks = loadConfig({
      TEXTGATE_WEBHOOK_NETWORKS: '172.16.0.0/12',
      TEXTGATE_SECRET: SECRET,
    })
    const { ranges, testLoopback } = withNetworks.webhookNetworks
    expect(ranges.map(([a, bits]) => `${a.toString()}/${bits}`)).toEqual(['172.16.0.0/12'])
    expect(testLoopback).toBe(true)
    // In production loopback is the server's own services: closed unless listed.
    const production = loadConfig({ NODE_ENV: 'production', TEXTGATE_SECRET: SECRET })
    expect(production.webhookNetworks).toEqual({ ranges: [], testLoopback: false })
    // Without NODE_ENV too, once PUBLIC_URL names a host that is not loopback: that server
    // serves the internet. A development URL (unset, localhost, 127.0.0.1, [::1]) keeps it.
    const loopbackFor = (PUBLIC_URL?: string, NODE_ENV?: string) =>
      loadConfig({ PUBLIC_URL, NODE_ENV, TEXTGATE_SECRET: SECRET }).webhookNetworks.testLoopback
    expect(loopbackFor('https://verify.shop.example')).toBe(false)
    expect(loopbackFor('http://192.168.1.20:8787')).toBe(false)
    expect(loopbackFor('https://verify.shop.example', 'development')).toBe(false)
    for (const local of [
      undefined,
      'http://localhost:8787',
      'http://LOCALHOST:8787',
      'http://127.0.0.1:8787',
      'http://[::1]:8787',
      'https://verify.localhost',
    ]) {
      expect(loopbackFor(local), local).toBe(true)
    }
    expect(loopbackFor('http://localhost:8787', 'production')).toBe(false)
  })

  it('reads the console’s extra origins, and answers at loopback names unless production has a PUBLIC_URL', () => {
    const config = loadConfig({
      TEXTGATE_SECRET: SECRET,
      TEXTGATE_CONSOLE_ORIGINS: 'HTTP://Console.Internal:8080/, https://ops.example:443',
    })
    expect(config.consoleOrigins).toEqual(['http://console.internal:8080', 'https://ops.example'])
    expect(config.consoleLoopback).toBe(true)
    expect(
      problems({
        TEXTGATE_SECRET: SECRET,
        TEXTGATE_CONSOLE_ORIGINS: 'console.internal, https://x.example/console',
      }),
    ).toEqual([
      'TEXTGATE_CONSOLE_ORIGINS: "console.internal", "https://x.example/console" is not an origin such as https://console.example.internal:8443 (scheme, host and port only)',
    ])
    const production = { NODE_ENV: 'production', TEXTGATE_SECRET: SECRET }
    expect(loadConfig(production).consoleLoopback).toBe(true)
    expect(
      loadConfig(Object.assign({ PUBLIC_URL: 'https://verify.example' }, production))
        .consoleLoopback,
    ).toBe(false)
  })

  it('refuses to start in production without a secret', () => {
    expect(problems({ NODE_ENV: 'production' })[0]).toMatch(
      /TEXTGATE_SECRET is required in production/,
    )
  })

  it('generates a secret into the data folder outside production, once, with a warning', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tg-config-'))
    const warnings: string[] = []
    const first = loadConfig({ TEXTGATE_DATA_DIR: dir }, { warn: (m) => warnings.push(m) })
    expect(first.secretSource).toBe('generated')
    expect(warnings[0]).toMatch(/generated one into/)
    expect(warnings[0]).not.toContain(first.secret)
    const file = join(dir, 'secret')
    expect(readFileSync(file, 'utf8').trim()).toBe(first.secret)
    expect(statSync(file).mode & 0o777).toBe(0o600)
    const second = loadConfig({ TEXTGATE_DATA_DIR: dir })
    expect(second.secret).toBe(first.secret)
    expect(second.secretSource).toBe('file')
  })

  it.skipIf(!statSync('/proc', { throwIfNoEntry: false })?.isDirectory())(
    'names a data folder that cannot be made, at once (recursive mkdir spun for ever on /proc)',
    () => {
      expect(problems({ TEXTGATE_DATA_DIR: '/proc/textgate-test' })).toEqual([
        'cannot create /proc/textgate-test, the folder of the generated secret (TEXTGATE_DATA_DIR): /proc cannot hold folders (ENOENT)',
      ])
    },
  )

  it('runs PostgreSQL inserts prepared unless TEXTGATE_POSTGRES_PREPARED is off', () => {
    expect(loadConfig({ TEXTGATE_SECRET: SECRET }).postgresPrepared).toBe(true)
    expect(
      loadConfig({ TEXTGATE_SECRET: SECRET, TEXTGATE_POSTGRES_PREPARED: 'off' }).postgresPrepared,
    ).toBe(false)
    expect(() => loadConfig({ TEXTGATE_SECRET: SECRET, TEXTGATE_POSTGRES_PREPARED: 'no' })).toThrow(
      /TEXTGATE_POSTGRES_PREPARED must be on or off/,
    )
  })

  it('runs the SQLite writer thread at nice 5 unless TEXTGATE_SQLITE_WRITER_NICE says otherwise', () => {
    expect(loadConfig({ TEXTGATE_SECRET: SECRET }).sqliteWriterNice).toBe(5)
    expect(
      loadConfig({ TEXTGATE_SECRET: SECRET, TEXTGATE_SQLITE_WRITER_NICE: '0' }).sqliteWriterNice,
    ).toBe(0)
    for (const bad of ['20', '-1', 'low']) {
      expect(() =>
        loadConfig({ TEXTGATE_SECRET: SECRET, TEXTGATE_SQLITE_WRITER_NICE: bad }),
      ).toThrow(/TEXTGATE_SQLITE_WRITER_NICE must be a whole number from 0 to 19/)
    }
  })

  it('lets the heap grow 500 % past the live data unless TEXTGATE_HEAP_GROWING_PERCENT says otherwise', () => {
    expect(loadConfig({ TEXTGATE_SECRET: SECRET }).heapGrowingPercent).toBe(500)
    for (const [value, percent] of [
      ['0', 0],
      ['150', 150],
      ['1000', 1000],
    ] as const) {
      expect(
        loadConfig({ TEXTGATE_SECRET: SECRET, TEXTGATE_HEAP_GROWING_PERCENT: value })
          .heapGrowingPercent,
      ).toBe(percent)
    }
    for (const bad of ['1001', '-1', '2.5', 'lots']) {
      expect(() =>
        loadConfig({ TEXTGATE_SECRET: SECRET, TEXTGATE_HEAP_GROWING_PERCENT: bad }),
      ).toThrow(/TEXTGATE_HEAP_GROWING_PERCENT must be a whole number from 0 to 1000/)
    }
  })

  it('writes SQLite on a thread of its own unless TEXTGATE_SQLITE_WRITER is inline', () => {
    expect(loadConfig({ TEXTGATE_SECRET: SECRET }).sqliteWriterThread).toBe(true)
    expect(
      loadConfig({ TEXTGATE_SECRET: SECRET, TEXTGATE_SQLITE_WRITER: 'inline' }).sqliteWriterThread,
    ).toBe(false)
    expect(() => loadConfig({ TEXTGATE_SECRET: SECRET, TEXTGATE_SQLITE_WRITER: 'off' })).toThrow(
      /TEXTGATE_SQLITE_WRITER must be thread or inline/,
    )
  })

  it('accepts the DATABASE_URL forms', () => {
    for (const url of [
      'postgres://u@h/db',
      'postgresql://h/db',
      'sqlite:./x.db',
      'sqlite::memory:',
    ]) {
      expect(loadConfig({ TEXTGATE_SECRET: SECRET, DATABASE_URL: url }).databaseUrl).toBe(url)
    }
  })

  it('reads TEXTGATE_ROUTES_FILE and names each problem in it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tg-routes-'))
    const file = join(dir, 'routes.json')
    const carrier = {
      id: 'smsc-a',
      type: 'smpp',
      host: '127.0.0.1',
      port: 2775,
      systemId: 'shop',
      passwordEnv: 'SMSC_A_PASSWORD',
      sourceAddr: 'Shop',
    }
    writeFileSync(
      file,
      JSON.stringify({
        carriers: [carrier],
        projects: { '*': { rules: [{ routes: [{ carrier: 'smsc-a' }] }] } },
      }),
    )
    const config = loadConfig({
      TEXTGATE_SECRET: SECRET,
      TEXTGATE_ROUTES_FILE: file,
      SMSC_A_PASSWORD: 'pw',
    })
    expect(config.routing?.carriers.map((c) => c.id)).toEqual(['smsc-a'])
    expect(config.outboxClaimMs).toBe(30_000)
    expect(config.outboxWindow).toBe(16)
    expect(() => loadConfig({ TEXTGATE_SECRET: SECRET, TEXTGATE_OUTBOX_WINDOW: '0' })).toThrow(
      /TEXTGATE_OUTBOX_WINDOW must be at least 1/,
    )
    expect(loadConfig({ TEXTGATE_SECRET: SECRET, TEXTGATE_OUTBOX_WINDOW: '8' }).outboxWindow).toBe(
      8,
    )
    writeFileSync(
      file,
      JSON.stringify({
        carriers: [{ ...carrier, port: 'x' }],
        projects: { '*': { rules: [{ routes: [{ carrier: 'smsc-b' }] }] } },
      }),
    )
    expect(problems({ TEXTGATE_SECRET: SECRET, TEXTGATE_ROUTES_FILE: file })).toEqual([
      `TEXTGATE_ROUTES_FILE (${file}): carriers.0.port: must be a number`,
    ])
    writeFileSync(
      file,
      JSON.stringify({
        carriers: [
          {
            id: 'twilio-us',
            type: 'twilio',
            accountSid: 'AC0123456789abcdef0123456789abcdef',
            authTokenEnv: 'TWILIO_AUTH_TOKEN',
            from: '+15005550006',
          },
        ],
        projects: { '*': { rules: [{ routes: [{ carrier: 'twilio-us' }] }] } },
      }),
    )
    expect(problems({ TEXTGATE_SECRET: SECRET, TEXTGATE_ROUTES_FILE: file })).toEqual([
      `TEXTGATE_ROUTES_FILE (${file}): carriers.0.authTokenEnv: the environment variable TWILIO_AUTH_TOKEN is not set (carrier "twilio-us")`,
    ])
    // A rule for UK (for GB) would never match a number: the server does not start with it.
    writeFileSync(
      file,
      JSON.stringify({
        carriers: [carrier],
        projects: {
          '*': { rules: [{ countries: ['GB', 'UK'], routes: [{ carrier: 'smsc-a' }] }] },
        },
      }),
    )
    expect(
      problems({ TEXTGATE_SECRET: SECRET, TEXTGATE_ROUTES_FILE: file, SMSC_A_PASSWORD: 'pw' }),
    ).toEqual([
      `TEXTGATE_ROUTES_FILE (${file}): projects.*.rules.0.countries.1: "UK" is not an ISO 3166-1 alpha-2 country code (the United Kingdom is GB)`,
    ])
    writeFileSync(file, '{ nope')
    expect(problems({ TEXTGATE_SECRET: SECRET, TEXTGATE_ROUTES_FILE: file })[0]).toMatch(
      /^TEXTGATE_ROUTES_FILE \(.*routes.json\): not valid JSON/,
    )
    expect(problems({ TEXTGATE_SECRET: SECRET, TEXTGATE_OUTBOX_CLAIM_MS: '5' })[0]).toBe(
      'TEXTGATE_OUTBOX_CLAIM_MS must be at least 1000',
    )
  })
})
