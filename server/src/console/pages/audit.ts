import { type Context, Hono } from 'hono'
import * as v from 'valibot'
import { GLOBAL_CHAIN, listAudit, verifyAuditChain } from '../../audit'
import { validate } from '../../http/body'
import { ApiError } from '../../http/errors'
import { parsePhoneAnyType } from '../../phone'
import type { AuditRow } from '../../storage'
import { withFields } from '../../with-fields'
import type { ProjectRoutesDeps } from '../project-routes'
import { need } from '../security'

const AuditQuery = v.object({
  since: v.optional(v.pipe(v.string(), v.toNumber(), v.integer())),
  until: v.optional(v.pipe(v.string(), v.toNumber(), v.integer())),
  actor: v.optional(v.pipe(v.string(), v.maxLength(254))),
  action: v.optional(v.pipe(v.string(), v.maxLength(120))),
  before: v.optional(v.pipe(v.string(), v.toNumber(), v.integer())),
  limit: v.optional(v.pipe(v.string(), v.toNumber(), v.integer(), v.minValue(1), v.maxValue(500))),
  /** Rows about this number (fraud list entries keep it masked, with a keyed digest). */
  phone: v.optional(v.pipe(v.string(), v.maxLength(40))),
  /** `server`: the chain of what belongs to no one project (sign-ins, the command line). */
  chain: v.optional(v.picklist(['project', 'server'])),
})

function present(row: AuditRow) {
  return {
    id: row.id,
    seq: Number(row.seq),
    at: Number(row.at),
    actor: { type: row.actor_type, id: row.actor_id, label: row.actor_label },
    action: row.action,
    target: row.target,
    ip: row.ip,
    userAgent: row.user_agent,
    status: row.status,
    before: row.before ? JSON.parse(row.before) : null,
    after: row.after ? JSON.parse(row.after) : null,
    hash: row.hash,
    prevHash: row.prev_hash,
  }
}

function query(c: { req: { query(name: string): string | undefined } }) {
  const read = (name: string) => c.req.query(name) || undefined
  return validate(AuditQuery, {
    since: read('since'),
    until: read('until'),
    actor: read('actor'),
    action: read('action'),
    before: read('before'),
    limit: read('limit'),
    phone: read('phone'),
    chain: read('chain'),
  })
}

/** The query's number as E.164 (refused as a start refuses it), for listAudit. */
function phoneOf(raw: string | undefined): string | undefined {
  return raw === undefined ? undefined : parsePhoneAnyType(raw).e164
}

/**
 * The chain asked for: the project's, or the server's (sign-ins and refused ones, setups, the
 * command line's changes), which holds every project's operators and so is an owner of every
 * project's alone.
 */
function chainOf(c: Context, chain: 'project' | 'server' | undefined): string {
  if (chain !== 'server') return c.get('project').id
  if (c.get('everyProjectRole') !== 'owner') {
    throw new ApiError('forbidden', { permission: 'owner of every project' })
  }
  return GLOBAL_CHAIN
}

export function auditRoutes({ db, auditKey }: ProjectRoutesDeps) {
  return new Hono()
    .get('/', need('audit.read'), async (c) => {
      const { chain, phone, ...q } = query(c)
      const rows = await listAudit(
        db,
        withFields(q, {
          projectId: chainOf(c, chain),
          limit: q.limit ?? 100,
          phone: phoneOf(phone),
          auditKey,
        }),
      )
      return c.json({ entries: rows.map(present) })
    })
    .get('/export', need('audit.read'), async (c) => {
      const { chain, phone, ...q } = query(c)
      const projectId = chainOf(c, chain)
      const rows = await listAudit(
        db,
        withFields(q, {
          projectId,
          limit: 10_000,
          phone: phoneOf(phone),
          auditKey,
        }),
      )
      const name = projectId === GLOBAL_CHAIN ? 'server' : projectId
      c.header('Content-Type', 'application/x-ndjson; charset=utf-8')
      c.header('Content-Disposition', `attachment; filename="audit-${name}.jsonl"`)
      return c.body(
        rows.map((row) => JSON.stringify(present(row))).join('\n') + (rows.length ? '\n' : ''),
      )
    })
    .get('/verify', need('audit.read'), async (c) => {
      const { chain } = query(c)
      return c.json(await verifyAuditChain(db, auditKey, { projectId: chainOf(c, chain) }))
    })
}
