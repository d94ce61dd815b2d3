/**
 * `pnpm textgate webhooks …`: webhook endpoints, their delivery log and replays, for the
 * operator (the same functions as the secret-key API). Each change is audited as the API's same
 * call is (its method and path as the action, the path as the target), with what changed and
 * never a secret.
 * @module
 */

import { parseArgs } from 'node:util'
import { WEBHOOK_EVENT_TYPES, type WebhookEndpoint, type WebhookEventType } from '@textgate/shared'
import { ApiError } from '../../http/errors'
import { deriveSecrets } from '../../secrets'
import type { Storage } from '../../storage'
import {
  createEndpoint,
  deleteEndpoint,
  getEndpoint,
  listDeliveries,
  listEndpoints,
  replay,
  rotateSecret,
  updateEndpoint,
} from '../../webhooks'
import type { Scope } from '../../webhooks/endpoints'
import type { WebhookNetworks } from '../../webhooks/url-policy'
import {
  auditChange,
  type Command,
  requireProject,
  settings,
  UsageError,
  withStorage,
} from '../command'

const WEBHOOKS_USAGE = `  webhooks create --project ID --url URL [--event TYPE ...] [--description TEXT] [--live]
                                add an endpoint (test mode unless --live); prints its
                                whsec_ secret once. Events: ${WEBHOOK_EVENT_TYPES.join(', ')}
  webhooks list --project ID [--live]
                                endpoints with their state (disabled: manual or failing;
                                held after a 429/503) and earlier secrets still signing
  webhooks enable|disable --project ID --endpoint ID [--live]
  webhooks delete --project ID --endpoint ID [--live]
  webhooks rotate-secret --project ID --endpoint ID [--keep-hours N] [--live]
                                a new secret; the old one also signs for N hours (24),
                                earlier ones until their own ends (5 at most); 0: new alone
  webhooks deliveries --project ID --endpoint ID [--state pending|delivered|failed]
                  [--limit N] [--live]   the delivery log: each attempt's status and latency
  webhooks replay --project ID (--delivery ID | --endpoint ID [--since ISO-TIME]) [--live]
                                send one delivery again, or every failed one (same webhook-id)`

class WebhooksUsageError extends UsageError {}

/**
 * The earlier secrets that still sign too, newest first, each with its end (`2 earlier secrets
 * also sign: until T1 (newest), until T2`); empty when the current one alone signs.
 */
function overlapLine(endpoint: WebhookEndpoint, separator = ' '): string {
  const ends = endpoint.previousSecrets.map(
    (p, i) =>
      `until ${p.expiresAt}${i === 0 && endpoint.previousSecrets.length > 1 ? ' (newest)' : ''}`,
  )
  if (ends.length === 0) return ''
  const what =
    ends.length === 1
      ? 'the previous secret also signs'
      : `${ends.length} earlier secrets also sign`
  return `${separator}${what}: ${ends.join(', ')}`
}

const SUBCOMMANDS = [
  'create',
  'list',
  'enable',
  'disable',
  'delete',
  'rotate-secret',
  'deliveries',
  'replay',
]

interface WebhooksCommandContext {
  storage: Storage
  secret: string
  /** TEXTGATE_WEBHOOK_NETWORKS, as the server reads it. */
  networks: WebhookNetworks
}

/** Runs `webhooks <sub> ...args`; returns what to print. */
async function webhooksSubcommand(
  argv: string[],
  { storage, secret, networks }: WebhooksCommandContext,
): Promise<{ human: string; data: unknown }> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      json: { type: 'boolean', default: false },
      project: { type: 'string' },
      url: { type: 'string' },
      event: { type: 'string', multiple: true },
      description: { type: 'string' },
      endpoint: { type: 'string' },
      delivery: { type: 'string' },
      since: { type: 'string' },
      state: { type: 'string' },
      limit: { type: 'string' },
      'keep-hours': { type: 'string' },
      live: { type: 'boolean', default: false },
    },
  })
  const sub = positionals[1] ?? ''
  if (!SUBCOMMANDS.includes(sub)) {
    throw new WebhooksUsageError(
      sub
        ? `unknown command "webhooks ${sub}"`
        : `webhooks needs one of: ${SUBCOMMANDS.join(', ')}`,
    )
  }
  if (!values.project) throw new WebhooksUsageError(`webhooks ${sub} needs --project ID`)
  await requireProject(storage.db, values.project)
  const scope: Scope = {
    projectId: values.project,
    mode: values.live ? 'live' : 'test',
    networks,
  }
  const { db } = storage
  const needEndpoint = () => {
    if (!values.endpoint) throw new WebhooksUsageError(`webhooks ${sub} needs --endpoint ID`)
    return values.endpoint
  }
  const project = values.project
  /** The API call that makes the same change: `POST /v1/webhooks/endpoints/we_…/replay`. */
  const audit = (method: string, path: string, change: { before?: unknown; after?: unknown }) =>
    auditChange(
      db,
      { secret },
      {
        projectId: project,
        action: `${method} /v1/webhooks${path}`,
        target: `/v1/webhooks${path}`,
        ...change,
      },
    )
  try {
    switch (sub) {
      case 'create': {
        if (!values.url) throw new WebhooksUsageError('webhooks create needs --url URL')
        const events = values.event as WebhookEventType[] | undefined
        for (const event of events ?? []) {
          if (!(WEBHOOK_EVENT_TYPES as readonly string[]).includes(event)) {
            throw new WebhooksUsageError(`unknown event type "${event}"`)
          }
        }
        const created = await createEndpoint(db, deriveSecrets(secret).encryptionKey, scope, {
          url: values.url,
          events,
          description: values.description,
        })
        const { secret: _shownOnce, ...endpoint } = created
        await audit('POST', '/endpoints', { after: endpoint })
        return {
          human: `endpoint ${created.id} (${created.mode}) → ${created.url}\nsecret: ${created.secret}\n(shown once: give it to the receiver's Standard Webhooks verifier)`,
          data: created,
        }
      }
      case 'list': {
        const endpoints = await listEndpoints(db, scope)
        return {
          human:
            endpoints.length === 0
              ? `no ${scope.mode}-mode webhook endpoints`
              : endpoints
                  .map(
                    (e) =>
                      `${e.id} ${e.enabled ? 'enabled' : `disabled (${e.disabledReason})`} ${e.url} events: ${e.events?.join(',') ?? 'all'}${e.failingSince ? ` failing since ${e.failingSince}` : ''}${e.heldUntil ? ` held until ${e.heldUntil} (it asked for time)` : ''}${overlapLine(e)}`,
                  )
                  .join('\n'),
          data: endpoints,
        }
      }
      case 'enable':
      case 'disable': {
        const id = needEndpoint()
        const before = await getEndpoint(db, scope, id)
        const updated = await updateEndpoint(db, scope, id, { enabled: sub === 'enable' })
        await audit('PATCH', `/endpoints/${id}`, {
          before: { enabled: before.enabled, disabledReason: before.disabledReason },
          after: { enabled: updated.enabled, disabledReason: updated.disabledReason },
        })
        return { human: `${updated.id} ${updated.enabled ? 'enabled' : 'disabled'}`, data: updated }
      }
      case 'delete': {
        const id = needEndpoint()
        const before = await getEndpoint(db, scope, id)
        await deleteEndpoint(db, scope, id)
        await audit('DELETE', `/endpoints/${id}`, { before, after: null })
        return { human: `deleted ${values.endpoint}`, data: { deleted: values.endpoint } }
      }
      case 'rotate-secret': {
        const hours = values['keep-hours'] === undefined ? 24 : Number(values['keep-hours'])
        if (!Number.isFinite(hours) || hours < 0 || hours > 168) {
          throw new WebhooksUsageError('--keep-hours must be between 0 and 168')
        }
        const id = needEndpoint()
        const rotated = await rotateSecret(
          db,
          deriveSecrets(secret).encryptionKey,
          scope,
          id,
          hours * 3_600_000,
        )
        await audit('POST', `/endpoints/${id}/rotate-secret`, {
          after: {
            mode: rotated.mode,
            previousSecretExpiresAt: rotated.previousSecretExpiresAt,
            previousSecrets: rotated.previousSecrets,
          },
        })
        return {
          human: `new secret: ${rotated.secret}${overlapLine(rotated, '\n')}`,
          data: rotated,
        }
      }
      case 'deliveries': {
        const state = values.state as 'pending' | 'delivered' | 'failed' | undefined
        if (state && !['pending', 'delivered', 'failed'].includes(state)) {
          throw new WebhooksUsageError('--state must be pending, delivered or failed')
        }
        const limit = values.limit === undefined ? 50 : Number(values.limit)
        if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
          throw new WebhooksUsageError('--limit must be 1–1000')
        }
        const deliveries = await listDeliveries(db, scope, needEndpoint(), { state, limit })
        return {
          human:
            deliveries
              .map((d) =>
                [
                  `${d.id} ${d.type} ${d.state} webhook-id ${d.messageId} attempts ${d.attempts}`,
                  ...d.log.map(
                    (a) =>
                      `  #${a.attempt} ${a.at} ${a.statusCode ?? 'no answer'} ${a.latencyMs} ms${a.error ? ` ${a.error}` : ''}`,
                  ),
                ].join('\n'),
              )
              .join('\n') || 'no deliveries',
          data: deliveries,
        }
      }
      case 'replay': {
        let since: number | undefined
        if (values.since !== undefined) {
          since = Date.parse(values.since)
          if (Number.isNaN(since)) throw new WebhooksUsageError('--since must be an ISO time')
        }
        const replayed = values.delivery
          ? await replay(db, scope, { deliveryId: values.delivery })
          : await replay(db, scope, { endpointId: needEndpoint(), since })
        await audit(
          'POST',
          values.delivery
            ? `/deliveries/${values.delivery}/replay`
            : `/endpoints/${needEndpoint()}/replay`,
          {
            after: {
              mode: scope.mode,
              replayed,
              ...(values.since === undefined ? {} : { since: values.since }),
            },
          },
        )
        return { human: `replaying ${replayed} deliveries`, data: { replayed } }
      }
      default:
        throw new WebhooksUsageError(`unknown command "webhooks ${sub}"`)
    }
  } catch (error) {
    if (error instanceof ApiError)
      throw new WebhooksUsageError(
        `${error.message}${error.details.reason ? ` (${String(error.details.reason)})` : ''}`,
      )
    throw error
  }
}

export const webhooksCommand: Command = {
  name: 'webhooks *',
  usage: WEBHOOKS_USAGE,
  ownArguments: true,
  async run({ argv, out }) {
    const config = settings()
    const result = await withStorage(config, (storage) =>
      webhooksSubcommand(argv, {
        storage,
        secret: config.secret,
        networks: config.webhookNetworks,
      }),
    )
    out.print(result.human, result.data)
  },
}
