/**
 * Allow and block lists: numbers, number prefixes, IP addresses or networks, and countries,
 * per project or for every project (`*`), each with an optional note and expiry. Managed by
 * `pnpm textgate fraud …`, the secret-key API and the console; read on every start. An expired
 * entry counts for nothing (the guard and the lists skip it) until housekeeping deletes it.
 * @module
 */
import { countryCode, notACountry } from '@textgate/shared'
import { type ExpressionBuilder, type Kysely, PostgresAdapter, sql } from 'kysely'
import { ApiError } from '../http/errors'
import { newId } from '../ids'
import type { Database, FraudListKind, FraudListName } from '../storage'
import { runTemplate } from '../storage/query-templates'
import { withFields } from '../with-fields'
import { ipMatches, isIpOrCidr } from './network'

export const ALL_PROJECTS = '*'

export interface ListEntryInput {
  list: FraudListName
  kind: FraudListKind
  value: string
  note?: string | undefined
  /** When the entry stops counting: an ISO time or epoch ms, in the future; absent: never. */
  expiresAt?: string | number | null | undefined
}

export interface ListEntry {
  id: string
  projectId: string
  list: FraudListName
  kind: FraudListKind
  value: string
  note: string | null
  createdAt: string
  expiresAt: string | null
}

/** Canonical form of a list value, or an error that says what is wrong with it. */
export function normaliseListValue(kind: FraudListKind, raw: string): string {
  const value = raw.trim()
  switch (kind) {
    case 'phone':
    case 'prefix': {
      const compact = value.replace(/[\s().-]/g, '').replace(/^00/, '+')
      const pattern = kind === 'phone' ? /^\+[1-9]\d{6,14}$/ : /^\+[1-9]\d{0,14}$/
      if (!pattern.test(compact)) {
        throw new ApiError('invalid_request', {
          issues: [{ path: 'value', message: `a ${kind} is written +<digits>, like +4474001` }],
        })
      }
      return compact
    }
    case 'ip':
      if (!isIpOrCidr(value)) {
        throw new ApiError('invalid_request', {
          issues: [
            { path: 'value', message: 'an ip is an address or a CIDR range like 203.0.113.0/24' },
          ],
        })
      }
      return value.toLowerCase()
    case 'country': {
      // UK (for GB) or XX would be stored and never match a number.
      const code = countryCode(value)
      if (!code) {
        throw new ApiError('invalid_request', {
          issues: [{ path: 'value', message: notACountry(value) }],
        })
      }
      return code
    }
  }
}

const toEntry = (row: {
  id: string
  project_id: string
  list: FraudListName
  kind: FraudListKind
  value: string
  note: string | null
  created_at: number
  expires_at: number | null
}): ListEntry => ({
  id: row.id,
  projectId: row.project_id,
  list: row.list,
  kind: row.kind,
  value: row.value,
  note: row.note,
  createdAt: new Date(Number(row.created_at)).toISOString(),
  expiresAt: row.expires_at === null ? null : new Date(Number(row.expires_at)).toISOString(),
})

/** The expiry as epoch ms, or an error when it is not a time after `at`. */
function expiryOf(raw: string | number | null | undefined, at: number): number | null {
  if (raw === null || raw === undefined) return null
  const ms = typeof raw === 'number' ? raw : Date.parse(raw)
  if (!Number.isFinite(ms) || ms <= at) {
    throw new ApiError('invalid_request', {
      issues: [{ path: 'expiresAt', message: 'an expiry is a time in the future' }],
    })
  }
  return Math.floor(ms)
}

/** Entries in force at `at`: no expiry, or one still ahead. */
const inForce = (at: number) => (eb: ExpressionBuilder<Database, 'fraud_list_entries'>) =>
  eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', at)])

export async function addListEntry(
  db: Kysely<Database>,
  projectId: string,
  input: ListEntryInput,
  at = Date.now(),
): Promise<ListEntry> {
  const value = normaliseListValue(input.kind, input.value)
  const expiresAt = expiryOf(input.expiresAt, at)
  const row = {
    id: newId('fle'),
    project_id: projectId,
    list: input.list,
    kind: input.kind,
    value,
    note: input.note ?? null,
    created_at: at,
    expires_at: expiresAt,
  }
  await db
    .insertInto('fraud_list_entries')
    .values(row)
    .onConflict((oc) =>
      oc
        .columns(['project_id', 'list', 'kind', 'value'])
        .doUpdateSet({ note: row.note, expires_at: row.expires_at }),
    )
    .execute()
  forgetListCopies(db, projectId)
  const stored = await db
    .selectFrom('fraud_list_entries')
    .selectAll()
    .where('project_id', '=', projectId)
    .where('list', '=', input.list)
    .where('kind', '=', input.kind)
    .where('value', '=', value)
    .executeTakeFirstOrThrow()
  return toEntry(stored)
}

/** One entry of exactly this project (`'*'`: of every project), in force or not. */
export async function findListEntry(
  db: Kysely<Database>,
  projectId: string,
  id: string,
): Promise<ListEntry | undefined> {
  const row = await db
    .selectFrom('fraud_list_entries')
    .selectAll()
    .where('id', '=', id)
    .where('project_id', '=', projectId)
    .executeTakeFirst()
  return row && toEntry(row)
}

export async function removeListEntry(
  db: Kysely<Database>,
  projectId: string,
  id: string,
): Promise<boolean> {
  const result = await db
    .deleteFrom('fraud_list_entries')
    .where('id', '=', id)
    .where('project_id', '=', projectId)
    .executeTakeFirst()
  forgetListCopies(db, projectId)
  return Number(result.numDeletedRows) > 0
}

/** The project's entries (and those for every project) in force at `at`, oldest first. */
export async function listEntries(
  db: Kysely<Database>,
  projectId: string,
  at = Date.now(),
): Promise<ListEntry[]> {
  const rows = await db
    .selectFrom('fraud_list_entries')
    .selectAll()
    .where('project_id', 'in', [projectId, ALL_PROJECTS])
    .where(inForce(at))
    .orderBy('created_at')
    .execute()
  return rows.map(toEntry)
}

export interface ListSubject {
  phone: string
  country: string
  ip: string | null
}

export interface ListMatch {
  list: FraudListName
  kind: FraudListKind
  value: string
}

interface Lookup {
  projectId: string
  subject: ListSubject
  at: number
  /** Every prefix of the number from two characters (`+4`) on. */
  prefixes: string[]
}

const lookupOf = (projectId: string, subject: ListSubject, at: number): Lookup => {
  const prefixes: string[] = []
  for (let end = 2; end <= subject.phone.length; end++) prefixes.push(subject.phone.slice(0, end))
  return { projectId, subject, at, prefixes }
}

const lookupValues = ({ projectId, subject, at, prefixes }: Lookup) => [
  projectId,
  at,
  subject.phone,
  subject.country,
  ...prefixes,
]

/** The select of one lookup, its values from `v(from)` on (in the order of lookupValues). */
const lookupQuery = (
  db: Kysely<Database>,
  prefixes: number,
  v: (index: number) => never,
  from = 0,
) =>
  db
    .selectFrom('fraud_list_entries')
    .select(['list', 'kind', 'value'])
    .where('project_id', 'in', [v(from), ALL_PROJECTS])
    .where(inForce(v(from + 1)))
    .where((eb) =>
      eb.or([
        eb.and([eb('kind', '=', 'phone'), eb('value', '=', v(from + 2))]),
        eb.and([
          eb('kind', '=', 'prefix'),
          eb(
            'value',
            'in',
            Array.from({ length: prefixes }, (_, i) => v(from + 4 + i)),
          ),
        ]),
        eb.and([eb('kind', '=', 'country'), eb('value', '=', v(from + 3))]),
        eb('kind', '=', 'ip'),
      ]),
    )

/** What a lookup's rows match: ip entries by address or network; block entries first. */
function matchesOf(rows: ListMatch[], subject: ListSubject): ListMatch[] {
  const matches = rows
    .filter((row) => row.kind !== 'ip' || (subject.ip !== null && ipMatches(subject.ip, row.value)))
    .map(({ list, kind, value }) => ({ list, kind, value }))
  return matches.sort((a, b) => (a.list === b.list ? 0 : a.list === 'block' ? -1 : 1))
}

/** Every start runs this: compiled once per number length (see runTemplate). */
const lookUpOne = (db: Kysely<Database>, lookup: Lookup) =>
  runTemplate(db, `matchLists:${lookup.prefixes.length}`, lookupValues(lookup), (v) =>
    lookupQuery(db, lookup.prefixes.length, v),
  )

/**
 * PostgreSQL: several lookups in one statement of one shape, whatever their number: each value
 * kind is one array parameter (`= any($n)`), so the server plans one small statement, not a
 * `UNION ALL` of one branch per lookup. Each row then goes to the lookups it matches.
 */
async function lookUpMany(db: Kysely<Database>, lookups: Lookup[]): Promise<ListMatch[][]> {
  const projects = new Set<string>([ALL_PROJECTS])
  const phones = new Set<string>()
  const countries = new Set<string>()
  const prefixes = new Set<string>()
  let earliest = Number.POSITIVE_INFINITY
  for (const lookup of lookups) {
    projects.add(lookup.projectId)
    phones.add(lookup.subject.phone)
    countries.add(lookup.subject.country)
    for (const prefix of lookup.prefixes) prefixes.add(prefix)
    earliest = Math.min(earliest, lookup.at)
  }
  const rows = await runTemplate(
    db,
    'matchLists:arrays',
    [[...projects], earliest, [...phones], [...countries], [...prefixes]],
    (v) =>
      db
        .selectFrom('fraud_list_entries')
        .select(['project_id', 'list', 'kind', 'value', 'expires_at'])
        .where('project_id', '=', sql<string>`any(${v(0)})`)
        .where(inForce(v(1)))
        .where((eb) =>
          eb.or([
            eb.and([eb('kind', '=', 'phone'), eb('value', '=', sql<string>`any(${v(2)})`)]),
            eb.and([eb('kind', '=', 'country'), eb('value', '=', sql<string>`any(${v(3)})`)]),
            eb.and([eb('kind', '=', 'prefix'), eb('value', '=', sql<string>`any(${v(4)})`)]),
            eb('kind', '=', 'ip'),
          ]),
        ),
  )
  return lookups.map((lookup) => {
    const prefixesOfLookup = new Set(lookup.prefixes)
    return rows.filter(
      (row) =>
        (row.project_id === lookup.projectId || row.project_id === ALL_PROJECTS) &&
        inForceAt(row, lookup.at) &&
        (row.kind === 'phone'
          ? row.value === lookup.subject.phone
          : row.kind === 'country'
            ? row.value === lookup.subject.country
            : row.kind === 'prefix'
              ? prefixesOfLookup.has(row.value)
              : true),
    )
  })
}

/** An entry as a lookup reads it. */
interface EntryRow extends ListMatch {
  project_id: string
  expires_at: number | null
}

const inForceAt = (row: EntryRow, at: number) =>
  row.expires_at === null || Number(row.expires_at) > at

/**
 * How long this process trusts its copy of a project's lists: a change made elsewhere (the CLI,
 * another server process) counts here within it; a change made through this process counts at
 * once ({@link forgetListCopies}).
 */
export const LIST_COPY_TTL_MS = 2_000
/** A project whose entries (with every project's) are more than this is asked per lookup. */
const LIST_COPY_MAX_ENTRIES = 5_000
const LIST_COPY_MAX_PROJECTS = 10_000

/** A project's entries (and every project's), indexed by kind and value; ip entries apart. */
interface ListCopy {
  byValue: Map<string, EntryRow[]>
  ips: EntryRow[]
}

const copies = new WeakMap<
  Kysely<Database>,
  Map<string, { fetchedAt: number; copy: Promise<ListCopy | undefined> }>
>()

const valueKey = (kind: FraudListKind, value: string) => `${kind}\u0000${value}`

async function loadCopy(db: Kysely<Database>, projectId: string): Promise<ListCopy | undefined> {
  const rows = await runTemplate(db, 'lists.copy', [projectId, LIST_COPY_MAX_ENTRIES + 1], (v) =>
    db
      .selectFrom('fraud_list_entries')
      .select(['project_id', 'list', 'kind', 'value', 'expires_at'])
      .where('project_id', 'in', [v(0), ALL_PROJECTS])
      .limit(v(1)),
  )
  if (rows.length > LIST_COPY_MAX_ENTRIES) return undefined
  const copy: ListCopy = { byValue: new Map(), ips: [] }
  for (const row of rows) {
    if (row.kind === 'ip') {
      copy.ips.push(row)
      continue
    }
    const key = valueKey(row.kind, row.value)
    const same = copy.byValue.get(key)
    if (same) same.push(row)
    else copy.byValue.set(key, [row])
  }
  return copy
}

/**
 * This process's copy of a project's lists, read again once it is {@link LIST_COPY_TTL_MS}
 * old (one read shared by the lookups of that moment); undefined when the lists are too long
 * to copy, and each lookup asks the database.
 */
function copyOf(db: Kysely<Database>, projectId: string): Promise<ListCopy | undefined> {
  let byProject = copies.get(db)
  if (!byProject) {
    byProject = new Map()
    copies.set(db, byProject)
  }
  const now = Date.now()
  const held = byProject.get(projectId)
  if (held && now - held.fetchedAt < LIST_COPY_TTL_MS) return held.copy
  const entry = { fetchedAt: now, copy: loadCopy(db, projectId) }
  byProject.delete(projectId)
  byProject.set(projectId, entry)
  if (byProject.size > LIST_COPY_MAX_PROJECTS) {
    byProject.delete(byProject.keys().next().value as string)
  }
  // A failed read is not kept: the next lookup asks again.
  entry.copy.catch(() => {
    if (byProject.get(projectId) === entry) byProject.delete(projectId)
  })
  return entry.copy
}

/** The entries of `copy` a lookup matches (ip entries by kind only, as the database's). */
function matchCopy(copy: ListCopy, lookup: Lookup): EntryRow[] {
  const found: EntryRow[] = []
  const add = (rows: EntryRow[] | undefined) => {
    for (const row of rows ?? []) if (inForceAt(row, lookup.at)) found.push(row)
  }
  add(copy.byValue.get(valueKey('phone', lookup.subject.phone)))
  add(copy.byValue.get(valueKey('country', lookup.subject.country)))
  for (const prefix of lookup.prefixes) add(copy.byValue.get(valueKey('prefix', prefix)))
  add(copy.ips)
  return found
}

/**
 * Drops this process's copies of the lists (of one project, or all when `projectId` is `*` or
 * absent): called after every change made through this process, so it counts at once.
 */
export function forgetListCopies(db: Kysely<Database>, projectId?: string): void {
  const byProject = copies.get(db)
  if (!byProject) return
  if (projectId === undefined || projectId === ALL_PROJECTS) byProject.clear()
  else byProject.delete(projectId)
}

interface Pending extends Lookup {
  resolve(matches: ListMatch[]): void
  reject(error: unknown): void
}

/** PostgreSQL: lookups queued in one turn of the event loop, per database handle. */
const queues = new WeakMap<Kysely<Database>, Pending[]>()

/** Most lookups one statement carries. */
const MAX_LOOKUPS = 256

async function flush(db: Kysely<Database>, batch: Pending[]): Promise<void> {
  try {
    const found = await lookUpMany(db, batch)
    for (const [i, pending] of batch.entries()) {
      pending.resolve(matchesOf(found[i] ?? [], pending.subject))
    }
  } catch (error) {
    for (const pending of batch) pending.reject(error)
  }
}

/**
 * The entries in force at `at` that match a request; block entries first. A project's lists
 * are read from this process's copy (at most {@link LIST_COPY_TTL_MS} old) unless they are too
 * long to copy; then on PostgreSQL the lookups of starts arriving together share one round trip
 * (each still sees the entries in force when its statement runs), and SQLite asks at once.
 */
export async function matchLists(
  db: Kysely<Database>,
  projectId: string,
  subject: ListSubject,
  at = Date.now(),
): Promise<ListMatch[]> {
  const lookup = lookupOf(projectId, subject, at)
  // Most projects' lists are short: matched in memory, with no statement per start.
  const copy = await copyOf(db, projectId)
  if (copy) return matchesOf(matchCopy(copy, lookup), subject)
  if (!(db.getExecutor().adapter instanceof PostgresAdapter)) {
    return matchesOf(await lookUpOne(db, lookup), subject)
  }
  return new Promise((resolve, reject) => {
    let queue = queues.get(db)
    if (!queue || queue.length >= MAX_LOOKUPS) {
      const batch: Pending[] = []
      queue = batch
      queues.set(db, batch)
      setImmediate(() => {
        if (queues.get(db) === batch) queues.delete(db)
        void flush(db, batch)
      })
    }
    queue.push(withFields(lookup, { resolve, reject }))
  })
}

/** Deletes entries that expired before `at` (housekeeping); returns how many. */
export async function deleteExpiredListEntries(db: Kysely<Database>, at: number): Promise<number> {
  const result = await db
    .deleteFrom('fraud_list_entries')
    .where('expires_at', '<=', at)
    .executeTakeFirst()
  return Number(result.numDeletedRows)
}
