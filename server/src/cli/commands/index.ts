/**
 * Every command of `pnpm textgate`, in the order `--help` lists them. A new command is a file
 * in this folder and one line here.
 * @module
 */
import type { Command } from '../command'
import { auditVerifyCommand } from './audit-verify'
import { eraseCommand } from './erase'
import { fraudCommand } from './fraud'
import { keysCreateCommand } from './keys-create'
import { keysListCommand } from './keys-list'
import { keysRevokeCommand } from './keys-revoke'
import { keysRotateCommand } from './keys-rotate'
import { keysWithdrawCommand } from './keys-withdraw'
import { migrateCommand } from './migrate'
import { operatorsCommand } from './operators'
import { outboxStatusCommand } from './outbox-status'
import { projectsCreateCommand } from './projects-create'
import { projectsIpAllowlistCommand } from './projects-ip-allowlist'
import { registrationsSetCommand } from './registrations-set'
import { registrationsShowCommand } from './registrations-show'
import { routesCheckCommand } from './routes-check'
import { routesPlanCommand } from './routes-plan'
import { serveCommand } from './serve'
import { templatesSetCommand } from './templates-set'
import { webhooksCommand } from './webhooks'

export const COMMANDS: readonly Command[] = [
  serveCommand,
  migrateCommand,
  projectsCreateCommand,
  projectsIpAllowlistCommand,
  templatesSetCommand,
  registrationsSetCommand,
  registrationsShowCommand,
  keysRotateCommand,
  keysWithdrawCommand,
  fraudCommand,
  webhooksCommand,
  operatorsCommand,
  auditVerifyCommand,
  keysCreateCommand,
  keysListCommand,
  keysRevokeCommand,
  eraseCommand,
  outboxStatusCommand,
  routesCheckCommand,
  routesPlanCommand,
]
