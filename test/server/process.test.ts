import { request } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cli, cliAsync, createProject, startTextgate, tempDir } from '../support/processes'

describe('pnpm textgate', () => {
  it('names each bad setting and refuses to start', () => {
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

  it('refuses to start in production without TEXTGATE_SECRET', () => {
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

  it('explains usage errors', () => {
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

describe('a running server', () => {
  let server: Awaited<ReturnType<typeof startTextgate>>
  beforeAll(async () => {
    server = await startTextgate()
  })
  afterAll(async () => {
    await server?.close()
  })

  it('creates projects from the command line with test keys', () => {
    const project = createProject(server.env, 'CLI shop', [
      'https://shop.example',
      'http://localhost:3000/',
    ])
    expect(project.projectId).toMatch(/^prj_/)
    expect(project.publishableKey).toMatch(/^pk_test_[A-Za-z0-9]{32}$/)
    expect(project.secretKey).toMatch(/^sk_test_[A-Za-z0-9]{40}$/)
    expect(project.origins).toEqual(['https://shop.example', 'http://localhost:3000'])
  })

  it('starts signing with a rotated key while the old one stays published', async () => {
    const before = (await (await fetch(`${server.url}/.well-known/jwks.json`)).json()) as {
      keys: { kid: string }[]
    }
    expect(before.keys).toHaveLength(1)
    const rotated = await cliAsync(['keys', 'rotate', '--json'], server.env)
    expect(rotated.status, rotated.stderr).toBe(0)
    const { kid, retiredKid } = JSON.parse(rotated.stdout) as { kid: string; retiredKid: string }
    expect(retiredKid).toBe(before.keys[0]!.kid)
    const after = (await (await fetch(`${server.url}/.well-known/jwks.json`)).json()) as {
      keys: { kid: string; d?: string }[]
    }
    expect(after.keys.map((k) => k.kid).sort()).toEqual([kid, retiredKid].sort())
    expect(after.keys.every((k) => k.d === undefined)).toBe(true)
  })
})

describe('shutdown', () => {
  it('finishes a request under way on SIGTERM, then exits cleanly', async () => {
    const server = await startTextgate()
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
