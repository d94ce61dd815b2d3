/**
 * Data at rest: erasure by number leaves the number in no form anywhere — the SQLite file and its
 * WAL byte by byte, every PostgreSQL table row by row — and retention masks old rows across
 * processes while their counts survive.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import SqliteDatabase from 'better-sqlite3'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { login, makeOperator } from '../../testing/console'
import { createHarness, type Harness } from '../../testing/harness'
import { DIALECTS } from '../../testing/storage'
import { appendAudit, phoneDigest, verifyAuditChain } from '../audit'
import { addListEntry } from '../fraud/list-entries'
import { createEndpoint } from '../webhooks/endpoints'
import { applyRetention, DAY_MS, type RetentionResult } from './retention'

const PHONE = '+447400123456'
/** Every form the number could be written in. */
const FORMS = ['+447400123456', '447400123456', '07400123456', '07400 123456', '7400123456']
const OTHER = '+447400654321'

/** The forms of the number found in the database: file bytes on SQLite, rows on PostgreSQL. */
async function formsFound(h: Harness, file: string | undefined): Promise<string[]> {
  let haystack = ''
  if (file) {
    for (const path of [file, `${file}-wal`]) {
      if (existsSync(path)) haystack += readFileSync(path).toString('latin1')
    }
  } else {
    const { rows } = await sql<{ table_name: string }>`
      select table_name from information_schema.tables
      where table_schema = 'public' and table_type = 'BASE TABLE'`.execute(h.db)
    for (const { table_name } of rows) {
      const dump = await sql<{
        row: string
      }>`select row_to_json(t)::text as row from ${sql.table(table_name)} t`.execute(h.db)
      haystack += dump.rows.map((r) => r.row).join('\n')
    }
  }
  return FORMS.filter((form) => haystack.includes(form))
}

for (const dialect of DIALECTS) {
  describe(`erasure by number (${dialect})`, () => {
    let h: Harness
    let pk: string
    let sk: string
    let projectId: string
    const dir = mkdtempSync(join(tmpdir(), 'tg-erasure-'))
    const file = dialect === 'sqlite' ? join(dir, 'textgate.db') : undefined

    beforeAll(async () => {
      // The server's SQLite set-up: its hot path writes through the writer thread's connection.
      h = await createHarness(dialect, { sqliteFile: file, writerThread: file !== undefined })
      // Default fraud settings: counters keyed by the number are written too.
      const created = await h.project({ name: 'Erase', fraudSettings: {} })
      pk = created.publishableKey
      sk = created.secretKey
      projectId = created.project.id
      await createEndpoint(
        h.db,
        h.secrets.encryptionKey,
        { projectId, mode: 'test' },
        { url: 'https://hooks.shop.example/textgate' },
      )
    })
    afterAll(async () => {
      await h.dispose()
      rmSync(dir, { recursive: true, force: true })
    })

    async function verify(phone: string, idempotencyKey?: string) {
      const started = await h.call('POST', '/v1/verifications', {
        key: pk,
        body: { phone, consent: { accepted: true, marketing: true } },
        headers: idempotencyKey ? { 'Idempotency-Key': idempotencyKey } : {},
      })
      expect(started.status).toBe(201)
      const [code] = await h.inbox(sk, phone)
      const checked = await h.call('POST', `/v1/verifications/${started.json.id}/check`, {
        key: pk,
        body: { code },
      })
      expect(checked.status).toBe(200)
      return started.json.id as string
    }

    it('removes the number in every form from every table, keeping operator lists unless asked', async () => {
      const id = await verify(PHONE, 'idem-erase-1')
      await verify(PHONE)
      await verify(OTHER)
      const wrong = await h.call('POST', `/v1/verifications/${id}/check`, {
        key: pk,
        body: { code: '000000' },
      })
      expect(wrong.status).toBeGreaterThanOrEqual(400)
      const listed = await h.call('POST', '/v1/fraud/lists', {
        key: sk,
        origin: null,
        body: { list: 'allow', kind: 'phone', value: PHONE, note: 'VIP' },
      })
      expect(listed.status).toBe(201)
      expect(await formsFound(h, file)).toContain(PHONE)

      const erased = await h.call('POST', '/v1/erasures', {
        key: sk,
        origin: null,
        body: { phone: '07400 123456', country: 'GB' },
      })
      expect(erased.status).toBe(200)
      expect(erased.json.rows).toMatchObject({ verifications: 2, sandboxMessages: 2 })
      expect(erased.json.rows.messages).toBeGreaterThanOrEqual(2)
      // The operator's allow entry stays: only it still holds the number.
      const lists = await h.call('GET', '/v1/fraud/lists', { key: sk, origin: null })
      expect(lists.json.some((e: { value: string }) => e.value === PHONE)).toBe(true)

      const all = await h.call('POST', '/v1/erasures', {
        key: sk,
        origin: null,
        body: { phone: PHONE, includeLists: true },
      })
      expect(all.json.rows.listEntries).toBe(1)
      expect(await formsFound(h, file)).toEqual([])

      // The other shopper's records are untouched; the erased verification reads as erased.
      const read = await h.call('GET', `/v1/verifications/${id}`, { key: sk, origin: null })
      expect(read.json.phone).toBe('[erased]')
      expect(read.json.status).toBe('approved')
      const others = await h.db
        .selectFrom('verifications')
        .select('phone')
        .where('phone', '=', OTHER)
        .execute()
      expect(others).toHaveLength(1)

      // A record that erasures happened, without the number.
      const records = await h.db.selectFrom('erasures').selectAll().execute()
      expect(records).toHaveLength(2)
      expect(JSON.stringify(records)).not.toMatch(/7400/)
      expect(records[0]).toMatchObject({ project_id: projectId })
    })

    it('writes a number put on a fraud list into the audit log masked with a keyed digest, so erasure leaves it nowhere', async () => {
      const owner = await login(h, await makeOperator(h, 'owner@erase.example', 'owner', projectId))
      const added = await owner.call('POST', `/projects/${projectId}/fraud/lists`, {
        body: { list: 'block', kind: 'phone', value: PHONE, note: 'pumping' },
      })
      expect(added.status).toBe(201)
      const removed = await owner.call(
        'DELETE',
        `/projects/${projectId}/fraud/lists/${added.json.id}`,
      )
      expect(removed.status).toBe(200)
      // What `fraud block --phone` writes (cli/commands/fraud.ts), through the same append.
      const entry = await addListEntry(h.db, projectId, {
        list: 'block',
        kind: 'phone',
        value: PHONE,
      })
      await appendAudit(h.db, h.secrets.auditKey, {
        projectId,
        actor: { type: 'cli', id: null, label: 'cli' },
        action: 'fraud.list.add',
        target: entry.id,
        after: entry,
      })
      const digest = phoneDigest(h.secrets.auditKey, PHONE)
      const found = await owner.call(
        'GET',
        `/projects/${projectId}/audit?phone=${encodeURIComponent('07400 123456')}`,
      )
      // Not a GB number without its country: the filter reads it as the lookup does.
      expect(found.status).toBe(400)
      const byNumber = await owner.call(
        'GET',
        `/projects/${projectId}/audit?phone=${encodeURIComponent(PHONE)}`,
      )
      expect(byNumber.status).toBe(200)
      expect(
        byNumber.json.entries.map((e: { action: string; before: unknown; after: unknown }) => [
          e.action,
          e.before,
          e.after,
        ]),
      ).toEqual([
        [
          'fraud.list.add',
          null,
          expect.objectContaining({ value: '+44 ••••••••56', valueHmac: digest }),
        ],
        [
          'fraud.list.remove',
          expect.objectContaining({ value: '+44 ••••••••56', valueHmac: digest }),
          null,
        ],
        [
          'fraud.list.add',
          null,
          expect.objectContaining({ value: '+44 ••••••••56', valueHmac: digest, note: 'pumping' }),
        ],
      ])
      const other = await owner.call(
        'GET',
        `/projects/${projectId}/audit?phone=${encodeURIComponent(OTHER)}`,
      )
      expect(other.json.entries).toEqual([])

      const erased = await h.call('POST', '/v1/erasures', {
        key: sk,
        origin: null,
        body: { phone: PHONE, includeLists: true },
      })
      expect(erased.json.rows.listEntries).toBe(1)
      expect(await formsFound(h, file)).toEqual([])
      expect((await verifyAuditChain(h.db, h.secrets.auditKey, { projectId })).ok).toBe(true)
    })

    it('keeps counter keys only as keyed HMACs', async () => {
      // Written behind the answers (fraud/counters/write-behind.ts) within a tenth of a second.
      const keys = await vi.waitFor(async () => {
        const rows = await h.db.selectFrom('fraud_counters').select('key').execute()
        expect(rows.length).toBeGreaterThan(0)
        return rows
      })
      // `<HMAC>|<window ms>`: nothing of the number, the prefix, the address or the project.
      for (const { key } of keys) expect(key).toMatch(/^[A-Za-z0-9_-]{32}\|\d+$/)
    })

    it('removes the kept answers of a number with hundreds of verifications', async () => {
      // More verifications than one pass over the answers looks for (IDS_PER_PASS, 200).
      const MANY = '+447400777888'
      const id = await verify(MANY, 'idem-many-0')
      const [verification] = await h.db
        .selectFrom('verifications')
        .selectAll()
        .where('id', '=', id)
        .execute()
      const [answer] = await h.db
        .selectFrom('idempotency_keys')
        .selectAll()
        .where('key', '=', 'idem-many-0')
        .execute()
      if (!verification || !answer) throw new Error('no verification or kept answer')
      const copies = Array.from({ length: 450 }, (_, i) => `${id}x${i}`)
      for (let from = 0; from < copies.length; from += 50) {
        const part = copies.slice(from, from + 50)
        await h.db
          .insertInto('verifications')
          .values(part.map((copy) => ({ ...verification, id: copy })))
          .execute()
        await h.db
          .insertInto('idempotency_keys')
          .values(
            part.map((copy) => ({
              ...answer,
              key: `idem-${copy}`,
              response_body: answer.response_body.replace(`"${id}"`, `"${copy}"`),
            })),
          )
          .execute()
      }
      const erased = await h.call('POST', '/v1/erasures', {
        key: sk,
        origin: null,
        body: { phone: MANY },
      })
      expect(erased.status).toBe(200)
      expect(erased.json.rows).toMatchObject({ verifications: 451, idempotencyKeys: 451 })
      const left = await h.db
        .selectFrom('idempotency_keys')
        .select('key')
        .where('key', 'like', 'idem-%')
        .where('key', '!=', 'idem-erase-1')
        .execute()
      expect(left).toEqual([])
    })

    it('refuses a bad number with 400 and changes nothing', async () => {
      const before = await h.db.selectFrom('erasures').select('id').execute()
      const res = await h.call('POST', '/v1/erasures', {
        key: sk,
        origin: null,
        body: { phone: 'not a number' },
      })
      expect(res.status).toBe(400)
      // UK for GB: named, where it read as a number needing its country.
      const uk = await h.call('POST', '/v1/erasures', {
        key: sk,
        origin: null,
        body: { phone: '07400 123456', country: 'UK' },
      })
      expect([uk.status, uk.json.error.message]).toEqual([
        400,
        '"UK" is not an ISO 3166-1 alpha-2 country code (the United Kingdom is GB)',
      ])
      expect(await h.db.selectFrom('erasures').select('id').execute()).toHaveLength(before.length)
      const pkTry = await h.call('POST', '/v1/erasures', { key: pk, body: { phone: PHONE } })
      expect(pkTry.status).toBe(403)
    })

    if (file) {
      it('keeps the database files readable by their owner only', () => {
        for (const path of [file, `${file}-wal`, `${file}-shm`]) {
          if (existsSync(path)) expect([path, statSync(path).mode & 0o777]).toEqual([path, 0o600])
        }
        expect(statSync(dir).mode & 0o777).toBe(0o700)
      })

      it('leaves no remnant an earlier version left in the file (rewritten once, at the first erasure)', async () => {
        const LEFT = '+447400999000'
        const holdsLeft = () =>
          [file, `${file}-wal`].some(
            (path) => existsSync(path) && readFileSync(path).toString('latin1').includes(LEFT),
          )
        // As an earlier version left it: unmarked, and a deleted row's bytes in free space.
        const earlier = new SqliteDatabase(file)
        earlier.pragma('secure_delete = OFF')
        earlier.exec('create table earlier_rows (id integer primary key, phone text)')
        earlier.prepare('insert into earlier_rows (phone) values (?), (?)').run(LEFT, OTHER)
        earlier.prepare('delete from earlier_rows where phone = ?').run(LEFT)
        earlier.pragma('wal_checkpoint(TRUNCATE)')
        earlier.pragma('user_version = 0')
        earlier.close()
        expect(holdsLeft()).toBe(true)

        const erased = await h.call('POST', '/v1/erasures', {
          key: sk,
          origin: null,
          body: { phone: LEFT },
        })
        expect(erased.status).toBe(200)
        expect(holdsLeft()).toBe(false)
        const { rows } = await sql<{ user_version: number }>`pragma user_version`.execute(h.db)
        expect(rows[0]?.user_version).toBe(1)
      })
    }
  })

  describe(`retention (${dialect})`, () => {
    let h: Harness
    let pk: string
    let sk: string

    beforeAll(async () => {
      h = await createHarness(dialect)
      const created = await h.project({ name: 'Retain', fraudSettings: {} })
      pk = created.publishableKey
      sk = created.secretKey
    })
    afterAll(() => h.dispose())

    it('masks numbers and addresses past the retention time, in two processes at once, keeping counts', async () => {
      for (const phone of [PHONE, OTHER]) {
        const res = await h.call('POST', '/v1/verifications', {
          key: pk,
          headers: { 'X-Forwarded-For': '203.0.113.77' },
          body: {
            phone,
            consent: { accepted: true },
            signals: { deviceId: 'dev_retained_0123456789', entry: 'typed', keys: 12 },
          },
        })
        expect(res.status).toBe(201)
      }
      await h.dispatcher.drain()
      // Figures behind a decision (a device's count among them) are kept with the decision.
      await h.db.updateTable('fraud_events').set({ figures: '{"deviceStarts1h":2}' }).execute()
      const withSignals = await h.db
        .selectFrom('verifications')
        .select('signals')
        .where('signals', 'like', '%dev_retained_%')
        .execute()
      expect(withSignals).toHaveLength(2)
      const countsBefore = await h.db
        .selectFrom('verifications')
        .select(['status', 'country'])
        .execute()
      // Not yet: 29 days later nothing changes.
      const early = await applyRetention(h.db, h.now() + 29 * DAY_MS, 30 * DAY_MS)
      expect(early).toEqual({
        verifications: 0,
        messages: 0,
        fraudEvents: 0,
        signals: 0,
        figures: 0,
      })
      // 31 days later, two processes run housekeeping at the same moment.
      const at = h.now() + 31 * DAY_MS
      const [a, b] = await Promise.all([
        applyRetention(h.db, at, 30 * DAY_MS),
        applyRetention(h.db, at, 30 * DAY_MS),
      ])
      expect(a.verifications + b.verifications).toBe(2)
      expect(a.messages + b.messages).toBe(2)
      expect(a.signals + b.signals).toBe(2)
      expect(a.figures + b.figures).toBe(2)
      // No device id and no figures are left anywhere past the retention time.
      expect(
        await h.db
          .selectFrom('verifications')
          .select('id')
          .where('signals', 'is not', null)
          .execute(),
      ).toEqual([])
      expect(
        await h.db
          .selectFrom('fraud_events')
          .select('id')
          .where('figures', 'is not', null)
          .execute(),
      ).toEqual([])
      const rows = await h.db
        .selectFrom('verifications')
        .select(['phone', 'ip', 'status', 'country'])
        .execute()
      expect(rows.map((r) => r.phone).sort()).toEqual(['+44…21', '+44…56'])
      expect(rows.every((r) => r.ip === null)).toBe(true)
      expect(rows.map(({ status, country }) => ({ status, country }))).toEqual(countsBefore)
      const messages = await h.db.selectFrom('messages').select('to').execute()
      expect(messages.every((m) => m.to.includes('…'))).toBe(true)
      const events = await h.db.selectFrom('fraud_events').select(['phone', 'ip']).execute()
      expect(events.every((e) => e.phone.includes('…') && e.ip === null)).toBe(true)
      // Idempotent: a later run has nothing left to do.
      expect(await applyRetention(h.db, at + 1, 30 * DAY_MS)).toEqual({
        verifications: 0,
        messages: 0,
        fraudEvents: 0,
        signals: 0,
        figures: 0,
      })
      void sk
    })
  })
}

// A deadlock needs row locks held by two writers at once: PostgreSQL's, not SQLite's one writer.
if (DIALECTS.includes('postgres')) {
  describe('retention chosen to break a deadlock (postgres)', () => {
    let h: Harness
    let pk: string

    beforeAll(async () => {
      h = await createHarness('postgres')
      pk = (await h.project({ name: 'Deadlock', fraudSettings: {} })).publishableKey
    })
    afterAll(() => h.dispose())

    it('runs the statement PostgreSQL rolled back again, and masks every row', async () => {
      // The test databases are leased and emptied with DELETE, so new rows may land in space an
      // earlier suite freed, in any order. A fresh heap keeps them in the order written, which is
      // the order retention's scan takes them in (the index ties on created_at break by position).
      await sql`truncate verifications cascade`.execute(h.db)
      const ids: string[] = []
      for (const phone of ['+447400111111', '+447400222222', '+447400333333']) {
        const res = await h.call('POST', '/v1/verifications', {
          key: pk,
          body: { phone, consent: { accepted: true } },
        })
        expect(res.status).toBe(201)
        ids.push(res.json.id as string)
      }
      const [first, , last] = ids
      let retention: Promise<RetentionResult> | undefined
      let waitedMs = 0
      await h.db.transaction().execute(async (trx) => {
        const { rows: me } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(trx)
        // Retention's statements on verifications that wait for a row this transaction holds.
        const lockWaits = async () => {
          const { rows } = await sql<{ n: string }>`
            select count(*) as n from pg_stat_activity
            where ${me[0]?.pid ?? 0}::int = any(pg_blocking_pids(pid))
              and query like 'update "verifications"%'`.execute(h.db)
          return Number(rows[0]?.n)
        }
        // This side never looks for the deadlock first (retention's connections do, after the
        // default second), so retention's statement is the one rolled back.
        await sql`set local deadlock_timeout = '30s'`.execute(trx)
        const touch = (id: string | undefined) =>
          trx
            .updateTable('verifications')
            .set({ status: sql`status` })
            .where('id', '=', id ?? '')
            .execute()
        await touch(last)
        retention = applyRetention(h.db, h.now() + 31 * DAY_MS, 30 * DAY_MS)
        // Retention's masking takes the rows in the order they were written: it holds the first
        // ones and waits for the last, held here...
        await vi.waitFor(async () => expect(await lockWaits()).toBe(1), {
          timeout: 10_000,
          interval: 20,
        })
        // ...and this side now wants the first: each waits for the other.
        const asked = performance.now()
        await touch(first)
        waitedMs = performance.now() - asked
      })
      // The first row was retention's until PostgreSQL broke the deadlock (a deadlock_timeout
      // later): without one, this side would have had it at once.
      expect(waitedMs).toBeGreaterThan(500)
      const result = await retention
      expect(result?.verifications).toBe(3)
      const phones = await h.db.selectFrom('verifications').select('phone').execute()
      expect(phones.every(({ phone }) => phone.includes('…'))).toBe(true)
    })
  })
}
