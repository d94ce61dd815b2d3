/**
 * A rotation publishes the next signing key before any token carries its kid: two real servers
 * on one database, `pnpm textgate keys rotate --publish-first` from a third process. Both JWKS have the new key
 * at once; both go on signing with the old one; `keys list` shows the next key and when it
 * signs; then both switch by themselves, without a restart or a signal.
 *
 * The wait is the JWKS's max-age and a minute (6 minutes). The servers read the time from the
 * system clock, so instead of sleeping the test moves the rotation's schedule (the next key's
 * signs_from and the old key's retired_at, which the rotation set to the same moment) to a
 * few seconds from now: to the servers, that is the wait running out.
 */

import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { openStorage } from '@textgate/server/storage'
import { DIALECTS } from '@textgate/server/testing/storage'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type CreatedProject,
  cliAsync,
  createProject,
  verifyThroughApi,
} from '../support/processes'
import { startTwoServers, type TwoServers } from '../support/two-servers'

/** The `kid` of a token's protected header. */
const kidOf = (token: string) =>
  (JSON.parse(Buffer.from(token.split('.')[0] ?? '', 'base64url').toString()) as { kid: string })
    .kid

for (const dialect of DIALECTS) {
  describe(`signing key rotation across processes (${dialect})`, () => {
    let pair: TwoServers
    let project: CreatedProject
    let phone = 447400100000

    beforeAll(async () => {
      pair = await startTwoServers(dialect, {}, 'tg-rotate-')
      // Many verifications from one address in minutes: the guard's velocity rules would stop
      // them, and they are not what this file checks.
      const settings = join(pair.dir, 'fraud.json')
      writeFileSync(settings, JSON.stringify({ velocity: { mode: 'off' } }))
      project = createProject(pair.servers[0]!.env, 'Rotate', ['https://shop.example'], settings)
    }, 120_000)
    afterAll(async () => {
      await pair?.close()
    })

    const tokenKids = () =>
      Promise.all(
        pair.servers.map(async (s) => kidOf(await verifyThroughApi(s.url, project, `+${phone++}`))),
      )
    const jwksKids = () =>
      Promise.all(
        pair.servers.map(async (s) => {
          const res = await fetch(`${s.url}/.well-known/jwks.json`)
          expect(res.headers.get('cache-control')).toBe('public, max-age=300')
          return ((await res.json()) as { keys: { kid: string }[] }).keys.map((k) => k.kid)
        }),
      )

    it('publishes the next key first, signs with it only after the wait, in every process', async () => {
      const [first] = await tokenKids()
      expect(await tokenKids()).toEqual([first, first])

      const rotatedAt = Date.now()
      const rotated = await cliAsync(['keys', 'rotate', '--publish-first', '--json'], pair.cliEnv)
      expect(rotated.status, rotated.stderr).toBe(0)
      const { kid, retiredKid, signsFrom } = JSON.parse(rotated.stdout) as {
        kid: string
        retiredKid: string
        signsFrom: string
      }
      // Both JWKS hold the next key at once; no token carries its kid, past the 3 s in which a
      // process looks for another's rotation.
      expect(await jwksKids()).toEqual([
        [kid, first],
        [kid, first],
      ])
      expect(await tokenKids()).toEqual([first, first])
      await new Promise((resolve) => setTimeout(resolve, 3_500))
      expect(await tokenKids()).toEqual([first, first])
      expect(retiredKid).toBe(first)
      expect(Date.parse(signsFrom) - rotatedAt).toBeGreaterThanOrEqual(360_000)
      expect(Date.parse(signsFrom) - rotatedAt).toBeLessThan(400_000)
      const listed = await cliAsync(['keys', 'list', '--json'], pair.cliEnv)
      expect(listed.status, listed.stderr).toBe(0)
      expect((JSON.parse(listed.stdout) as unknown[]).slice(0, 2)).toMatchObject([
        { kid, next: true, current: false, published: true, signsFrom },
        { kid: first, next: false, current: true, retiredAt: signsFrom },
      ])
      const text = await cliAsync(['keys', 'list'], pair.cliEnv)
      expect(text.stdout).toContain(`${kid}`)
      expect(text.stdout).toContain(`NEXT: published, signs from ${signsFrom}`)
      expect(text.stdout).toContain(`SIGNING until ${signsFrom}`)

      // The wait runs out (see the file's comment): both servers switch by themselves.
      const storage = openStorage(pair.databaseUrl)
      const switchAt = Date.now() + 2_000
      try {
        await storage.db
          .updateTable('signing_keys')
          .set({ signs_from: switchAt })
          .where('kid', '=', kid)
          .execute()
        await storage.db
          .updateTable('signing_keys')
          .set({ retired_at: switchAt })
          .where('kid', '=', first as string)
          .execute()
      } finally {
        await storage.close()
      }
      const before = await tokenKids()
      if (Date.now() < switchAt) expect(before).toEqual([first, first])
      const switched = await Promise.all(
        pair.servers.map(async (server) => {
          for (;;) {
            const token = await verifyThroughApi(server.url, project, `+${phone++}`)
            if (kidOf(token) === kid) return Date.now() - switchAt
            if (Date.now() - switchAt > 15_000) return Number.POSITIVE_INFINITY
            await new Promise((resolve) => setTimeout(resolve, 400))
          }
        }),
      )
      console.log(
        `signing key rotation (${dialect}): both servers signed with the next key ${switched.join(' and ')} ms after its moment`,
      )
      // Not before its moment; within a process's 3 s look for another's change after it.
      for (const ms of switched) expect(ms).toBeGreaterThanOrEqual(0)
      for (const ms of switched) expect(ms).toBeLessThanOrEqual(5_000)
      expect(await tokenKids()).toEqual([kid, kid])
      expect(await jwksKids()).toEqual([
        [kid, first],
        [kid, first],
      ])
      const audit = await cliAsync(['audit', 'verify', '--json'], pair.cliEnv)
      expect(audit.status, audit.stdout).toBe(0)
    }, 90_000)

    it('withdraws the signing key while a rotation waits: the next key signs at once', async () => {
      const [signing] = await tokenKids()
      const rotated = await cliAsync(['keys', 'rotate', '--publish-first', '--json'], pair.cliEnv)
      expect(rotated.status, rotated.stderr).toBe(0)
      const { kid } = JSON.parse(rotated.stdout) as { kid: string }
      // Waiting: the leaked key still signs in both servers, past their 3 s recheck.
      await new Promise((resolve) => setTimeout(resolve, 3_500))
      expect(await tokenKids()).toEqual([signing, signing])
      const withdrawn = await cliAsync(
        ['keys', 'withdraw', '--kid', signing!, '--json'],
        pair.cliEnv,
      )
      expect(withdrawn.status, withdrawn.stderr).toBe(0)
      expect(JSON.parse(withdrawn.stdout)).toMatchObject({
        withdrawn: true,
        currentKid: kid,
        newKid: null,
      })
      const deadline = Date.now() + 10_000
      let kids = await tokenKids()
      while (kids.some((k) => k !== kid) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 200))
        kids = await tokenKids()
      }
      expect(kids).toEqual([kid, kid])
      for (const published of await jwksKids()) expect(published).not.toContain(signing)
    }, 60_000)
  })
}
