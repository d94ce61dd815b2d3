/**
 * `pnpm textgate fraud …`: the operator's commands for the fraud guard.
 * @module
 */
import type { Kysely } from 'kysely'
import { GLOBAL_CHAIN } from '../../audit'
import type { Config } from '../../config'
import {
  ALL_PROJECTS,
  addListEntry,
  findListEntry,
  listEntries,
  removeListEntry,
} from '../../fraud/list-entries'
import { recentEvents, summary } from '../../fraud/routes'
import {
  DEFAULT_FRAUD_SETTINGS,
  type FraudSettings,
  parseFraudSettings,
} from '../../fraud/settings'
import { ApiError } from '../../http/errors'
import { setFraudSettings } from '../../projects'
import type { Database, FraudListKind } from '../../storage'
import {
  auditChange,
  type Command,
  readJsonFile,
  readTextFile,
  requireProject,
  settings,
  UsageError,
  withStorage,
} from '../command'

const FRAUD_USAGE = `  fraud settings --project ID [--file settings.json]
                                show a project's fraud settings, or replace them
  fraud block|allow --project ID (--phone N | --prefix P | --ip A[/BITS] | --country XX)
                  [--note TEXT] [--expires ISO-TIME]
                                add to the block or allow list (--project '*': every project)
  fraud lists --project ID      show the allow and block lists
  fraud remove --project ID --id ENTRY
                                remove a list entry
  fraud events --project ID [--limit N] [--decision allow|challenge|block]
                                the latest decisions with their reasons
  fraud summary --project ID [--hours N]
                                what the guard did lately: outcomes, top reasons, the number
                                ranges and countries it stopped most`

export interface FraudCliValues {
  project?: string | undefined
  file?: string | undefined
  phone?: string | undefined
  prefix?: string | undefined
  ip?: string | undefined
  country?: string[] | undefined
  note?: string | undefined
  expires?: string | undefined
  id?: string | undefined
  limit?: string | undefined
  decision?: string | undefined
  hours?: string | undefined
}

class FraudUsageError extends UsageError {}

const DECISIONS = ['allow', 'challenge', 'block']
const SUBCOMMANDS = ['settings', 'block', 'allow', 'lists', 'remove', 'events', 'summary']

/** A project's settings in force: its own over the defaults. */
async function effectiveSettings(db: Kysely<Database>, project: string): Promise<FraudSettings> {
  const row = await db
    .selectFrom('projects')
    .select('fraud_settings')
    .where('id', '=', project)
    .executeTakeFirst()
  if (!row) throw new FraudUsageError(`no project ${project}`)
  return row.fraud_settings ? parseFraudSettings(row.fraud_settings) : DEFAULT_FRAUD_SETTINGS
}

/**
 * Changes are audited as the console's are (`fraud.list.add`, `fraud.list.remove`,
 * `fraud.settings`), in the project's chain; entries for every project in the server's.
 */
async function fraudSubcommand(
  sub: string,
  values: FraudCliValues,
  db: Kysely<Database>,
  config: Pick<Config, 'secret'>,
): Promise<{ human: string; data: unknown }> {
  if (!SUBCOMMANDS.includes(sub)) throw new FraudUsageError(`unknown command "fraud ${sub}"`)
  const project = values.project
  if (!project) throw new FraudUsageError(`fraud ${sub} needs --project ID`)
  // Lists take '*' for every project; the other subcommands read one project's own rows.
  await requireProject(db, project, {
    everyProject: ['block', 'allow', 'lists', 'remove'].includes(sub),
  })
  try {
    switch (sub) {
      case 'settings': {
        if (values.file) {
          const text = readTextFile(values.file)
          readJsonFile(values.file, text)
          const before = await effectiveSettings(db, project)
          if (!(await setFraudSettings(db, project, text))) {
            throw new FraudUsageError(`no project ${project}`)
          }
          // The whole settings, not only the modes the console changes: a file changes any part.
          await auditChange(db, config, {
            projectId: project,
            action: 'fraud.settings',
            target: project,
            before,
            after: await effectiveSettings(db, project),
          })
        }
        const effective = await effectiveSettings(db, project)
        return {
          human: `${values.file ? 'saved. ' : ''}effective settings of ${project}:\n${JSON.stringify(effective, null, 2)}`,
          data: effective,
        }
      }
      case 'block':
      case 'allow': {
        const given = (
          [
            ['phone', values.phone],
            ['prefix', values.prefix],
            ['ip', values.ip],
            ['country', values.country?.[0]],
          ] as [FraudListKind, string | undefined][]
        ).filter(([, value]) => value !== undefined)
        if (given.length !== 1) {
          throw new FraudUsageError(
            `fraud ${sub} needs exactly one of --phone, --prefix, --ip, --country`,
          )
        }
        const [kind, value] = given[0] as [FraudListKind, string]
        const entry = await addListEntry(db, project, {
          list: sub,
          kind,
          value,
          note: values.note,
          expiresAt: values.expires,
        })
        await auditChange(db, config, {
          projectId: project === ALL_PROJECTS ? GLOBAL_CHAIN : project,
          action: 'fraud.list.add',
          target: entry.id,
          after: entry,
        })
        const where = project === ALL_PROJECTS ? 'every project' : project
        return { human: `${sub} ${kind} ${entry.value} for ${where} (${entry.id})`, data: entry }
      }
      case 'lists': {
        const entries = await listEntries(db, project)
        const lines = entries.map(
          (e) =>
            `${e.id}  ${e.list.padEnd(5)} ${e.kind.padEnd(7)} ${e.value}${e.note ? `  # ${e.note}` : ''}${e.expiresAt ? `  (until ${e.expiresAt})` : ''}${e.projectId === ALL_PROJECTS ? '  (every project)' : ''}`,
        )
        return { human: lines.length ? lines.join('\n') : 'no entries', data: entries }
      }
      case 'remove': {
        if (!values.id) throw new FraudUsageError('fraud remove needs --id ENTRY')
        const before = await findListEntry(db, project, values.id)
        if (!before || !(await removeListEntry(db, project, before.id))) {
          throw new FraudUsageError(`no entry ${values.id} in ${project}`)
        }
        await auditChange(db, config, {
          projectId: project === ALL_PROJECTS ? GLOBAL_CHAIN : project,
          action: 'fraud.list.remove',
          target: before.id,
          before,
          after: null,
        })
        return { human: `removed ${values.id}`, data: { removed: values.id } }
      }
      case 'events': {
        const limit = values.limit === undefined ? 50 : Number(values.limit)
        if (!Number.isInteger(limit) || limit < 1 || limit > 500) {
          throw new FraudUsageError('--limit must be 1 to 500')
        }
        if (values.decision !== undefined && !DECISIONS.includes(values.decision)) {
          throw new FraudUsageError('--decision must be allow, challenge or block')
        }
        const events = await recentEvents(db, project, { limit, decision: values.decision })
        const lines = events.map(
          (e) =>
            `${e.createdAt}  ${e.decision.padEnd(9)} ${e.outcome.padEnd(15)} ${(e.range ?? e.phone).padEnd(16)} ${(e.ip ?? '-').padEnd(15)} ${e.reasons.join(' ')}${e.shadowReasons.length ? ` [shadow: ${e.shadowReasons.join(' ')}]` : ''}`,
        )
        return { human: lines.length ? lines.join('\n') : 'no decisions yet', data: events }
      }
      case 'summary': {
        const hours = values.hours === undefined ? 1 : Number(values.hours)
        if (!Number.isFinite(hours) || hours <= 0) throw new FraudUsageError('--hours must be > 0')
        const result = await summary(db, project, Date.now() - hours * 3_600_000)
        const list = (items: { key: string; count: number }[]) =>
          items.length
            ? items.map((i) => `    ${String(i.count).padStart(6)}  ${i.key}`).join('\n')
            : '    -'
        return {
          human: [
            `since ${result.since}: ${result.starts} starts`,
            `  outcomes: ${
              Object.entries(result.outcomes)
                .map(([k, v]) => `${k} ${v}`)
                .join(', ') || '-'
            }`,
            '  top reasons:',
            list(result.topReasons),
            '  ranges stopped most:',
            list(result.topStoppedRanges),
            '  countries stopped most:',
            list(result.topStoppedCountries),
          ].join('\n'),
          data: result,
        }
      }
      default:
        throw new FraudUsageError(`unknown command "fraud ${sub}"`)
    }
  } catch (error) {
    if (error instanceof ApiError) {
      const issues = (error.details.issues as { message: string }[] | undefined) ?? []
      throw new FraudUsageError(issues.map((i) => i.message).join('; ') || error.message)
    }
    throw error
  }
}

export const fraudCommand: Command = {
  name: 'fraud *',
  usage: FRAUD_USAGE,
  async run({ words, values, out }) {
    const config = settings()
    const result = await withStorage(config, ({ db }) =>
      fraudSubcommand(words[1] ?? '', values, db, config),
    )
    out.print(result.human, result.data)
  },
}
