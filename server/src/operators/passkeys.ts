/**
 * Passkeys (WebAuthn) as an operator's second factor, besides TOTP: registered from a logged-in
 * session, offered after the password. The WebAuthn ceremonies are `@simplewebauthn/server`'s;
 * here are only the storage and the rules: the relying party is the server's public host, each
 * challenge lives in the console session that asked for it and is used once, a signature counter
 * that goes backwards is refused, and a failed passkey counts toward the lockout like a wrong
 * TOTP code (the account's, or a known browser's).
 * @module
 */
import {
  type AuthenticationResponseJSON,
  type AuthenticatorTransportFuture,
  generateAuthenticationOptions,
  generateRegistrationOptions,
  type RegistrationResponseJSON,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
} from '@simplewebauthn/server'
import type { Kysely } from 'kysely'
import { newId } from '../ids'
import type { Database, Operator } from '../storage'
import { lockedBefore, lockedError, OperatorError } from './index'
import { clearFailures, type KnownDevices, lockedNow, NO_DEVICE, recordFailure } from './lockout'

export interface RelyingParty {
  /** The server's host name (WebAuthn refuses IP addresses). */
  id: string
  /** The console's origin, as the browser reports it. */
  origin: string
}

export function relyingParty(publicUrl: string): RelyingParty {
  const url = new URL(publicUrl)
  return { id: url.hostname, origin: url.origin }
}

export interface PasskeySummary {
  id: string
  name: string
  createdAt: number
  lastUsedAt: number | null
}

const fromB64 = (text: string) => new Uint8Array(Buffer.from(text, 'base64url'))
const toB64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url')
const transportsOf = (json: string | null) =>
  json ? (JSON.parse(json) as AuthenticatorTransportFuture[]) : undefined

async function setChallenge(db: Kysely<Database>, sessionHash: string, challenge: string | null) {
  await db
    .updateTable('operator_sessions')
    .set({ challenge })
    .where('id_hash', '=', sessionHash)
    .execute()
}

/** The session's pending challenge, cleared as it is read: each one is used once. */
async function takeChallenge(db: Kysely<Database>, sessionHash: string): Promise<string> {
  const row = await db
    .selectFrom('operator_sessions')
    .select('challenge')
    .where('id_hash', '=', sessionHash)
    .executeTakeFirst()
  if (!row?.challenge)
    throw new OperatorError('invalid_passkey', 'Start again: no passkey request is pending.')
  const taken = await db
    .updateTable('operator_sessions')
    .set({ challenge: null })
    .where('id_hash', '=', sessionHash)
    .where('challenge', '=', row.challenge)
    .executeTakeFirst()
  if (Number(taken.numUpdatedRows) !== 1) {
    throw new OperatorError('invalid_passkey', 'Start again: no passkey request is pending.')
  }
  return row.challenge
}

export async function listPasskeys(
  db: Kysely<Database>,
  operatorId: string,
): Promise<PasskeySummary[]> {
  const rows = await db
    .selectFrom('operator_passkeys')
    .select(['id', 'name', 'created_at', 'last_used_at'])
    .where('operator_id', '=', operatorId)
    .orderBy('created_at')
    .execute()
  return rows.map((r) => ({
    id: r.id,
    name: r.name,
    createdAt: Number(r.created_at),
    lastUsedAt: r.last_used_at === null ? null : Number(r.last_used_at),
  }))
}

export async function removePasskey(
  db: Kysely<Database>,
  operatorId: string,
  id: string,
): Promise<boolean> {
  const result = await db
    .deleteFrom('operator_passkeys')
    .where('id', '=', id)
    .where('operator_id', '=', operatorId)
    .executeTakeFirst()
  return Number(result.numDeletedRows) > 0
}

/** Options for the browser's `navigator.credentials.create`, for a logged-in operator. */
export async function registrationOptions(
  db: Kysely<Database>,
  rp: RelyingParty,
  operator: Pick<Operator, 'id' | 'email'>,
  sessionHash: string,
) {
  const existing = await db
    .selectFrom('operator_passkeys')
    .select(['credential_id', 'transports'])
    .where('operator_id', '=', operator.id)
    .execute()
  const options = await generateRegistrationOptions({
    rpName: 'Textgate console',
    rpID: rp.id,
    userName: operator.email,
    userID: new TextEncoder().encode(operator.id),
    attestationType: 'none',
    excludeCredentials: existing.map((c) => ({
      id: c.credential_id,
      transports: transportsOf(c.transports),
    })),
    authenticatorSelection: { residentKey: 'preferred', userVerification: 'preferred' },
  })
  await setChallenge(db, sessionHash, options.challenge)
  return options
}

export async function registerPasskey(
  db: Kysely<Database>,
  rp: RelyingParty,
  input: {
    operatorId: string
    sessionHash: string
    name: string
    response: RegistrationResponseJSON
    now: number
  },
): Promise<PasskeySummary> {
  const expectedChallenge = await takeChallenge(db, input.sessionHash)
  let verified: Awaited<ReturnType<typeof verifyRegistrationResponse>>
  try {
    verified = await verifyRegistrationResponse({
      response: input.response,
      expectedChallenge,
      expectedOrigin: rp.origin,
      expectedRPID: rp.id,
      requireUserVerification: false,
    })
  } catch (error) {
    throw new OperatorError(
      'invalid_passkey',
      `The passkey was not accepted: ${(error as Error).message}`,
    )
  }
  if (!verified.verified)
    throw new OperatorError('invalid_passkey', 'The passkey was not accepted.')
  const { credential } = verified.registrationInfo
  const row = {
    id: newId('pk'),
    operator_id: input.operatorId,
    credential_id: credential.id,
    public_key: toB64(credential.publicKey),
    counter: credential.counter,
    transports: credential.transports ? JSON.stringify(credential.transports) : null,
    name: input.name,
    created_at: input.now,
    last_used_at: null,
  }
  // A credential is registered once, to one operator: the browser excludes the operator's own
  // (excludeCredentials), but a replayed or crafted response, or another operator's
  // authenticator, can still name a credential id already stored. The insert does nothing on
  // that id (the unique constraint, not a read before it, decides between concurrent requests).
  const inserted = await db
    .insertInto('operator_passkeys')
    .values(row)
    .onConflict((oc) => oc.column('credential_id').doNothing())
    .returning('id')
    .executeTakeFirst()
  if (!inserted) {
    throw new OperatorError('passkey_exists', 'This passkey is already registered.')
  }
  return { id: row.id, name: row.name, createdAt: input.now, lastUsedAt: null }
}

/** Options for `navigator.credentials.get` after the password, or null without passkeys. */
export async function loginOptions(
  db: Kysely<Database>,
  rp: RelyingParty,
  operatorId: string,
  sessionHash: string,
) {
  const keys = await db
    .selectFrom('operator_passkeys')
    .select(['credential_id', 'transports'])
    .where('operator_id', '=', operatorId)
    .execute()
  if (keys.length === 0) return null
  const options = await generateAuthenticationOptions({
    rpID: rp.id,
    allowCredentials: keys.map((k) => ({
      id: k.credential_id,
      transports: transportsOf(k.transports),
    })),
    userVerification: 'preferred',
  })
  await setChallenge(db, sessionHash, options.challenge)
  return options
}

/** The second factor by passkey: the operator, or an error (counted toward the lockout). */
export async function checkPasskey(
  db: Kysely<Database>,
  rp: RelyingParty,
  input: {
    operatorId: string
    sessionHash: string
    response: AuthenticationResponseJSON
    now: number
    /** The client's device cookie (see checkPassword). */
    devices?: KnownDevices
  },
): Promise<Operator> {
  const operator = await db
    .selectFrom('operators')
    .selectAll()
    .where('id', '=', input.operatorId)
    .executeTakeFirst()
  if (!operator || operator.disabled_at !== null) {
    throw new OperatorError('invalid_passkey', 'The passkey was not accepted.')
  }
  const lockout = await (input.devices ?? NO_DEVICE).lockoutFor(operator.id)
  const lockedAt = await lockedBefore(db, lockout, operator, input.now)
  if (lockedAt !== null) throw lockedError(lockedAt, input.now)
  const expectedChallenge = await takeChallenge(db, input.sessionHash)
  const key = await db
    .selectFrom('operator_passkeys')
    .selectAll()
    .where('operator_id', '=', operator.id)
    .where('credential_id', '=', input.response.id)
    .executeTakeFirst()
  const refuse = async (): Promise<never> => {
    await recordFailure(db, lockout, input.now)
    throw new OperatorError('invalid_passkey', 'The passkey was not accepted.')
  }
  if (!key) return refuse()
  let result: Awaited<ReturnType<typeof verifyAuthenticationResponse>>
  try {
    result = await verifyAuthenticationResponse({
      response: input.response,
      expectedChallenge,
      expectedOrigin: rp.origin,
      expectedRPID: rp.id,
      credential: {
        id: key.credential_id,
        publicKey: fromB64(key.public_key),
        counter: Number(key.counter),
        transports: transportsOf(key.transports),
      },
      requireUserVerification: false,
    })
  } catch {
    return refuse()
  }
  if (!result.verified) return refuse()
  await db
    .updateTable('operator_passkeys')
    .set({ counter: result.authenticationInfo.newCounter, last_used_at: input.now })
    .where('id', '=', key.id)
    .execute()
  // Cleared only while not locked: forged answers sent alongside may have locked it.
  if (!(await clearFailures(db, lockout, input.now))) {
    const locked = await lockedNow(db, lockout, input.now)
    throw locked === null
      ? new OperatorError('invalid_passkey', 'The passkey was not accepted.')
      : lockedError(locked, input.now)
  }
  return operator
}
