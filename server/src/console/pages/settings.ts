import { CONSENT_VERSION, CountryCode } from '@textgate/shared'
import { type Context, Hono, type MiddlewareHandler } from 'hono'
import * as v from 'valibot'
import { isIpOrCidr } from '../../fraud/network'
import { readJson, readOptionalJson } from '../../http/body'
import { ApiError } from '../../http/errors'
import { requestLog } from '../../http/request-id'
import { createKey, listKeys, revokeKey } from '../../keys'
import { forgetCachedKeys } from '../../keys/invalidation'
import {
  ALL_PROJECTS,
  createOperator,
  grantIn,
  issueSetupLink,
  OperatorError,
  projectOperators,
  ROLES,
  removeRole,
  setRole,
} from '../../operators'
import { endAllSessions } from '../../operators/sessions'
import { allowedCountries, allowedOrigins, consentVersions, normalizeOrigin } from '../../projects'
import type { Project } from '../../storage'
import { SigningKeyError, signingKeyWithdrawn, type WithdrawResult } from '../../tokens'
import { withFields } from '../../with-fields'
import { asApiError } from '../auth-routes'
import type { ProjectRoutesDeps } from '../project-routes'
import { auditNote, ipAllowed, ipAllowlist, need } from '../security'

const SettingsUpdate = v.strictObject({
  name: v.optional(v.pipe(v.string(), v.trim(), v.minLength(1), v.maxLength(100))),
  brand: v.optional(v.pipe(v.string(), v.trim(), v.minLength(1), v.maxLength(40))),
  allowedOrigins: v.optional(
    v.pipe(v.array(v.pipe(v.string(), v.maxLength(200))), v.minLength(1), v.maxLength(50)),
  ),
  allowedCountries: v.optional(
    v.nullable(
      // A code of the right shape that is no country (UK for GB) would refuse every number.
      v.array(CountryCode),
    ),
  ),
  codeLength: v.optional(v.pipe(v.number(), v.integer(), v.minValue(4), v.maxValue(10))),
  /** The first is current (recorded when the widget names none); empty or null: any version. */
  consentVersions: v.optional(
    v.nullable(
      v.pipe(
        v.array(
          v.pipe(
            v.string(),
            v.trim(),
            v.regex(CONSENT_VERSION, '1 to 64 letters, digits, spaces or . _ : + / @ -'),
          ),
        ),
        v.maxLength(20),
      ),
    ),
  ),
  ipAllowlist: v.optional(
    v.pipe(
      v.array(v.pipe(v.string(), v.check(isIpOrCidr, 'an IP address or CIDR range'))),
      v.maxLength(100),
    ),
  ),
})

/** A rotation of the token signing key: at once, or published first (`keys rotate --publish-first`). */
const SigningKeyRotation = v.object({ publishFirst: v.optional(v.boolean()) })

export function presentSettings(project: Project) {
  return {
    id: project.id,
    name: project.name,
    brand: project.brand,
    allowedOrigins: allowedOrigins(project),
    allowedCountries: allowedCountries(project),
    codeLength: project.code_length,
    consentVersions: consentVersions(project),
    ipAllowlist: ipAllowlist(project),
  }
}

const KeyCreate = v.strictObject({ mode: v.picklist(['test', 'live']) })
const KeyRotate = v.strictObject({
  /** Revoke the old key at once (a leaked key) instead of after the new one is deployed. */
  revokeOld: v.optional(v.boolean(), false),
})
const Withdraw = v.strictObject({
  /** Make a new signing key in the same step: needed when the key withdrawn is the one signing. */
  rotate: v.optional(v.boolean(), false),
})
const Invite = v.strictObject({
  email: v.pipe(v.string(), v.maxLength(254)),
  role: v.picklist(ROLES),
})
const RoleChange = v.strictObject({ role: v.picklist(ROLES) })

/** One signing key serves every project: rotating or withdrawing it is no one project's call. */
const everyProjectOwner: MiddlewareHandler = async function everyProjectOwner(c, next) {
  if (c.get('everyProjectRole') !== 'owner') {
    throw new ApiError('forbidden', { permission: 'owner of every project' })
  }
  await next()
}

export function settingsRoutes({ db, tokens, publicUrl, now, logger }: ProjectRoutesDeps) {
  const setupUrl = (token: string) => `${publicUrl}/console/setup#token=${token}`
  /**
   * A role in this project overrides an operator's every-project grant, so only an owner of
   * every project may set one for an operator who has such a grant: otherwise a project's own
   * owner could make the server's owner a support agent here, shut out of its audit log.
   */
  async function mayChangeRoleOf(c: Context, operatorId: string) {
    if (c.get('everyProjectRole') === 'owner') return
    if (await grantIn(db, operatorId, ALL_PROJECTS)) {
      throw new ApiError('forbidden', { message: 'This operator works on every project.' })
    }
  }
  return new Hono()
    .get('/', need('settings.read'), (c) => c.json(presentSettings(c.get('project'))))
    .put('/', need('settings.write'), async (c) => {
      const input = await readJson(c, SettingsUpdate)
      const project = c.get('project')
      let origins: string[] | undefined
      try {
        origins = input.allowedOrigins && [...new Set(input.allowedOrigins.map(normalizeOrigin))]
      } catch (error) {
        throw new ApiError('invalid_request', {
          issues: [{ path: 'allowedOrigins', message: (error as Error).message }],
        })
      }
      // A list without the operator's own address would shut every operator out at once (the
      // list guards the console too, and no command changes it): refused, changing nothing.
      if (
        input.ipAllowlist?.length &&
        !ipAllowed({ ip_allowlist: JSON.stringify(input.ipAllowlist) }, c.get('clientIp'))
      ) {
        const ip = c.get('clientIp') ?? 'unknown'
        throw new ApiError('invalid_request', {
          issues: [
            {
              path: 'ipAllowlist',
              message: `Your address (${ip}) is not in this list: saving it would shut you, and every operator elsewhere, out of this project's console. Add your address or its range.`,
            },
          ],
        })
      }
      const countries =
        input.allowedCountries === undefined
          ? undefined
          : input.allowedCountries?.length
            ? JSON.stringify([...new Set(input.allowedCountries)])
            : null
      // Only the fields the request names: a field left out is not a field set to nothing.
      const changes: Partial<
        Pick<
          Project,
          | 'name'
          | 'brand'
          | 'allowed_origins'
          | 'allowed_countries'
          | 'code_length'
          | 'consent_versions'
          | 'ip_allowlist'
        >
      > = {}
      if (input.name !== undefined) changes.name = input.name
      if (input.brand !== undefined) changes.brand = input.brand
      if (origins !== undefined) changes.allowed_origins = JSON.stringify(origins)
      if (countries !== undefined) changes.allowed_countries = countries
      if (input.codeLength !== undefined) changes.code_length = input.codeLength
      if (input.consentVersions !== undefined) {
        changes.consent_versions = input.consentVersions?.length
          ? JSON.stringify([...new Set(input.consentVersions)])
          : null
      }
      if (input.ipAllowlist !== undefined) {
        changes.ip_allowlist = input.ipAllowlist.length ? JSON.stringify(input.ipAllowlist) : null
      }
      if (Object.keys(changes).length) {
        await db.updateTable('projects').set(changes).where('id', '=', project.id).execute()
        // Keys carry their project's settings in the key cache: starts see the change at once.
        forgetCachedKeys(db)
      }
      // withFields, typed for a partial change: the project with the fields the request set.
      const updated: Project = Object.assign({}, project, changes)
      auditNote(c, {
        action: 'settings.update',
        target: project.id,
        before: presentSettings(project),
        after: presentSettings(updated),
      })
      return c.json(presentSettings(updated))
    })
    .get('/keys', need('keys.read'), async (c) =>
      c.json({ keys: await listKeys(db, c.get('project').id) }),
    )
    .post('/keys', need('keys.write'), async (c) => {
      const { mode } = await readJson(c, KeyCreate)
      const projectId = c.get('project').id
      const publishable = await createKey(db, projectId, 'publishable', mode, now())
      const secret = await createKey(db, projectId, 'secret', mode, now())
      auditNote(c, {
        action: 'keys.create',
        target: projectId,
        after: { mode, publishable: publishable.summary.prefix, secret: secret.summary.prefix },
      })
      return c.json({ mode, publishableKey: publishable.key, secretKey: secret.key }, 201)
    })
    .post('/keys/:keyId/revoke', need('keys.write'), async (c) => {
      const result = await revokeKey(db, c.get('project').id, c.req.param('keyId'), {
        now: now(),
        logger: requestLog(c, logger),
        by: `operator ${c.get('operator').email}`,
      })
      if (!result.revoked && result.reason === 'not_found') throw new ApiError('not_found')
      auditNote(c, {
        action: 'keys.revoke',
        target: c.req.param('keyId'),
        before: result.revoked ? withFields(result.key, { revokedAt: null }) : result.key,
        after: result.key,
      })
      return c.json({ revoked: result.revoked, key: result.key })
    })
    .post('/keys/:keyId/rotate', need('keys.write'), async (c) => {
      const { revokeOld } = await readJson(c, KeyRotate)
      const projectId = c.get('project').id
      const old = (await listKeys(db, projectId)).find((k) => k.id === c.req.param('keyId'))
      if (!old) throw new ApiError('not_found')
      if (old.revokedAt) throw new ApiError('invalid_request', { message: 'That key is revoked.' })
      const replacement = await createKey(db, projectId, old.kind, old.mode, now())
      const revoked = revokeOld
        ? await revokeKey(db, projectId, old.id, {
            now: now(),
            logger: requestLog(c, logger),
            by: `operator ${c.get('operator').email}`,
          })
        : undefined
      auditNote(c, {
        action: 'keys.rotate',
        target: old.id,
        before: old,
        after: { replacement: replacement.summary, oldRevoked: revoked?.revoked ?? false },
      })
      return c.json(
        { key: replacement.key, replacement: replacement.summary, oldRevoked: revokeOld },
        201,
      )
    })
    .post('/signing-key/rotate', need('keys.write'), everyProjectOwner, async (c) => {
      if (!tokens) throw new ApiError('service_unavailable')
      // At once, or (publishFirst) in the JWKS now and signing after its max-age and a minute.
      const { publishFirst } = await readOptionalJson(c, SigningKeyRotation, {})
      await tokens.ensureSigningKey()
      const rotated = await tokens.rotate({ now: !publishFirst }).catch((error) => {
        if (error instanceof SigningKeyError && error.code === 'changed') {
          throw new ApiError('signing_key_changed', { currentKid: error.currentKid })
        }
        throw error
      })
      auditNote(c, {
        action: 'signing_key.rotate',
        target: rotated.kid,
        before: { kid: rotated.retiredKid, nextKid: rotated.replacedNextKid },
        after: { kid: rotated.kid, signsFrom: rotated.signsFrom },
      })
      return c.json(rotated)
    })
    .get('/signing-keys', need('keys.read'), everyProjectOwner, async (c) => {
      if (!tokens) throw new ApiError('service_unavailable')
      return c.json({ keys: await tokens.signingKeys() })
    })
    .post('/signing-keys/:kid/withdraw', need('keys.write'), everyProjectOwner, async (c) => {
      const { rotate } = await readJson(c, Withdraw)
      if (!tokens) throw new ApiError('service_unavailable')
      const kid = c.req.param('kid')
      // Named before the attempt: a refused withdrawal is audited as one too.
      auditNote(c, { action: 'signing_key.withdraw', target: kid })
      let result: WithdrawResult
      try {
        result = await tokens.withdraw(kid, { rotate })
      } catch (error) {
        if (!(error instanceof SigningKeyError)) throw error
        throw error.code === 'not_found'
          ? new ApiError('not_found')
          : error.code === 'changed'
            ? new ApiError('signing_key_changed', { kid })
            : new ApiError('signing_key_in_use', { kid })
      }
      if (result.withdrawn) {
        signingKeyWithdrawn(requestLog(c, logger), result, `operator ${c.get('operator').email}`)
      }
      auditNote(c, {
        after: {
          withdrawn: result.withdrawn,
          newKid: result.newKid,
          currentKid: result.currentKid,
        },
      })
      return c.json(result)
    })
    .get('/operators', need('operators.manage'), async (c) =>
      c.json({ operators: await projectOperators(db, c.get('project').id) }),
    )
    .post('/operators', need('operators.manage'), async (c) => {
      const { email, role } = await readJson(c, Invite)
      const projectId = c.get('project').id
      try {
        const { operator, setupToken } = await createOperator(db, {
          email,
          grants: [{ projectId, role }],
          now: now(),
        })
        auditNote(c, {
          action: 'operator.invite',
          target: operator.id,
          after: { email: operator.email, role },
        })
        return c.json(
          { id: operator.id, email: operator.email, role, setupUrl: setupUrl(setupToken) },
          201,
        )
      } catch (error) {
        if (error instanceof OperatorError && error.code === 'operator_exists') {
          // An existing operator gets the role in this project (no new link: they log in as usual).
          const existing = await db
            .selectFrom('operators')
            .select(['id', 'email'])
            .where('email', '=', email.trim().toLowerCase())
            .executeTakeFirstOrThrow()
          await mayChangeRoleOf(c, existing.id)
          // Whoever used the setup link holds that account, and an email is never checked: the
          // owner of another project may have invited this address there and set it up
          // themselves. Only an owner of every project vouches for it here.
          if (
            c.get('everyProjectRole') !== 'owner' &&
            !(await grantIn(db, existing.id, projectId))
          ) {
            throw new ApiError(
              'operator_exists',
              {},
              {
                message:
                  'This email is already an operator of another project, set up through that invitation: only an owner of every project can give them a role here.',
              },
            )
          }
          await setRole(db, existing.id, { projectId, role }, now())
          auditNote(c, {
            action: 'operator.grant',
            target: existing.id,
            after: { email: existing.email, role },
          })
          return c.json({ id: existing.id, email: existing.email, role, setupUrl: null }, 200)
        }
        asApiError(error)
      }
    })
    .put('/operators/:operatorId', need('operators.manage'), async (c) => {
      const { role } = await readJson(c, RoleChange)
      const operatorId = c.req.param('operatorId')
      const projectId = c.get('project').id
      const current = await grantIn(db, operatorId, projectId)
      if (!current) throw new ApiError('not_found')
      await mayChangeRoleOf(c, operatorId)
      await setRole(db, operatorId, { projectId, role }, now())
      auditNote(c, {
        action: 'operator.role',
        target: operatorId,
        before: { role: current },
        after: { role },
      })
      return c.json({ ok: true })
    })
    .delete('/operators/:operatorId', need('operators.manage'), async (c) => {
      const operatorId = c.req.param('operatorId')
      const projectId = c.get('project').id
      if (operatorId === c.get('operator').id) {
        throw new ApiError('invalid_request', { message: 'You cannot remove yourself.' })
      }
      const current = await grantIn(db, operatorId, projectId)
      if (!current) throw new ApiError('not_found')
      await removeRole(db, operatorId, projectId)
      const left = await db
        .selectFrom('operator_roles')
        .select('project_id')
        .where('operator_id', '=', operatorId)
        .execute()
      if (left.length === 0) await endAllSessions(db, operatorId)
      auditNote(c, {
        action: 'operator.remove',
        target: operatorId,
        before: { role: current },
        after: null,
      })
      return c.json({ ok: true })
    })
    .post('/operators/:operatorId/link', need('operators.manage'), async (c) => {
      const operatorId = c.req.param('operatorId')
      const row = await db
        .selectFrom('operator_roles')
        .innerJoin('operators', 'operators.id', 'operator_roles.operator_id')
        .select(['operators.id', 'operators.password_hash'])
        .where('operator_roles.operator_id', '=', operatorId)
        .where('operator_roles.project_id', '=', c.get('project').id)
        .executeTakeFirst()
      if (!row) throw new ApiError('not_found')
      // A link for an operator already set up resets their password and authenticator: only
      // for operators of this project alone, or an owner here could take over one from elsewhere.
      const elsewhere = await db
        .selectFrom('operator_roles')
        .select('project_id')
        .where('operator_id', '=', operatorId)
        .where('project_id', '!=', c.get('project').id)
        .executeTakeFirst()
      if (elsewhere)
        throw new ApiError('forbidden', { message: 'This operator also works on other projects.' })
      const token = await issueSetupLink(db, operatorId, now())
      auditNote(c, {
        action: 'operator.link',
        target: operatorId,
        after: { reset: row.password_hash !== null },
      })
      return c.json({ setupUrl: setupUrl(token) })
    })
}
