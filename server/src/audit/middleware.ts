/**
 * One middleware records every operator action and every secret-key API write, whatever the
 * route: handlers only add what they know (the target before and after) through `c.set('audit')`.
 * @module
 */
import type { MiddlewareHandler } from 'hono'
import type { Kysely } from 'kysely'
import type { Logger } from 'pino'
import { requestLog } from '../http/request-id'
import type { Database } from '../storage'
import { type AuditActor, appendAudit, GLOBAL_CHAIN } from './index'

/** What a handler tells the audit trail about its action. */
export interface AuditNote {
  action?: string
  target?: string | null
  projectId?: string
  before?: unknown
  after?: unknown
  /** Record even a read (a support lookup by full number). */
  force?: boolean
  /** Who acted, when the route knows better than the session (a login attempt). */
  actor?: AuditActor
}

declare module 'hono' {
  interface ContextVariableMap {
    audit: AuditNote
    operator: { id: string; email: string }
  }
}

const READS = new Set(['GET', 'HEAD', 'OPTIONS'])

export interface AuditTrailOptions {
  db: Kysely<Database>
  /** The chain's HMAC key (`Secrets.auditKey`). */
  auditKey: Buffer
  logger: Logger
  now?: () => number
}

/**
 * @example
 * app.use('/v1/*', auditTrail({ db, auditKey: secrets.auditKey, logger }))
 */
export function auditTrail({
  db,
  auditKey,
  logger,
  now = Date.now,
}: AuditTrailOptions): MiddlewareHandler {
  return async function auditTrail(c, next) {
    await next()
    const note = c.get('audit')
    if (READS.has(c.req.method) && !note?.force) return
    const operator = c.get('operator')
    const key = c.get('auth')
    let actor = note?.actor
    let projectId = note?.projectId
    if (!actor && operator) actor = { type: 'operator', id: operator.id, label: operator.email }
    if (!actor && key?.apiKey.kind === 'secret') {
      actor = { type: 'secret_key', id: key.apiKey.id, label: key.apiKey.hint }
      projectId ??= key.project.id
    }
    // Publishable-key calls (the widget) and unauthenticated noise are not operator actions.
    if (!actor) return
    try {
      await appendAudit(db, auditKey, {
        projectId: projectId ?? GLOBAL_CHAIN,
        actor,
        action: note?.action ?? `${c.req.method} ${c.req.path}`,
        target: note?.target ?? c.req.path,
        ip: c.get('clientIp'),
        userAgent: c.req.header('User-Agent') ?? null,
        status: c.res.status,
        before: note?.before,
        after: note?.after,
        at: now(),
      })
    } catch (error) {
      requestLog(c, logger).error({ err: error, path: c.req.path }, 'could not write the audit log')
    }
  }
}
