/**
 * An endpoint rotated by the code before several earlier secrets were kept (one previous
 * secret, in two columns) upgrades to the overlap list: a database migrated as that code did,
 * its rows written as that code wrote them, then migrated to now.
 */
import { type Kysely, sql } from 'kysely'
import { Migrator } from 'kysely/migration'
import { pino } from 'pino'
import { describe, expect, it } from 'vitest'
import { createTestStorage, DIALECTS } from '../../testing/storage'
import { raiseKeyRevoked } from '../../testing/webhook-events'
import { createProject } from '../projects'
import { encrypt } from '../secrets'
import { migrateToLatest, openStorage, type Storage } from '../storage'
import { migrations } from '../storage/migrations'
import { createWebhookDispatcher } from './dispatcher'
import { createEndpoint, endpointView, newWebhookSecret, rotateSecret } from './endpoints'
import type { SendInput } from './send'

const KEY = Buffer.alloc(32, 9)
const AT = Date.parse('2026-12-07T09:00:00Z')
/** The first migration this change added: the database is made by the code before it. */
const FIRST_NEW = '20261207T100000-webhook-endpoint-hold'

/** An empty database of `dialect`, with nothing migrated; `dispose` gives it back. */
async function emptyDatabase(dialect: 'sqlite' | 'postgres') {
  if (dialect === 'sqlite') {
    const storage = openStorage('sqlite::memory:')
    return { storage, dispose: () => storage.close() }
  }
  // A leased database, emptied to nothing, and given back migrated to now whatever the test did
  // (the next suite to lease it reads its migrations; a schema that differs from the one it was
  // leased with gets it cloned afresh).
  const leased = await createTestStorage('postgres')
  const reset = async () => {
    await sql`DROP SCHEMA public CASCADE`.execute(leased.db)
    await sql`CREATE SCHEMA public`.execute(leased.db)
  }
  await reset()
  return {
    storage: leased as Storage,
    dispose: async () => {
      try {
        await migrateToLatest(leased)
      } catch {
        await reset()
        await migrateToLatest(leased)
      }
      await leased.dispose()
    },
  }
}

for (const dialect of DIALECTS) {
  describe(`webhook secrets from a database before the overlap list (${dialect})`, () => {
    it("moves an endpoint's previous secret into the list; it signs until its own end", async () => {
      const { storage, dispose } = await emptyDatabase(dialect)
      try {
        const before = Object.fromEntries(
          Object.entries(migrations).filter(([name]) => name < FIRST_NEW),
        )
        const old = new Migrator({
          db: storage.db,
          provider: { getMigrations: async () => before },
        })
        const made = await old.migrateToLatest()
        expect(made.error).toBeUndefined()
        expect(made.results?.map((r) => r.migrationName)).toEqual(Object.keys(before))

        // Rows as the code before wrote them, in its schema (untyped, as migrations see it).
        // biome-ignore lint/suspicious/noExplicitAny: the schema before this change
        const db = storage.db as unknown as Kysely<any>
        await db
          .insertInto('projects')
          .values({
            id: 'prj_old',
            name: 'Old shop',
            allowed_origins: '[]',
            allowed_countries: null,
            brand: 'Old shop',
            code_length: 6,
            created_at: AT,
          })
          .execute()
        const secrets = {
          rotating: [newWebhookSecret(), newWebhookSecret()],
          lapsed: [newWebhookSecret(), newWebhookSecret()],
          never: [newWebhookSecret()],
        }
        const row = (id: string, current: string, previous?: [string, number]) => ({
          id,
          project_id: 'prj_old',
          mode: 'test',
          url: `https://hooks.shop.example/${id}`,
          description: null,
          events: null,
          enabled: 1,
          disabled_reason: null,
          failing_since: null,
          secret_encrypted: encrypt(KEY, current),
          previous_secret_encrypted: previous ? encrypt(KEY, previous[0]) : null,
          previous_secret_expires_at: previous ? previous[1] : null,
          created_at: AT - 86_400_000,
          updated_at: AT - 3_600_000,
        })
        await db
          .insertInto('webhook_endpoints')
          .values([
            row('we_rotating', secrets.rotating[1] as string, [
              secrets.rotating[0] as string,
              AT + 3_600_000,
            ]),
            row('we_lapsed', secrets.lapsed[1] as string, [secrets.lapsed[0] as string, AT - 1]),
            row('we_never', secrets.never[0] as string),
          ])
          .execute()

        expect(await migrateToLatest(storage)).toEqual(
          Object.keys(migrations).filter((name) => name >= FIRST_NEW),
        )
        const rows = await storage.db
          .selectFrom('webhook_endpoints')
          .selectAll()
          .orderBy('id')
          .execute()
        const views = Object.fromEntries(rows.map((r) => [r.id, endpointView(r, AT)]))
        expect(views.we_rotating).toMatchObject({
          previousSecrets: [{ expiresAt: new Date(AT + 3_600_000).toISOString() }],
          previousSecretExpiresAt: new Date(AT + 3_600_000).toISOString(),
          heldUntil: null,
        })
        expect(views.we_lapsed).toMatchObject({
          previousSecrets: [],
          previousSecretExpiresAt: null,
        })
        expect(views.we_never).toMatchObject({ previousSecrets: [], previousSecretExpiresAt: null })
        // A process of the build before, still up during a rolling upgrade, reads its columns
        // as it did: they stay, with what they held.
        const oldBuild = await sql<{ previous_secret_expires_at: number | string }>`
          select secret_encrypted, previous_secret_encrypted, previous_secret_expires_at
          from webhook_endpoints where id = ${'we_rotating'}`.execute(storage.db)
        expect(Number(oldBuild.rows[0]?.previous_secret_expires_at)).toBe(AT + 3_600_000)

        // The dispatcher signs with what the rows held: the previous secret until its end.
        let clock = AT
        const sent: SendInput[] = []
        const dispatcher = createWebhookDispatcher({
          storage,
          encryptionKey: KEY,
          logger: pino({ level: 'silent' }),
          now: () => clock,
          send: async (input) => {
            sent.push(input)
            return { ok: true, statusCode: 204, latencyMs: 1, error: null }
          },
        })
        const raise = () => raiseKeyRevoked(storage.db, 'prj_old', clock)
        const signedWith = () =>
          Object.fromEntries(sent.splice(0).map((s) => [s.url.split('/').at(-1), s.secrets]))
        await raise()
        expect(await dispatcher.drain()).toBe(3)
        expect(signedWith()).toEqual({
          we_rotating: secrets.rotating.slice().reverse(),
          we_lapsed: [secrets.lapsed[1]],
          we_never: secrets.never,
        })
        clock = AT + 3_600_000
        await raise()
        expect(await dispatcher.drain()).toBe(3)
        expect(signedWith().we_rotating).toEqual([secrets.rotating[1]])

        // And back: the newest earlier secret in the two columns again.
        const down = await new Migrator({
          db: storage.db,
          provider: { getMigrations: async () => migrations },
        }).migrateTo('20261207T100000-webhook-endpoint-hold')
        expect(down.error).toBeUndefined()
        const restored = await db
          .selectFrom('webhook_endpoints')
          .select(['id', 'previous_secret_expires_at'])
          .orderBy('id')
          .execute()
        expect(restored.map((r) => [r.id, Number(r.previous_secret_expires_at) || null])).toEqual([
          ['we_lapsed', AT - 1],
          ['we_never', null],
          ['we_rotating', AT + 3_600_000],
        ])
      } finally {
        await dispose()
      }
    })
  })
}

for (const dialect of DIALECTS) {
  describe(`rotations of one endpoint at once (${dialect})`, () => {
    it('loses no secret: each keeps signing, whichever rotation wrote first', async () => {
      const storage = await createTestStorage(dialect)
      try {
        const { project } = await createProject(storage.db, {
          name: 'Busy shop',
          origins: ['https://busy.example'],
        })
        const scope = {
          projectId: project.id,
          mode: 'test' as const,
          networks: { ranges: [], testLoopback: true },
        }
        const created = await createEndpoint(storage.db, KEY, scope, {
          url: 'http://127.0.0.1:9/hooks',
        })
        const rotations = await Promise.all(
          [0, 1, 2].map(() => rotateSecret(storage.db, KEY, scope, created.id, 3_600_000, AT)),
        )
        const row = await storage.db
          .selectFrom('webhook_endpoints')
          .select(['secret_encrypted', 'previous_secrets'])
          .where('id', '=', created.id)
          .executeTakeFirstOrThrow()
        const { decrypt } = await import('../secrets')
        const current = decrypt(KEY, row.secret_encrypted)
        const earlier = JSON.parse(row.previous_secrets ?? '[]').map((p: { secret: string }) =>
          decrypt(KEY, p.secret),
        )
        // One of the three is current; the other two and the first secret still sign.
        const all = [created.secret, ...rotations.map((r) => r.secret)]
        expect([current, ...earlier].sort()).toEqual(all.sort())
      } finally {
        await storage.dispose()
      }
    })
  })
}
