/**
 * The audit log: who did what, when, from where, with the target before and after. Rows are
 * only ever appended (the database refuses updates and deletes), chained by hash per project;
 * {@link verifyAuditChain} recomputes every chain and names the first broken link.
 * @module
 */
import { type Kysely, PostgresAdapter } from 'kysely'
import { newId } from '../ids'
import type { AuditActorType, AuditRow, Database } from '../storage'
import { withFields } from '../with-fields'
import { GENESIS_HASH, rowHash } from './chain'

export { type AuditNote, auditTrail } from './middleware'

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
 * Appends one entry to its project's chain. Appends to one chain are serialised by the chain's
 * head row (locked on PostgreSQL; SQLite runs one write transaction at a time).
 * @example
 * await appendAudit(db, { projectId, actor: { type: 'cli', id: null, label: 'cli' }, action: 'keys.create' })
 */
export async function appendAudit(db: Kysely<Database>, entry: AuditEntry): Promise<AuditRow> {
  const postgres = db.getExecutor().adapter instanceof PostgresAdapter
  return db.transaction().execute(async (trx) => {
    await trx
      .insertInto('audit_heads')
      .values({ project_id: entry.projectId, seq: 0, hash: GENESIS_HASH })
      .onConflict((oc) => oc.column('project_id').doNothing())
      .execute()
    let headQuery = trx
      .selectFrom('audit_heads')
      .select(['seq', 'hash'])
      .where('project_id', '=', entry.projectId)
    if (postgres) headQuery = headQuery.forUpdate()
    const head = await headQuery.executeTakeFirstOrThrow()
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
      before: json(entry.before),
      after: json(entry.after),
      prev_hash: head.hash,
    }
    const row: AuditRow = withFields(fields, { hash: rowHash(fields) })
    await trx.insertInto('audit_log').values(row).execute()
    await trx
      .updateTable('audit_heads')
      .set({ seq: row.seq, hash: row.hash })
      .where('project_id', '=', entry.projectId)
      .execute()
    return row
  })
}

export interface BrokenLink {
  projectId: string
  seq: number
  id: string | null
  reason: 'hash_mismatch' | 'prev_hash_mismatch' | 'missing_row' | 'head_mismatch'
}

export interface ChainReport {
  ok: boolean
  chains: number
  rows: number
  /** The first broken link (by project, then sequence), when there is one. */
  broken?: BrokenLink
}

const PAGE = 1000

/**
 * Recomputes every chain (or one project's) from its first row: each hash, each link to the
 * previous row, no gap in the sequence, and the head pointing at the last row (rows cut off
 * the end show there).
 */
export async function verifyAuditChain(
  db: Kysely<Database>,
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
  for (const head of heads) {
    let expectedSeq = 1
    let prev = GENESIS_HASH
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
        const broken = (
          reason: BrokenLink['reason'],
          seq = Number(row.seq),
          id: string | null = row.id,
        ) => ({
          ok: false,
          chains: heads.length,
          rows,
          broken: { projectId: head.project_id, seq, id, reason },
        })
        if (Number(row.seq) !== expectedSeq) return broken('missing_row', expectedSeq, null)
        if (row.prev_hash !== prev) return broken('prev_hash_mismatch')
        if (rowHash(row) !== row.hash) return broken('hash_mismatch')
        prev = row.hash
        expectedSeq += 1
        rows += 1
      }
      if (page.length < PAGE) break
    }
    if (head.missing || Number(head.seq) !== expectedSeq - 1 || head.hash !== prev) {
      return {
        ok: false,
        chains: heads.length,
        rows,
        broken: {
          projectId: head.project_id,
          seq: head.missing ? expectedSeq - 1 : Math.min(Number(head.seq), expectedSeq),
          id: null,
          reason: !head.missing && head.seq > expectedSeq - 1 ? 'missing_row' : 'head_mismatch',
        },
      }
    }
  }
  return { ok: true, chains: heads.length, rows }
}

export interface AuditQuery {
  projectId: string
  /** Include actions outside any project (logins) by the project's operators. */
  since?: number
  until?: number
  actor?: string
  action?: string
  limit?: number
  before?: number
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
  if (query.action) q = q.where('action', 'like', `${query.action.replace(/[%_\\]/g, '')}%`)
  if (query.before !== undefined) q = q.where('seq', '<', query.before)
  return q.execute()
}
