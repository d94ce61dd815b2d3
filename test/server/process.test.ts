import { spawnSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { request } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  CLI_TIMEOUT_MS,
  cli,
  cliAsync,
  createProject,
  ROOT,
  spawning,
  startTextgate,
  tempDir,
} from '../support/processes'

describe('pnpm textgate', () => {
  it('names each bad setting and refuses to start', { timeout: spawning(1) }, () => {
    const { status, stderr } = cli(['serve'], {
      PORT: 'abc',
      DATABASE_URL: 'mongodb://x',
      TEXTGATE_SECRET: 'too-short',
    })
    expect(status).toBe(1)
    expect(stderr).toContain('PORT must be a whole number')
    expect(stderr).toContain('DATABASE_URL must be postgres://')
    expect(stderr).toContain('TEXTGATE_SECRET must be at least 32 bytes')
    expect(stderr).not.toContain('too-short')
  })

  it('refuses to start in production without TEXTGATE_SECRET', { timeout: spawning(1) }, () => {
    const dir = tempDir()
    const { status, stderr } = cli(['serve'], {
      NODE_ENV: 'production',
      TEXTGATE_SECRET: '',
      TEXTGATE_DATA_DIR: dir.path,
    })
    dir.remove()
    expect(status).toBe(1)
    expect(stderr).toMatch(/TEXTGATE_SECRET is required in production/)
  })

  it('answers `pnpm textgate … --json` with nothing but its JSON on stdout', {
    timeout: spawning(2),
  }, () => {
    // As DESIGN.md names it: through pnpm itself (the one running this suite, or the PATH's).
    const pnpm = process.env.npm_execpath
    const [command, prefix] = pnpm?.endsWith('js') ? [process.execPath, [pnpm]] : ['pnpm', []]
    const dir = tempDir()
    const run = (args: string[]) =>
      spawnSync(command, [...prefix, 'textgate', ...args], {
        cwd: ROOT,
        env: {
          ...process.env,
          DATABASE_URL: `sqlite:${dir.path}/textgate.db`,
          TEXTGATE_SECRET: 'x'.repeat(40),
          TEXTGATE_DATA_DIR: dir.path,
        },
        encoding: 'utf8',
        timeout: CLI_TIMEOUT_MS,
      })
    try {
      const made = run([
        'projects',
        'create',
        '--name',
        'Shop',
        '--origin',
        'https://a.example',
        '--json',
      ])
      expect(made.status, made.stderr).toBe(0)
      expect(JSON.parse(made.stdout)).toMatchObject({ projectId: expect.stringMatching(/^prj_/) })
      const wrong = run(['projects', 'nope', '--json'])
      expect(wrong.status).toBe(2)
      expect(JSON.parse(wrong.stdout)).toMatchObject({ error: { code: 'usage' } })
    } finally {
      dir.remove()
    }
  })

  it('explains usage errors', { timeout: spawning(2) }, () => {
    const { status, stderr } = cli(['projects', 'create', '--origin', 'https://a.example'], {})
    expect(status).toBe(2)
    expect(stderr).toContain('projects create needs --name')
    const bad = cli(['projects', 'create', '--name', 'x', '--origin', 'https://a.example/path'], {
      DATABASE_URL: 'sqlite::memory:',
      TEXTGATE_SECRET: 'x'.repeat(40),
    })
    expect(bad.status).toBe(1)
    expect(bad.stderr).toContain('must be an origin only')
  })
})

describe('pnpm textgate routes', () => {
  it('checks a routing file and names each bad field, without printing secrets', {
    timeout: spawning(4),
  }, () => {
    const dir = tempDir()
    const file = `${dir.path}/routes.json`
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
        projects: { '*': { rules: [{ prefixes: ['+44'], routes: [{ carrier: 'smsc-a' }] }] } },
      }),
    )
    const ok = cli(['routes', 'check', '--file', file], { SMSC_A_PASSWORD: 'hunter22' })
    expect(ok.status, ok.stderr).toBe(0)
    expect(ok.stdout).toContain('is valid: 1 carriers (smsc-a)')
    const plan = cli(
      ['routes', 'plan', '--file', file, '--project', 'prj_x', '--to', '+447400123456'],
      {
        SMSC_A_PASSWORD: 'hunter22',
      },
    )
    expect(plan.stdout).toContain('1. smsc-a (priority 0, weight 1) from projects.*.rules.0')
    expect(`${ok.stdout}${plan.stdout}`).not.toContain('hunter22')
    writeFileSync(
      file,
      JSON.stringify({
        carriers: [{ ...carrier, port: 0, password: 'hunter22', passwordEnv: undefined }],
        projects: { '*': { rules: [{ routes: [{ carrier: 'smsc-b' }] }] } },
      }),
    )
    const bad = cli(['routes', 'check', '--file', file], {})
    expect(bad.status).toBe(1)
    expect(bad.stderr).toContain('carriers.0.port: must be 1 to 65535')
    expect(bad.stderr).not.toContain('hunter22')
    writeFileSync(
      file,
      JSON.stringify({
        carriers: [carrier],
        projects: { '*': { rules: [{ countries: ['UK'], routes: [{ carrier: 'smsc-a' }] }] } },
      }),
    )
    const uk = cli(['routes', 'check', '--file', file], { SMSC_A_PASSWORD: 'hunter22' })
    dir.remove()
    expect(uk.status).toBe(1)
    expect(uk.stderr).toContain(
      'projects.*.rules.0.countries.0: "UK" is not an ISO 3166-1 alpha-2 country code (the United Kingdom is GB)',
    )
  })
})

describe('a running server', () => {
  const METRICS_TOKEN = 'metrics-token-for-the-process-test'
  let server: Awaited<ReturnType<typeof startTextgate>>
  beforeAll(async () => {
    server = await startTextgate({
      env: { METRICS_TOKEN, TEXTGATE_HEAP_GROWING_PERCENT: '300' },
    })
  }, spawning(1))
  afterAll(async () => {
    await server?.close()
  }, CLI_TIMEOUT_MS)

  it("sets V8's heap growing percent from TEXTGATE_HEAP_GROWING_PERCENT (serve does, ../../server/src/heap.ts)", async () => {
    // V8 flags cannot be read back: /metrics shows what the process's setHeapGrowing call set
    // (0 had serve not called it); heap.process.test.ts shows that call changes the collections.
    const scraped = await fetch(`${server.url}/metrics`, {
      headers: { authorization: `Bearer ${METRICS_TOKEN}` },
    })
    expect(scraped.status).toBe(200)
    expect(await scraped.text()).toMatch(/^textgate_heap_growing_percent 300$/m)
  })

  it('creates projects from the command line with test keys', { timeout: spawning(2) }, () => {
    const project = createProject(server.env, 'CLI shop', [
      'https://shop.example',
      'http://localhost:3000/',
    ])
    expect(project.projectId).toMatch(/^prj_/)
    expect(project.publishableKey).toMatch(/^pk_test_[A-Za-z0-9]{32}$/)
    expect(project.secretKey).toMatch(/^sk_test_[A-Za-z0-9]{40}$/)
    expect(project.origins).toEqual(['https://shop.example', 'http://localhost:3000'])
    const live = cli(
      ['keys', 'create', '--project', project.projectId, '--live', '--json'],
      server.env,
    )
    expect(live.status, live.stderr).toBe(0)
    expect(JSON.parse(live.stdout)).toMatchObject({
      projectId: project.projectId,
      mode: 'live',
      publishableKey: expect.stringMatching(/^pk_live_[A-Za-z0-9]{32}$/),
      secretKey: expect.stringMatching(/^sk_live_[A-Za-z0-9]{40}$/),
    })
  })

  it('starts signing with a key rotated --now while the old one stays published', {
    timeout: spawning(2),
  }, async () => {
    const before = (await (await fetch(`${server.url}/.well-known/jwks.json`)).json()) as {
      keys: { kid: string }[]
    }
    expect(before.keys).toHaveLength(1)
    // At once (the default publishes first: test/server/signing-key-rotation.test.ts).
    const rotated = await cliAsync(['keys', 'rotate', '--now', '--json'], server.env)
    expect(rotated.status, rotated.stderr).toBe(0)
    // cli() blocks this event loop (spawnSync). On a loaded machine that can outlast the server's
    // keep-alive timeout: let the loop notice the connection the server closed meanwhile, so
    // that fetch does not reuse it ("other side closed").
    await new Promise((resolve) => setTimeout(resolve, 100))
    const { kid, retiredKid } = JSON.parse(rotated.stdout) as { kid: string; retiredKid: string }
    expect(retiredKid).toBe(before.keys[0]!.kid)
    // Audited, as the console's rotation is: the server chain's one entry so far (the project
    // and its live keys, made from the command line too, are in the project's), chains intact.
    const audit = await cliAsync(['audit', 'verify', '--json'], server.env)
    expect(audit.status, audit.stdout).toBe(0)
    const report = JSON.parse(audit.stdout) as {
      rows: number
      chainSchemes: { projectId: string; rows: number }[]
    }
    expect(report.rows).toBe(3)
    expect(report.chainSchemes.find((chain) => chain.projectId === '*')).toMatchObject({ rows: 1 })
    const after = (await (await fetch(`${server.url}/.well-known/jwks.json`)).json()) as {
      keys: { kid: string; d?: string }[]
    }
    expect(after.keys.map((k) => k.kid).sort()).toEqual([kid, retiredKid].sort())
    expect(after.keys.every((k) => k.d === undefined)).toBe(true)
  })

  it('withdraws a signing key from the command line: the running server stops publishing it at once', {
    timeout: spawning(5),
  }, async () => {
    const kids = async () =>
      (
        (await (await fetch(`${server.url}/.well-known/jwks.json`)).json()) as {
          keys: { kid: string }[]
        }
      ).keys.map((k) => k.kid)
    const [signing, retired] = await kids()
    // The key that signs now: only with its successor made in the same step.
    const alone = await cliAsync(['keys', 'withdraw', '--kid', signing!], server.env)
    expect(alone.status).toBe(2)
    expect(alone.stderr).toContain('--rotate')
    const unknown = await cliAsync(['keys', 'withdraw', '--kid', 'no-such-kid'], server.env)
    expect(unknown.status).toBe(1)
    expect(unknown.stderr).toContain('no signing key no-such-kid')
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(await kids()).toEqual([signing, retired])
    const withdrawn = await cliAsync(
      ['keys', 'withdraw', '--kid', signing!, '--rotate', '--json'],
      server.env,
    )
    expect(withdrawn.status, withdrawn.stderr).toBe(0)
    const result = JSON.parse(withdrawn.stdout) as { withdrawn: boolean; newKid: string }
    expect(result.withdrawn).toBe(true)
    expect(withdrawn.stderr).toContain('"event":"signing_key.withdrawn"')
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(await kids()).toEqual([result.newKid, retired])
    // The retired one alone, and the audit log holds both, its chain intact.
    const second = await cliAsync(['keys', 'withdraw', '--kid', retired!, '--json'], server.env)
    expect(second.status, second.stderr).toBe(0)
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(await kids()).toEqual([result.newKid])
    const audit = await cliAsync(['audit', 'verify', '--json'], server.env)
    expect(audit.status, audit.stdout).toBe(0)
  })
})

describe('shutdown', () => {
  // A server start and a CLI command, then the server's exit.
  it('finishes a request under way on SIGTERM, then exits cleanly', {
    timeout: spawning(3),
  }, async () => {
    // Node itself, not the tsx wrapper: tsx gives a child only 30 ms to acknowledge a relayed
    // SIGTERM before it SIGKILLs it and exits 143, which a loaded machine can miss.
    const server = await startTextgate({ direct: true })
    const project = createProject(server.env, 'Shutdown', ['https://shop.example'])
    const body = JSON.stringify({ phone: '+447400123123', consent: { accepted: true } })
    // Send the headers and half the body, signal, then the rest: the request is in flight.
    const response = new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request(`${server.url}/v1/verifications`, {
        method: 'POST',
        headers: {
          Authorization: `Bearer ${project.publishableKey}`,
          Origin: 'https://shop.example',
          'Content-Type': 'application/json',
          'Content-Length': Buffer.byteLength(body),
        },
      })
      req.on('response', (res) => {
        let text = ''
        res.on('data', (chunk) => {
          text += chunk
        })
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }))
      })
      req.on('error', reject)
      req.write(body.slice(0, 10))
      setTimeout(() => {
        server.child.kill('SIGTERM')
        setTimeout(() => req.end(body.slice(10)), 300)
      }, 200)
    })
    const { status, text } = await response
    expect(status).toBe(201)
    expect(JSON.parse(text)).toMatchObject({ status: 'pending' })
    expect(await server.close()).toBe(0)
    expect(server.output()).not.toContain('unhandled')
  })
})
