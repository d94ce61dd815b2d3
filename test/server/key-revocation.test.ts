/**
 * Revoking a key reaches every server process within seconds: two real servers on one database,
 * the key revoked from the command line (a third process), both polled until they refuse it.
 */

import { DIALECTS } from '@textgate/server/testing/storage'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cliAsync, createProject } from '../support/processes'
import { startTwoServers, type TwoServers } from '../support/two-servers'

/** The promise of the key cache (keys/cache.ts), with room for a loaded machine. */
const BOUND_MS = 5_000

for (const dialect of DIALECTS) {
  describe(`key revocation across processes (${dialect})`, () => {
    let pair: TwoServers

    beforeAll(async () => {
      pair = await startTwoServers(dialect, {}, 'tg-revoke-')
    }, 120_000)
    afterAll(async () => {
      await pair?.close()
    })

    it('both servers refuse a revoked secret key within 5 s', async () => {
      const { servers, cliEnv: env } = pair
      const project = createProject(env, 'Revoke', ['https://shop.example'])
      const call = (url: string) =>
        fetch(`${url}/v1/fraud/lists`, {
          headers: { Authorization: `Bearer ${project.secretKey}` },
        }).then((r) => r.status)
      // Both have the key in their cache.
      for (const server of servers) expect(await call(server.url)).toBe(200)

      const list = await cliAsync(['keys', 'list', '--project', project.projectId, '--json'], env)
      expect(list.status, list.stderr).toBe(0)
      const keys = JSON.parse(list.stdout) as { id: string; kind: string }[]
      const secret = keys.find((k) => k.kind === 'secret')
      const revoked = await cliAsync(
        ['keys', 'revoke', '--project', project.projectId, '--id', secret!.id, '--json'],
        env,
      )
      // Counted from the command's exit: its own start-up (tsx, migrations) is no server's delay.
      const started = Date.now()
      expect(revoked.status, revoked.stderr).toBe(0)
      expect(JSON.parse(revoked.stdout)).toMatchObject({ revoked: true })
      expect(revoked.stderr).toContain('"event":"key.revoked"')
      expect(revoked.stderr).not.toContain(project.secretKey)

      const refusedAfter = await Promise.all(
        servers.map(async (server) => {
          while ((await call(server.url)) !== 401) {
            if (Date.now() - started > 15_000) return Number.POSITIVE_INFINITY
            await new Promise((r) => setTimeout(r, 100))
          }
          return Date.now() - started
        }),
      )
      console.log(
        `key revocation (${dialect}): refused by both servers after ${refusedAfter.join(' and ')} ms`,
      )
      for (const ms of refusedAfter) expect(ms).toBeLessThanOrEqual(BOUND_MS)
      const after = await cliAsync(['keys', 'list', '--project', project.projectId], env)
      expect(after.stdout).toMatch(/REVOKED/)
    }, 60_000)
  })
}
