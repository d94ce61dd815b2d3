/**
 * Everything under /console/api/projects/:projectId: one Hono app per page, each route behind
 * the permission it needs.
 * @module
 */
import { Hono } from 'hono'
import type { Kysely } from 'kysely'
import type { Logger } from 'pino'
import type { Router, RoutingConfig } from '../routing'
import type { Database } from '../storage'
import type { TokenService } from '../tokens'
import type { VerificationService } from '../verifications/service'
import { auditRoutes } from './pages/audit'
import { fraudRoutes } from './pages/fraud'
import { messagingRoutes } from './pages/messaging'
import { overviewRoutes } from './pages/overview'
import { sandboxRoutes } from './pages/sandbox'
import { settingsRoutes } from './pages/settings'
import { verificationRoutes } from './pages/verifications'
import { webhookRoutes } from './pages/webhooks'

export interface ProjectRoutesDeps {
  db: Kysely<Database>
  encryptionKey: Buffer
  /** The audit chain's HMAC key, to verify it. */
  auditKey: Buffer
  logger: Logger
  publicUrl: string
  now: () => number
  tokens?: TokenService
  verifications?: VerificationService
  router?: Router
  routing?: RoutingConfig
}

export function projectRoutes(deps: ProjectRoutesDeps) {
  return new Hono()
    .route('/overview', overviewRoutes(deps))
    .route('/audit', auditRoutes(deps))
    .route('/settings', settingsRoutes(deps))
    .route('/verifications', verificationRoutes(deps))
    .route('/sandbox', sandboxRoutes(deps))
    .route('/fraud', fraudRoutes(deps))
    .route('/messaging', messagingRoutes(deps))
    .route('/webhooks', webhookRoutes(deps))
}
