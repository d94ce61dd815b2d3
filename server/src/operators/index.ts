/**
 * Operator accounts: created by the CLI or by an owner's invitation, each with a one-time setup
 * link where the operator chooses a password and enrols a TOTP authenticator; per-project roles;
 * login (password, then the second factor) with a lockout after repeated failures, the account's
 * or, for a browser the operator signed in on before, that browser's (./lockout.ts, ./devices.ts).
 * @module
 */
import { createHash, randomBytes } from 'node:crypto'
import type { Kysely } from 'kysely'
import { newId } from '../ids'
import { decryptToBuffer, encrypt } from '../secrets'
import type { Database, Operator, OperatorRole } from '../storage'
import { withFields } from '../with-fields'
import {
  clearFailures,
  type KnownDevices,
  type Lockout,
  lockedNow,
  NO_DEVICE,
  recordFailure,
} from './lockout'
import { hashPassword, passwordProblem, spendPasswordTime, verifyPassword } from './passwords'
import { matchTotp, newTotpSecret } from './totp'

export { can, isRole, PERMISSIONS, type Permission, ROLE_PERMISSIONS, ROLES } from './roles'

export const ALL_PROJECTS = '*'
/** Setup and invitation links work once, within this time. */
export const LINK_TTL_MS = 72 * 3600_000
/** The one answer to a refused password, whatever the reason (the lock included). */
const INVALID_CREDENTIALS =
  'The email or password is wrong. After 10 failed logins an account is locked for 15 minutes.'

export class OperatorError extends Error {
  constructor(
    readonly code:
      | 'invalid_email'
      | 'operator_exists'
      | 'link_invalid'
      | 'weak_password'
      | 'invalid_totp'
      | 'invalid_passkey'
      | 'passkey_exists'
      | 'invalid_credentials'
      | 'locked',
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message)
  }
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex')
}

export function normaliseEmail(raw: string): string {
  const email = raw.trim().toLowerCase()
  if (email.length > 254 || !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) {
    throw new OperatorError('invalid_email', `"${raw}" is not an email address`)
  }
  return email
}

export interface RoleGrant {
  projectId: string
  role: OperatorRole
}

/** Creates an operator (no password yet) and returns the one-time setup token. */
export async function createOperator(
  db: Kysely<Database>,
  input: { email: string; grants: RoleGrant[]; now?: number },
): Promise<{ operator: Operator; setupToken: string }> {
  const email = normaliseEmail(input.email)
  const now = input.now ?? Date.now()
  const existing = await db
    .selectFrom('operators')
    .select('id')
    .where('email', '=', email)
    .executeTakeFirst()
  if (existing) throw new OperatorError('operator_exists', `an operator ${email} already exists`)
  const operator: Operator = {
    id: newId('op'),
    email,
    password_hash: null,
    totp_secret_encrypted: null,
    totp_last_step: null,
    failed_logins: 0,
    locked_until: null,
    created_at: now,
    disabled_at: null,
  }
  await db.transaction().execute(async (trx) => {
    await trx.insertInto('operators').values(operator).execute()
    for (const grant of input.grants) await setRole(trx, operator.id, grant, now)
  })
  const setupToken = await issueSetupLink(db, operator.id, now)
  return { operator, setupToken }
}

export async function setRole(
  db: Kysely<Database>,
  operatorId: string,
  { projectId, role }: RoleGrant,
  now = Date.now(),
): Promise<void> {
  await db
    .insertInto('operator_roles')
    .values({ operator_id: operatorId, project_id: projectId, role, created_at: now })
    .onConflict((oc) => oc.columns(['operator_id', 'project_id']).doUpdateSet({ role }))
    .execute()
}

export async function removeRole(
  db: Kysely<Database>,
  operatorId: string,
  projectId: string,
): Promise<void> {
  await db
    .deleteFrom('operator_roles')
    .where('operator_id', '=', operatorId)
    .where('project_id', '=', projectId)
    .execute()
}

/**
 * Disables an operator (someone who left, an account that may be taken), or enables one again.
 * A disabled operator's sessions end now, their unused setup links stop working, and every
 * sign-in and setup is refused as for an email that is no operator's; roles stay, for an enable.
 * Returns false when the operator already was in that state.
 */
export async function setOperatorDisabled(
  db: Kysely<Database>,
  operatorId: string,
  disabled: boolean,
  now = Date.now(),
): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const changed = await trx
      .updateTable('operators')
      .set({ disabled_at: disabled ? now : null })
      .where('id', '=', operatorId)
      .where('disabled_at', disabled ? 'is' : 'is not', null)
      .executeTakeFirst()
    if (disabled) {
      await trx.deleteFrom('operator_sessions').where('operator_id', '=', operatorId).execute()
      await trx
        .updateTable('operator_links')
        .set({ used_at: now })
        .where('operator_id', '=', operatorId)
        .where('used_at', 'is', null)
        .execute()
    }
    return Number(changed.numUpdatedRows) === 1
  })
}

/** A new one-time link (earlier unused ones stop working). Only its hash is stored. */
export async function issueSetupLink(
  db: Kysely<Database>,
  operatorId: string,
  now = Date.now(),
): Promise<string> {
  const token = randomBytes(32).toString('base64url')
  await db.transaction().execute(async (trx) => {
    await trx
      .updateTable('operator_links')
      .set({ used_at: now })
      .where('operator_id', '=', operatorId)
      .where('used_at', 'is', null)
      .execute()
    await trx
      .insertInto('operator_links')
      .values({
        token_hash: hashToken(token),
        operator_id: operatorId,
        created_at: now,
        expires_at: now + LINK_TTL_MS,
        used_at: null,
      })
      .execute()
  })
  return token
}

async function openLink(db: Kysely<Database>, token: string, now: number) {
  const row = await db
    .selectFrom('operator_links')
    .innerJoin('operators', 'operators.id', 'operator_links.operator_id')
    .selectAll('operators')
    .select(['operator_links.expires_at as link_expires_at', 'operator_links.used_at'])
    .where('operator_links.token_hash', '=', hashToken(token))
    .executeTakeFirst()
  if (!row || row.used_at !== null || row.link_expires_at <= now || row.disabled_at !== null) {
    throw new OperatorError('link_invalid', 'This link has expired or was already used.')
  }
  return row
}

/** The operator a setup link belongs to (for the setup page), without using the link. */
export async function describeSetupLink(db: Kysely<Database>, token: string, now = Date.now()) {
  const row = await openLink(db, token, now)
  return { operatorId: row.id, email: row.email }
}

/**
 * Uses a setup link: sets the password and the TOTP secret, once the operator proved their
 * authenticator works by typing its current code.
 */
export async function completeSetup(
  db: Kysely<Database>,
  encryptionKey: Buffer,
  input: { token: string; password: string; totpSecret: Uint8Array; totpCode: string },
  now = Date.now(),
): Promise<Operator> {
  const row = await openLink(db, input.token, now)
  const problem = await passwordProblem(input.password, row.email)
  if (problem) throw new OperatorError('weak_password', passwordMessage(problem), { problem })
  const step = matchTotp(input.totpSecret, input.totpCode, now, null)
  if (step === null) {
    throw new OperatorError('invalid_totp', 'That code does not match: check the clock and retry.')
  }
  const passwordHash = await hashPassword(input.password)
  const used = await db
    .updateTable('operator_links')
    .set({ used_at: now })
    .where('token_hash', '=', hashToken(input.token))
    .where('used_at', 'is', null)
    .executeTakeFirst()
  if (Number(used.numUpdatedRows) !== 1) {
    throw new OperatorError('link_invalid', 'This link has expired or was already used.')
  }
  await db
    .updateTable('operators')
    .set({
      password_hash: passwordHash,
      totp_secret_encrypted: encrypt(encryptionKey, Buffer.from(input.totpSecret)),
      totp_last_step: step,
      failed_logins: 0,
      locked_until: null,
    })
    .where('id', '=', row.id)
    .execute()
  // New credentials end every session opened with the old ones (a reset link is how an owner
  // takes an account back from whoever had its password and authenticator), and every browser
  // they signed in on is unknown again.
  await db.deleteFrom('operator_sessions').where('operator_id', '=', row.id).execute()
  await db.deleteFrom('operator_devices').where('operator_id', '=', row.id).execute()
  return withFields(row, { password_hash: passwordHash })
}

export function passwordMessage(problem: string): string {
  switch (problem) {
    case 'too_short':
      return 'Use at least 12 characters.'
    case 'too_long':
      return 'Use at most 256 characters.'
    case 'breached':
      return 'This password appears in lists of breached passwords: choose another.'
    default:
      return 'The password must not contain your email address.'
  }
}

/** A fresh TOTP secret for a setup page (kept by the browser until the setup completes). */
export { newTotpSecret }

export function lockedError(lockedUntil: number, now: number): OperatorError {
  return new OperatorError('locked', 'Too many failed logins: try again later.', {
    retryAfterSeconds: Math.ceil((lockedUntil - now) / 1000),
  })
}

/** The lock the attempt counts toward: the account's as read with its row, a browser's read now. */
export async function lockedBefore(
  db: Kysely<Database>,
  lockout: Lockout,
  operator: Pick<Operator, 'locked_until'>,
  now: number,
): Promise<number | null> {
  if (lockout.kind === 'device') return lockedNow(db, lockout, now)
  return operator.locked_until !== null && operator.locked_until > now
    ? operator.locked_until
    : null
}

/**
 * The first factor. The same error, after the same work, for an unknown email, a wrong password,
 * an account not set up yet and a locked account (right password or not): a distinct answer
 * for a locked account would tell that the email is an operator's after ten wrong passwords.
 * `devices`: the client's device cookie; from a browser the operator signed in on before, the
 * attempt counts toward that browser's lock instead of the account's.
 */
export async function checkPassword(
  db: Kysely<Database>,
  emailRaw: string,
  password: string,
  now = Date.now(),
  devices: KnownDevices = NO_DEVICE,
): Promise<Operator> {
  let email: string
  try {
    email = normaliseEmail(emailRaw)
  } catch {
    email = ''
  }
  const operator = email
    ? await db.selectFrom('operators').selectAll().where('email', '=', email).executeTakeFirst()
    : undefined
  const invalid = new OperatorError('invalid_credentials', INVALID_CREDENTIALS)
  if (!operator?.password_hash || operator.disabled_at !== null) {
    await spendPasswordTime(password)
    throw invalid
  }
  const lockout = await devices.lockoutFor(operator.id)
  if ((await lockedBefore(db, lockout, operator, now)) !== null) {
    await spendPasswordTime(password)
    throw invalid
  }
  const right = await verifyPassword(password, operator.password_hash)
  if (!right) await recordFailure(db, lockout, now)
  // A right password is refused too if wrong ones sent alongside locked it meanwhile.
  if (!right || (await lockedNow(db, lockout, now)) !== null) throw invalid
  return operator
}

/** Thrown inside a transaction to undo it: the step was taken by another request. */
class StepTaken extends Error {}

/**
 * The second factor; each step is taken once (the update is conditional on the last step).
 * Failures count as the password's do (`devices`: see {@link checkPassword}).
 */
export async function checkTotp(
  db: Kysely<Database>,
  encryptionKey: Buffer,
  operatorId: string,
  code: string,
  now = Date.now(),
  devices: KnownDevices = NO_DEVICE,
): Promise<Operator> {
  const operator = await db
    .selectFrom('operators')
    .selectAll()
    .where('id', '=', operatorId)
    .executeTakeFirst()
  if (!operator?.totp_secret_encrypted || operator.disabled_at !== null) {
    throw new OperatorError('invalid_totp', 'That code is not right.')
  }
  const lockout = await devices.lockoutFor(operatorId)
  const lockedAt = await lockedBefore(db, lockout, operator, now)
  if (lockedAt !== null) throw lockedError(lockedAt, now)
  const secret = new Uint8Array(decryptToBuffer(encryptionKey, operator.totp_secret_encrypted))
  const step = matchTotp(secret, code.trim(), now, operator.totp_last_step)
  if (step === null) {
    await recordFailure(db, lockout, now)
    // Once locked, the same answer as the right code gets (below).
    const locked = await lockedNow(db, lockout, now)
    if (locked !== null) throw lockedError(locked, now)
    // A code of a step already taken (typically the setup's, typed again on the login page in
    // the same 30 seconds) is refused as any wrong one, but said so: it opens nothing, and the
    // operator needs to know to wait for the next one rather than check their clock.
    if (matchTotp(secret, code.trim(), now, null) !== null) {
      throw new OperatorError(
        'invalid_totp',
        'That code was used already: enter the next one your authenticator app shows.',
      )
    }
    throw new OperatorError('invalid_totp', 'That code is not right.')
  }
  // Taken only while not locked (wrong codes sent alongside may have locked it), and the count
  // cleared only with the step taken: both or neither.
  const taken = await db
    .transaction()
    .execute(async (trx) => {
      if (!(await clearFailures(trx, lockout, now))) return false
      let take = trx
        .updateTable('operators')
        .set({ totp_last_step: step })
        .where('id', '=', operatorId)
      take =
        operator.totp_last_step === null
          ? take.where('totp_last_step', 'is', null)
          : take.where('totp_last_step', '<', step)
      if (Number((await take.executeTakeFirst()).numUpdatedRows) !== 1) throw new StepTaken()
      return true
    })
    .catch((error: unknown) => {
      if (error instanceof StepTaken) return false
      throw error
    })
  if (!taken) {
    const locked = await lockedNow(db, lockout, now)
    if (locked !== null) throw lockedError(locked, now)
    throw new OperatorError('invalid_totp', 'That code is not right.')
  }
  return operator
}

export interface OperatorRoles {
  /** Role per project id; '*' applies to every project without its own entry. */
  roles: Record<string, OperatorRole>
}

export async function rolesOf(db: Kysely<Database>, operatorId: string): Promise<OperatorRoles> {
  const rows = await db
    .selectFrom('operator_roles')
    .select(['project_id', 'role'])
    .where('operator_id', '=', operatorId)
    .execute()
  return { roles: Object.fromEntries(rows.map((r) => [r.project_id, r.role])) }
}

export function roleIn(roles: OperatorRoles, projectId: string): OperatorRole | undefined {
  return roles.roles[projectId] ?? roles.roles[ALL_PROJECTS]
}

/**
 * The role granted to the operator in exactly `projectId` (`'*'`: the every-project grant),
 * without the every-project fallback of {@link roleIn}: the grant a change or removal acts on.
 * @example
 * const everyProject = await grantIn(db, operatorId, ALL_PROJECTS)
 */
export async function grantIn(
  db: Kysely<Database>,
  operatorId: string,
  projectId: string,
): Promise<OperatorRole | undefined> {
  const row = await db
    .selectFrom('operator_roles')
    .select('role')
    .where('operator_id', '=', operatorId)
    .where('project_id', '=', projectId)
    .executeTakeFirst()
  return row?.role
}

export async function findOperatorByEmail(db: Kysely<Database>, email: string) {
  return db
    .selectFrom('operators')
    .selectAll()
    .where('email', '=', normaliseEmail(email))
    .executeTakeFirst()
}

/** Operators with a role in the project (directly or through '*'). */
export async function projectOperators(db: Kysely<Database>, projectId: string) {
  return db
    .selectFrom('operator_roles')
    .innerJoin('operators', 'operators.id', 'operator_roles.operator_id')
    .select([
      'operators.id',
      'operators.email',
      'operator_roles.role',
      'operator_roles.project_id',
      'operators.password_hash',
      'operators.disabled_at',
      'operators.created_at',
    ])
    .where('operator_roles.project_id', 'in', [projectId, ALL_PROJECTS])
    .orderBy('operators.email')
    .execute()
    .then((rows) =>
      rows.map(({ password_hash, ...row }) =>
        withFields(row, {
          allProjects: row.project_id === ALL_PROJECTS,
          pending: password_hash === null,
          /** `operators disable`: signs in no more until `operators enable`; roles kept. */
          disabled: row.disabled_at !== null,
        }),
      ),
    )
}
