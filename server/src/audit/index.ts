/**
 * The audit log: who did what, when, from where, with the target before and after. Rows are
 * only ever appended (the database refuses updates and deletes), chained per project by an HMAC
 * under a key derived from TEXTGATE_SECRET (see ./chain.ts); {@link verifyAuditChain}
 * recomputes every chain and names the first broken link.
 * @module
 */
import { type Kysely, PostgresAdapter, sql, type Transaction } from 'kysely'
import { newId } from '../ids'
import type { AuditActorType, AuditRow, Database } from '../storage'
import { withFields } from '../with-fields'
import { expectedHash, GENESIS_HASH, rowHash, schemeOf } from './chain'
import { phoneDigest, withoutPhoneNumbers } from './phones'

export { type AuditNote, auditTrail } from './middleware'
export { phoneDigest, withoutPhoneNumbers } from './phones'

/** Chain of actions outside any one project (logins, operators, the CLI). */
export const GLOBAL_CHAIN = '*'

export interface AuditActor {
  type: AuditActorType
  id: string | null
  label: string
}

export interface AuditEntry {
  projectId: string
  actor: AuditActor
  action: string
  target?: string | null
  ip?: string | null
  userAgent?: string | null
  status?: number | null
  before?: unknown
  after?: unknown
  at?: number
}

const json = (value: unknown): string | null =>
  value === undefined || value === null ? null : JSON.stringify(value)

/**
 * Appends one entry to its chain in `trx`, with the chain's head locked; `when` may decline
 * (looking at the locked head) and then nothing is written.
 */
async function appendIn(
  trx: Transaction<Database>,
  key: Buffer,
  entry: AuditEntry,
  when: (head: { seq: number; hash: string }) => boolean = () => true,
): Promise<AuditRow | undefined> {
  await trx
    .insertInto('audit_heads')
    .values({ project_id: entry.projectId, seq: 0, hash: GENESIS_HASH })
    .onConflict((oc) => oc.column('project_id').doNothing())
    .execute()
  let headQuery = trx
    .selectFrom('audit_heads')
    .select(['seq', 'hash'])
    .where('project_id', '=', entry.projectId)
  if (trx.getExecutor().adapter instanceof PostgresAdapter) headQuery = headQuery.forUpdate()
  const head = await headQuery.executeTakeFirstOrThrow()
  if (!when(head)) return undefined
  const fields = {
    id: newId('aud'),
    project_id: entry.projectId,
    seq: Number(head.seq) + 1,
    at: entry.at ?? Date.now(),
    actor_type: entry.actor.type,
    actor_id: entry.actor.id,
    actor_label: entry.actor.label.slice(0, 200),
    action: entry.action.slice(0, 120),
    target: entry.target?.slice(0, 200) ?? null,
    ip: entry.ip ?? null,
    user_agent: entry.userAgent?.slice(0, 300) ?? null,
    status: entry.status ?? null,
    // Never a phone number in full: the row outlives any erasure (./phones.ts).
    before: json(withoutPhoneNumbers(key, entry.before)),
    after: json(withoutPhoneNumbers(key, entry.after)),
    prev_hash: head.hash,
  }
  const row: AuditRow = withFields(fields, { hash: rowHash(key, fields) })
  await trx.insertInto('audit_log').values(row).execute()
  await trx
    .updateTable('audit_heads')
    .set({ seq: row.seq, hash: row.hash })
    .where('project_id', '=', entry.projectId)
    .execute()
  return row
}

/**
 * Appends one entry to its project's chain, keyed with `key` (`Secrets.auditKey`). Appends to
 * one chain are serialised by the chain's head row (locked on PostgreSQL; SQLite runs one write
 * transaction at a time).
 * @example
 * await appendAudit(db, secrets.auditKey, { projectId, actor: { type: 'cli', id: null, label: 'cli' }, action: 'keys.create' })
 */
export async function appendAudit(
  db: Kysely<Database>,
  key: Buffer,
  entry: AuditEntry,
): Promise<AuditRow> {
  return db.transaction().execute(async (trx) => appendIn(trx, key, entry) as Promise<AuditRow>)
}

/** What the seal of a chain written before the chain was keyed records. */
export const SEAL_ACTION = 'audit.keyed'

/** The migration after which rows are keyed; see {@link sealAfterMigrations}. */
export const KEYED_CHAIN_MIGRATION = '20261206T200000-keyed-audit-chain'

/**
 * Seals the chains written before keyed hashes, when the migration that brings them was among
 * `applied` (this run applied it): once per database, at the upgrade. Never again after: a
 * chain rewritten whole as plain SHA-256 later must fail `audit verify`, not be sealed.
 */
export async function sealAfterMigrations(
  db: Kysely<Database>,
  key: Buffer,
  applied: readonly string[],
  now = Date.now(),
): Promise<string[]> {
  return applied.includes(KEYED_CHAIN_MIGRATION) ? sealUnkeyedChains(db, key, now) : []
}

/**
 * Seals every chain whose last row predates keyed hashes (a database from before them): appends
 * a keyed row, whose HMAC covers the last unkeyed hash and so every unkeyed row before it. From
 * then on those rows cannot be recomputed unnoticed. Run once, at the upgrade (see
 * {@link sealAfterMigrations}); the projects of the chains sealed.
 */
export async function sealUnkeyedChains(
  db: Kysely<Database>,
  key: Buffer,
  now = Date.now(),
): Promise<string[]> {
  const heads = await db
    .selectFrom('audit_heads')
    .select(['project_id', 'seq', 'hash'])
    .where('seq', '>', 0)
    .where('hash', 'not like', 'hmac-sha256:%')
    .execute()
  const sealed: string[] = []
  for (const head of heads) {
    const row = await db.transaction().execute((trx) =>
      appendIn(
        trx,
        key,
        {
          projectId: head.project_id,
          actor: { type: 'system', id: null, label: 'textgate' },
          action: SEAL_ACTION,
          target: null,
          after: { unkeyedRows: Number(head.seq) },
          at: now,
        },
        // Another process may have sealed it meanwhile.
        (locked) => Number(locked.seq) > 0 && schemeOf(locked.hash) === 'sha256',
      ),
    )
    if (row) sealed.push(head.project_id)
  }
  return sealed
}

export interface BrokenLink {
  projectId: string
  seq: number
  id: string | null
  /**
   * `unkeyed_row`: a row with an unkeyed hash after keyed ones (rows rewritten with plain
   * SHA-256); `unkeyed_chain`: a chain of unkeyed rows that no keyed row seals (written before
   * the upgrade and not sealed yet, or rewritten whole by someone without the secret).
   */
  reason:
    | 'hash_mismatch'
    | 'prev_hash_mismatch'
    | 'missing_row'
    | 'head_mismatch'
    | 'unkeyed_row'
    | 'unkeyed_chain'
}

export interface ChainSummary {
  projectId: string
  /**
   * `hmac-sha256`: every row keyed; `sha256+hmac-sha256`: unkeyed rows from before the upgrade,
   * sealed by the keyed rows after them; `sha256`: unkeyed rows only (not trusted).
   */
  scheme: 'hmac-sha256' | 'sha256+hmac-sha256' | 'sha256' | 'empty'
  rows: number
  unkeyedRows: number
  /**
   * When the first keyed row after the unkeyed ones was written (the upgrade's seal): a seal
   * much later than the upgrade means the chain was rewritten and sealed again.
   */
  sealedAt?: number
}

export interface ChainReport {
  ok: boolean
  chains: number
  rows: number
  /** Each chain checked (up to the broken one), with the scheme its rows use. */
  chainSchemes: ChainSummary[]
  /** The first broken link (by project, then sequence), when there is one. */
  broken?: BrokenLink
}

const PAGE = 1000

/**
 * Recomputes every chain (or one project's) from its first row: each hash under its scheme,
 * each link to the previous row, no gap in the sequence, no unkeyed row after a keyed one, no
 * chain of unkeyed rows alone, and the head pointing at the last row (rows cut off the end show
 * there).
 */
export async function verifyAuditChain(
  db: Kysely<Database>,
  key: Buffer,
  options: { projectId?: string } = {},
): Promise<ChainReport> {
  let headsQuery = db.selectFrom('audit_heads').selectAll().orderBy('project_id')
  if (options.projectId) headsQuery = headsQuery.where('project_id', '=', options.projectId)
  let chainsQuery = db.selectFrom('audit_log').select('project_id').distinct()
  if (options.projectId) chainsQuery = chainsQuery.where('project_id', '=', options.projectId)
  const stored = await headsQuery.execute()
  // Every chain that has rows, head or not: the head row is what appends keep up to date, and
  // without this a chain whose head was deleted would simply not be looked at.
  const headless = (await chainsQuery.execute())
    .map((row) => row.project_id)
    .filter((projectId) => !stored.some((head) => head.project_id === projectId))
  const heads = [
    ...stored.map((head) => withFields(head, { missing: false })),
    ...headless.map((projectId) => ({
      project_id: projectId,
      seq: 0,
      hash: GENESIS_HASH,
      missing: true,
    })),
  ].sort((a, b) => (a.project_id < b.project_id ? -1 : a.project_id > b.project_id ? 1 : 0))
  let rows = 0
  const chainSchemes: ChainSummary[] = []
  for (const head of heads) {
    let expectedSeq = 1
    let prev = GENESIS_HASH
    let keyed = 0
    let unkeyed = 0
    let sealedAt: number | undefined
    const summary = (): ChainSummary => ({
      projectId: head.project_id,
      scheme:
        keyed + unkeyed === 0
          ? 'empty'
          : unkeyed === 0
            ? 'hmac-sha256'
            : keyed === 0
              ? 'sha256'
              : 'sha256+hmac-sha256',
      rows: keyed + unkeyed,
      unkeyedRows: unkeyed,
      ...(sealedAt === undefined ? {} : { sealedAt }),
    })
    const broken = (link: Omit<BrokenLink, 'projectId'>): ChainReport => ({
      ok: false,
      chains: heads.length,
      rows,
      chainSchemes: [...chainSchemes, summary()],
      broken: withFields(link, { projectId: head.project_id }),
    })
    for (;;) {
      const page = await db
        .selectFrom('audit_log')
        .selectAll()
        .where('project_id', '=', head.project_id)
        .where('seq', '>=', expectedSeq)
        .orderBy('seq')
        .limit(PAGE)
        .execute()
      for (const row of page) {
        const at = { seq: Number(row.seq), id: row.id }
        if (Number(row.seq) !== expectedSeq) {
          return broken({ seq: expectedSeq, id: null, reason: 'missing_row' })
        }
        if (row.prev_hash !== prev)
          return broken({ seq: at.seq, id: at.id, reason: 'prev_hash_mismatch' })
        const scheme = schemeOf(row.hash)
        // Unkeyed hashes are only ever older than keyed ones: one after a keyed row was
        // written by someone without the secret.
        if (scheme === 'sha256' && keyed > 0)
          return broken({ seq: at.seq, id: at.id, reason: 'unkeyed_row' })
        if (expectedHash(key, row) !== row.hash)
          return broken({ seq: at.seq, id: at.id, reason: 'hash_mismatch' })
        if (scheme === 'sha256') unkeyed += 1
        else {
          if (keyed === 0 && unkeyed > 0) sealedAt = Number(row.at)
          keyed += 1
        }
        prev = row.hash
        expectedSeq += 1
        rows += 1
      }
      if (page.length < PAGE) break
    }
    if (head.missing || Number(head.seq) !== expectedSeq - 1 || head.hash !== prev) {
      return broken({
        seq: head.missing ? expectedSeq - 1 : Math.min(Number(head.seq), expectedSeq),
        id: null,
        reason: !head.missing && head.seq > expectedSeq - 1 ? 'missing_row' : 'head_mismatch',
      })
    }
    // Anyone can compute a chain of unkeyed rows: alone, it proves nothing.
    if (unkeyed > 0 && keyed === 0) {
      return broken({ seq: expectedSeq - 1, id: null, reason: 'unkeyed_chain' })
    }
    chainSchemes.push(summary())
  }
  return { ok: true, chains: heads.length, rows, chainSchemes }
}

export interface AuditQuery {
  /** The chain: a project's id, or GLOBAL_CHAIN. */
  projectId: string
  since?: number
  until?: number
  actor?: string
  action?: string
  limit?: number
  before?: number
  /**
   * Rows about this E.164 number: its keyed digest (rows since numbers are masked), or the
   * number itself in a row written before; needs `auditKey`.
   */
  phone?: string
  auditKey?: Buffer
}

/** Newest first, with filters; `before` pages by sequence number. */
export async function listAudit(db: Kysely<Database>, query: AuditQuery): Promise<AuditRow[]> {
  let q = db
    .selectFrom('audit_log')
    .selectAll()
    .where('project_id', '=', query.projectId)
    .orderBy('seq', 'desc')
    .limit(Math.min(query.limit ?? 100, 10_000))
  if (query.since !== undefined) q = q.where('at', '>=', query.since)
  if (query.until !== undefined) q = q.where('at', '<', query.until)
  if (query.actor) q = q.where('actor_label', '=', query.actor)
  // A prefix, its LIKE wildcards escaped (not dropped: most actions hold an underscore, as in
  // login.password_refused or signing_key.rotate).
  if (query.action) {
    const prefix = `${query.action.replace(/[%_\\]/g, '\\$&')}%`
    q = q.where(sql<boolean>`action like ${prefix} escape '\\'`)
  }
  if (query.before !== undefined) q = q.where('seq', '<', query.before)
  if (query.phone) {
    if (!query.auditKey) throw new Error('listAudit: a phone filter needs the audit key')
    // Digests are hex and numbers + and digits: nothing LIKE reads as a wildcard.
    const patterns = [`%${phoneDigest(query.auditKey, query.phone)}%`, `%"${query.phone}"%`]
    q = q.where((eb) =>
      eb.or(
        patterns.flatMap((pattern) => [
          eb('before', 'like', pattern),
          eb('after', 'like', pattern),
        ]),
      ),
    )
  }
  return q.execute()
}
