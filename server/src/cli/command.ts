/**
 * What a command of `pnpm textgate` is, and what every command shares: the parsed options, the
 * output (human or `--json`), the settings and a migrated database.
 * @module
 */
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import type { Kysely } from 'kysely'
import { type AuditEntry, appendAudit, sealAfterMigrations } from '../audit'
import { type Config, loadConfig } from '../config'
import { deriveSecrets } from '../secrets'
import {
  type Database,
  migrateToLatest,
  openStorage,
  reachDatabase,
  type Storage,
} from '../storage'
import { withFields } from '../with-fields'

/** Every option any command takes (one parse for all, so each command sees the same flags). */
export const OPTIONS = {
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', default: false },
  name: { type: 'string' },
  origin: { type: 'string', multiple: true },
  country: { type: 'string', multiple: true },
  brand: { type: 'string' },
  'code-length': { type: 'string' },
  'fraud-settings': { type: 'string' },
  project: { type: 'string' },
  file: { type: 'string' },
  phone: { type: 'string' },
  prefix: { type: 'string' },
  ip: { type: 'string' },
  note: { type: 'string' },
  expires: { type: 'string' },
  id: { type: 'string' },
  limit: { type: 'string' },
  decision: { type: 'string' },
  hours: { type: 'string' },
  templates: { type: 'string' },
  registrations: { type: 'string' },
  reset: { type: 'boolean', default: false },
  live: { type: 'boolean', default: false },
  'include-lists': { type: 'boolean', default: false },
  to: { type: 'string' },
  email: { type: 'string' },
  role: { type: 'string' },
  kid: { type: 'string' },
  rotate: { type: 'boolean', default: false },
  now: { type: 'boolean', default: false },
  'publish-first': { type: 'boolean', default: false },
} as const

export function parseCommandLine(argv: string[]) {
  return parseArgs({ args: argv, allowPositionals: true, options: OPTIONS })
}

export type Values = ReturnType<typeof parseCommandLine>['values']

/** Who the audit log names for what a command did. */
export const CLI_ACTOR = { type: 'cli' as const, id: null, label: 'cli' }

/**
 * Records what a command changed in the keyed audit log, as the console records the same change
 * (its action, target and before/after), with the command line as the actor.
 * @example
 * await auditChange(db, config, { projectId, action: 'templates.update', target: projectId, before, after })
 */
export async function auditChange(
  db: Kysely<Database>,
  config: Pick<Config, 'secret'>,
  entry: Omit<AuditEntry, 'actor'>,
): Promise<void> {
  await appendAudit(
    db,
    deriveSecrets(config.secret).auditKey,
    withFields(entry, { actor: CLI_ACTOR }),
  )
}

/** A mistake in how a command was called: printed with the usage, exit code 2. */
export class UsageError extends Error {}

/**
 * Refuses a project id that names no project: a mistyped id would otherwise list nothing, erase
 * nothing or add list entries for no project, and report success. `everyProject`: the command
 * also takes `'*'` for every project.
 */
export async function requireProject(
  db: Kysely<Database>,
  projectId: string,
  { everyProject = false }: { everyProject?: boolean } = {},
): Promise<void> {
  if (everyProject && projectId === '*') return
  const found = await db
    .selectFrom('projects')
    .select('id')
    .where('id', '=', projectId)
    .executeTakeFirst()
  if (!found) throw new Error(`no project ${projectId}`)
}

/** A file the command was pointed at, or an error that names it and says why it cannot be read. */
export function readTextFile(path: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EISDIR'
          ? 'it is a folder'
          : code === 'EACCES'
            ? 'permission denied'
            : (error as Error).message
    throw new Error(`cannot read ${path}: ${why}`)
  }
}

/** A JSON file the command was pointed at, or an error that names it and what is wrong. */
export function readJsonFile(path: string, text = readTextFile(path)): unknown {
  try {
    return JSON.parse(text)
  } catch (error) {
    throw new Error(`${path} is not valid JSON: ${(error as Error).message}`)
  }
}

export interface Output {
  json: boolean
  print(human: string, data: unknown): void
}

export function output(json: boolean): Output {
  return {
    json,
    print(human, data) {
      process.stdout.write(json ? `${JSON.stringify(data, null, 2)}\n` : `${human}\n`)
    },
  }
}

export interface CommandInput {
  /** The command's words, e.g. `['fraud', 'block']`. */
  words: string[]
  /** Every option of {@link OPTIONS}, parsed; empty for a command with its own arguments. */
  values: Values
  /** The arguments as given (for a command that parses its own options). */
  argv: string[]
  out: Output
}

export interface Command {
  /** The words that name it (`projects create`); `*` stands for any one word (`fraud *`). */
  name: string
  /** Its lines in `--help`, indented as the usage is. */
  usage: string
  /**
   * It parses `argv` itself (its options are its own, not in {@link OPTIONS}): it is found by
   * its first word, before the shared parse, unless `--help` is given.
   */
  ownArguments?: boolean
  run(input: CommandInput): Promise<void>
}

/** Does `command` answer to these words? */
export function answersTo(command: Command, words: string[]): boolean {
  const pattern = command.name.split(' ')
  return pattern.length === words.length && pattern.every((w, i) => w === '*' || w === words[i])
}

/** The settings from the environment; warnings to stderr. */
export function settings(): Config {
  return loadConfig(process.env, {
    warn: (message) => process.stderr.write(`[textgate] warning: ${message}\n`),
  })
}

/** Runs `run` on the configured database, migrated first, and closes it after. */
export async function withStorage<T>(
  config: Config,
  run: (storage: Storage) => Promise<T>,
): Promise<T> {
  // A short command: SQLite checkpoints inside its commits, with no thread to start and stop.
  const storage = openStorage(config.databaseUrl, { walCheckpointer: false })
  try {
    await reachDatabase(storage, config.databaseUrl)
    const applied = await migrateToLatest(storage)
    // At the upgrade to keyed audit chains, the older chains get a keyed row that seals them.
    await sealAfterMigrations(storage.db, deriveSecrets(config.secret).auditKey, applied)
    return await run(storage)
  } finally {
    await storage.close()
  }
}
