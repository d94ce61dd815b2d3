/**
 * The Python store-server example (examples/python/verify_token.py) against a real Textgate
 * process, run by Debian's python3 with python3-jwt: it accepts a real token once, refuses it
 * the second time (redeem), refuses a tampered one, and refuses a test-mode token unless told.
 */
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type CreatedProject,
  createProject,
  ROOT,
  startTextgate,
  verifyThroughApi,
} from '../support/processes'

const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3'
const SCRIPT = join(ROOT, 'examples/python/verify_token.py')
const hasPyJwt =
  spawnSync(PYTHON, ['-c', 'import jwt, cryptography; assert jwt.__version__ >= "2.6"']).status ===
  0

describe.skipIf(!hasPyJwt)(
  hasPyJwt ? 'Python example' : 'Python example (skipped: apt-get install python3-jwt)',
  () => {
    let textgate: Awaited<ReturnType<typeof startTextgate>>
    let project: CreatedProject

    beforeAll(async () => {
      textgate = await startTextgate()
      project = createProject(textgate.env, 'Python shop', ['https://shop.example'])
    })
    afterAll(() => textgate?.close())

    const run = (token: string, env: Record<string, string> = {}) => {
      const result = spawnSync(PYTHON, [SCRIPT], {
        input: token,
        encoding: 'utf8',
        env: {
          PATH: process.env.PATH ?? '',
          TEXTGATE_URL: textgate.url.replace('localhost', '127.0.0.1'),
          TEXTGATE_PROJECT_ID: project.projectId,
          TEXTGATE_SECRET_KEY: project.secretKey,
          ...env,
        },
      })
      return {
        status: result.status,
        out: result.stdout ? JSON.parse(result.stdout) : undefined,
        err: result.stderr,
      }
    }

    it('verifies a real token once, then refuses it as already redeemed', async () => {
      const token = await verifyThroughApi(textgate.url, project, '+447400123456')
      const first = run(token, { TEXTGATE_ALLOW_TEST_MODE: '1' })
      expect(first.err).toBe('')
      expect(first.status).toBe(0)
      expect(first.out.claims).toMatchObject({
        phone_number: '+447400123456',
        phone_number_verified: true,
        mode: 'test',
        aud: `${project.projectId}:test`,
      })
      const again = run(token, { TEXTGATE_ALLOW_TEST_MODE: '1' })
      expect(again.status).toBe(1)
      expect(again.out).toEqual({ valid: false, reason: 'already_redeemed' })
    })

    it('refuses a test-mode token unless test mode is allowed, and a tampered token', async () => {
      const token = await verifyThroughApi(textgate.url, project, '+447400123457')
      const live = run(token)
      expect(live.status).toBe(1)
      expect(live.out.valid).toBe(false)
      const [header, payload, signature] = token.split('.') as [string, string, string]
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString())
      claims.phone_number = '+447400999999'
      const forged = `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${signature}`
      const tampered = run(forged, { TEXTGATE_ALLOW_TEST_MODE: '1' })
      expect(tampered.status).toBe(1)
      expect(tampered.out.reason).toMatch(/signature/i)
      const otherProject = run(token, {
        TEXTGATE_ALLOW_TEST_MODE: '1',
        TEXTGATE_PROJECT_ID: 'prj_someoneelse',
      })
      expect(otherProject.status).toBe(1)
      expect(otherProject.out.reason).toMatch(/audience/i)
    })
  },
)
