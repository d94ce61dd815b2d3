/**
 * `pnpm textgate operators create|link|list`: console operators. The first owner comes from
 * here, with a one-time setup link (password + authenticator app).
 * @module
 */
import type { Kysely } from 'kysely'
import { appendAudit, GLOBAL_CHAIN } from '../../audit'
import {
  ALL_PROJECTS,
  createOperator,
  findOperatorByEmail,
  isRole,
  issueSetupLink,
  OperatorError,
  ROLES,
  setOperatorDisabled,
} from '../../operators'
import { deriveSecrets } from '../../secrets'
import type { Database } from '../../storage'
import { CLI_ACTOR, type Command, settings, UsageError, withStorage } from '../command'

const OPERATORS_USAGE = `  operators create --email EMAIL --role owner|developer|analyst|support [--project ID]
                                a console operator (every project without --project);
                                prints a one-time setup link (password + authenticator)
  operators link --email EMAIL  a new one-time setup link (resets password and authenticator)
  operators disable --email EMAIL
                                no more sign-ins for this operator (every project, an owner of
                                every project too): sessions end now, setup links stop working
  operators enable --email EMAIL
                                sign-ins again, with the same password and authenticator
  operators list                operators, their roles, and who is disabled`

class OperatorsUsageError extends UsageError {}

interface CommandResult {
  human: string
  data: unknown
}

export function setupUrl(publicUrl: string, token: string): string {
  return `${publicUrl}/console/setup#token=${token}`
}

async function operatorsSubcommand(
  sub: string,
  values: { email?: string; role?: string; project?: string },
  db: Kysely<Database>,
  publicUrl: string,
  auditKey: Buffer,
): Promise<CommandResult> {
  switch (sub) {
    case 'create': {
      if (!values.email) throw new OperatorsUsageError('operators create needs --email')
      if (!isRole(values.role)) {
        throw new OperatorsUsageError(`operators create needs --role ${ROLES.join('|')}`)
      }
      const projectId = values.project ?? ALL_PROJECTS
      if (values.project) {
        const project = await db
          .selectFrom('projects')
          .select('id')
          .where('id', '=', values.project)
          .executeTakeFirst()
        if (!project) throw new OperatorsUsageError(`no project ${values.project}`)
      }
      try {
        const { operator, setupToken } = await createOperator(db, {
          email: values.email,
          grants: [{ projectId, role: values.role }],
        })
        await appendAudit(db, auditKey, {
          projectId: values.project ?? GLOBAL_CHAIN,
          actor: CLI_ACTOR,
          action: 'operator.create',
          target: operator.id,
          after: { email: operator.email, role: values.role, project: projectId },
        })
        const link = setupUrl(publicUrl, setupToken)
        return {
          human: [
            `operator ${operator.email} (${values.role}, ${values.project ? `project ${values.project}` : 'every project'})`,
            `  setup link (one use, 72 hours): ${link}`,
            '  Open it to choose a password and add the authenticator app.',
          ].join('\n'),
          data: {
            operatorId: operator.id,
            email: operator.email,
            role: values.role,
            projectId,
            setupUrl: link,
          },
        }
      } catch (error) {
        if (error instanceof OperatorError) throw new OperatorsUsageError(error.message)
        throw error
      }
    }
    case 'link': {
      if (!values.email) throw new OperatorsUsageError('operators link needs --email')
      const operator = await findOperatorByEmail(db, values.email).catch(() => undefined)
      if (!operator) throw new OperatorsUsageError(`no operator ${values.email}`)
      if (operator.disabled_at !== null) {
        throw new OperatorsUsageError(
          `${operator.email} is disabled: operators enable --email ${operator.email} first`,
        )
      }
      const token = await issueSetupLink(db, operator.id)
      await appendAudit(db, auditKey, {
        projectId: GLOBAL_CHAIN,
        actor: CLI_ACTOR,
        action: 'operator.link',
        target: operator.id,
        after: { reset: operator.password_hash !== null },
      })
      const link = setupUrl(publicUrl, token)
      return {
        human: `setup link for ${operator.email} (one use, 72 hours): ${link}`,
        data: {
          operatorId: operator.id,
          email: operator.email,
          setupUrl: link,
          setUp: operator.password_hash !== null,
        },
      }
    }
    case 'disable':
    case 'enable': {
      if (!values.email) throw new OperatorsUsageError(`operators ${sub} needs --email`)
      const operator = await findOperatorByEmail(db, values.email).catch(() => undefined)
      if (!operator) throw new OperatorsUsageError(`no operator ${values.email}`)
      const disabled = sub === 'disable'
      const changed = await setOperatorDisabled(db, operator.id, disabled)
      if (changed) {
        await appendAudit(db, auditKey, {
          projectId: GLOBAL_CHAIN,
          actor: CLI_ACTOR,
          action: `operator.${sub}`,
          target: operator.id,
          before: { disabled: !disabled },
          after: { disabled },
        })
      }
      return {
        human: changed
          ? disabled
            ? `disabled ${operator.email}: sessions ended, sign-ins and setup links refused`
            : `enabled ${operator.email}: signs in with the same password and authenticator`
          : `${operator.email} was already ${disabled ? 'disabled' : 'enabled'}`,
        data: { operatorId: operator.id, email: operator.email, disabled, changed },
      }
    }
    case 'list': {
      const rows = await db
        .selectFrom('operators')
        .leftJoin('operator_roles', 'operator_roles.operator_id', 'operators.id')
        .select([
          'operators.id',
          'operators.email',
          'operators.password_hash',
          'operators.disabled_at',
          'operator_roles.project_id',
          'operator_roles.role',
        ])
        .orderBy('operators.email')
        .execute()
      const data = rows.map((r) => ({
        id: r.id,
        email: r.email,
        setUp: r.password_hash !== null,
        disabled: r.disabled_at !== null,
        projectId: r.project_id,
        role: r.role,
      }))
      return {
        human: data.length
          ? data
              .map(
                (r) =>
                  `${r.email}  ${r.role ?? '-'} in ${r.projectId ?? '-'}${r.setUp ? '' : '  (setup pending)'}${r.disabled ? '  (disabled)' : ''}`,
              )
              .join('\n')
          : 'no operators',
        data: { operators: data },
      }
    }
    default:
      throw new OperatorsUsageError(`unknown command "operators ${sub}"`)
  }
}

export const operatorsCommand: Command = {
  name: 'operators *',
  usage: OPERATORS_USAGE,
  async run({ words, values, out }) {
    const config = settings()
    const result = await withStorage(config, ({ db }) =>
      operatorsSubcommand(
        words[1] ?? '',
        values,
        db,
        config.publicUrl,
        deriveSecrets(config.secret).auditKey,
      ),
    )
    out.print(result.human, result.data)
  },
}
