/**
 * Live-mode carrier routing: the routing file's carriers become adapters, its rules a router.
 * @module
 */
import type { Logger } from 'pino'
import { alibabaCarrier } from '../carriers/alibaba'
import { genericHttpCarrier } from '../carriers/generic'
import { infobipCarrier } from '../carriers/infobip'
import { smppCarrier } from '../carriers/smpp'
import { tencentCarrier } from '../carriers/tencent'
import { twilioCarrier } from '../carriers/twilio'
import { type CarrierAdapter, CarrierError } from '../carriers/types'
import { vonageCarrier } from '../carriers/vonage'
import {
  type CarrierSpec,
  carrierPassword,
  type RoutingConfig,
  RoutingConfigError,
  readSmppTls,
  secretFromEnv,
} from './config'
import { createRouter, type Router } from './router'
import { routingWarnings } from './warnings'

export {
  loadRoutingFile,
  parseRoutingConfig,
  type RoutingConfig,
  RoutingConfigError,
} from './config'
export { createRouter, type PlannedRoute, type Router } from './router'
export { routingWarnings } from './warnings'

export interface CarrierBuildOptions {
  logger?: Logger
  env?: Record<string, string | undefined>
  /**
   * The server's public URL: carriers told per message where to post reports (Twilio, Vonage,
   * Infobip) get `{publicUrl}/v1/carriers/{id}/reports` unless the entry names its own URL.
   */
  publicUrl?: string
}

/**
 * A carrier's refusal as said by the entry `id` instead of the provider ("[textgate] [twilio-eu]
 * HTTP 400: …" rather than "[textgate] [twilio] …"), keeping whether and when to retry.
 */
export function asEntryError(error: unknown, id: string): unknown {
  if (!(error instanceof CarrierError) || error.carrier === id) return error
  const prefix = `[textgate] [${error.carrier}] `
  const detail = error.message.startsWith(prefix)
    ? error.message.slice(prefix.length)
    : error.message
  const renamed = new CarrierError(id, detail, {
    permanent: error.permanent,
    routeFault: error.routeFault,
    ...(error.retryAfterMs === undefined ? {} : { retryAfterMs: error.retryAfterMs }),
    ...(error.code === undefined ? {} : { code: error.code }),
    cause: error.cause,
  })
  renamed.stack = error.stack?.replace(error.message, renamed.message)
  return renamed
}

/**
 * The adapter under the entry's id: messages, routes, the report URL
 * (/v1/carriers/{id}/reports), errors and logs all use it, so two accounts of one provider can
 * coexist and the operator reads the name they configured.
 */
function named(adapter: CarrierAdapter, id: string): CarrierAdapter {
  if (adapter.id === id) return adapter
  return {
    ...adapter,
    id,
    async send(message) {
      try {
        return await adapter.send(message)
      } catch (error) {
        throw asEntryError(error, id)
      }
    },
  }
}

/** Builds the adapter a carrier entry describes. */
export function carrierFromSpec(
  spec: CarrierSpec,
  { logger, env = process.env, publicUrl }: CarrierBuildOptions = {},
): CarrierAdapter {
  const secret = (name: string) => secretFromEnv(name, env)
  const reportsUrl = publicUrl
    ? `${publicUrl.replace(/\/+$/, '')}/v1/carriers/${encodeURIComponent(spec.id)}/reports`
    : undefined
  switch (spec.type) {
    case 'smpp': {
      // The files were checked when the routing file was loaded; read them again for the adapter.
      const { tls, problems } = readSmppTls(spec)
      if (problems.length > 0) {
        throw new RoutingConfigError(
          'routing config',
          problems.map((problem) => `carrier "${spec.id}"${problem}`),
        )
      }
      return smppCarrier({
        id: spec.id,
        host: spec.host,
        port: spec.port,
        systemId: spec.systemId,
        password: carrierPassword(spec, env),
        systemType: spec.systemType,
        sourceAddr: spec.sourceAddr,
        window: spec.window,
        enquireLinkMs: spec.enquireLinkMs,
        responseTimeoutMs: spec.responseTimeoutMs,
        throttleRetryAfterMs: spec.throttleRetryAfterMs,
        longMessages: spec.longMessages,
        maxParts: spec.maxParts,
        dltTlvs: spec.dltTlvs,
        tls,
        logger,
      })
    }
    case 'twilio':
      return named(
        twilioCarrier({
          accountSid: spec.accountSid,
          authToken: secret(spec.authTokenEnv),
          apiKey: spec.apiKey && { sid: spec.apiKey.sid, secret: secret(spec.apiKey.secretEnv) },
          from: spec.from,
          messagingServiceSid: spec.messagingServiceSid,
          statusCallbackUrl: spec.statusCallbackUrl ?? reportsUrl,
          baseUrl: spec.baseUrl,
          timeoutMs: spec.timeoutMs,
        }),
        spec.id,
      )
    case 'vonage': {
      const callbackToken = spec.callbackTokenEnv ? secret(spec.callbackTokenEnv) : undefined
      let callbackUrl = spec.callbackUrl
      if (!callbackUrl && reportsUrl) {
        const url = new URL(reportsUrl)
        // Unsigned receipts are checked by the token in the URL they are posted to.
        if (!spec.signature && callbackToken) url.searchParams.set('token', callbackToken)
        callbackUrl = url.toString()
      }
      return named(
        vonageCarrier({
          apiKey: spec.apiKey,
          apiSecret: spec.apiSecretEnv ? secret(spec.apiSecretEnv) : undefined,
          signature: spec.signature && {
            secret: secret(spec.signature.secretEnv),
            method: spec.signature.method,
          },
          callbackToken,
          from: spec.from,
          callbackUrl,
          currency: spec.currency,
          restHost: spec.restHost,
          timeoutMs: spec.timeoutMs,
        }),
        spec.id,
      )
    }
    case 'infobip':
      return named(
        infobipCarrier({
          baseUrl: spec.baseUrl,
          apiKey: secret(spec.apiKeyEnv),
          from: spec.from,
          notifyUrl: spec.notifyUrl ?? reportsUrl,
          callbackToken: spec.callbackTokenEnv ? secret(spec.callbackTokenEnv) : undefined,
          timeoutMs: spec.timeoutMs,
        }),
        spec.id,
      )
    case 'generic':
      return genericHttpCarrier({
        id: spec.id,
        url: spec.url,
        method: spec.method,
        bodyFormat: spec.bodyFormat,
        body: spec.body,
        headers: {
          ...spec.headers,
          ...Object.fromEntries(
            Object.entries(spec.headersEnv ?? {}).map(([header, name]) => [header, secret(name)]),
          ),
        },
        from: spec.from,
        responseIdPath: spec.responseIdPath,
        callback: spec.callback && {
          secret: secret(spec.callback.secretEnv),
          header: spec.callback.header,
          idPath: spec.callback.idPath,
          statusPath: spec.callback.statusPath,
          statusMap: spec.callback.statusMap,
          errorCodePath: spec.callback.errorCodePath,
          timePath: spec.callback.timePath,
          listPath: spec.callback.listPath,
        },
        capabilities: spec.capabilities,
        validitySeconds: spec.validitySeconds,
        timeoutMs: spec.timeoutMs,
      })
    case 'alibaba':
      return named(
        alibabaCarrier({
          accessKeyId: spec.accessKeyId,
          accessKeySecret: secret(spec.accessKeySecretEnv),
          signName: spec.signName,
          templateCode: spec.templateCode,
          templateParams: spec.templateParams,
          endpoint: spec.endpoint,
          regionId: spec.regionId,
          callbackToken: spec.callbackTokenEnv ? secret(spec.callbackTokenEnv) : undefined,
          reportUtcOffset: spec.reportUtcOffset,
          timeoutMs: spec.timeoutMs,
        }),
        spec.id,
      )
    case 'tencent':
      return named(
        tencentCarrier({
          secretId: spec.secretId,
          secretKey: secret(spec.secretKeyEnv),
          smsSdkAppId: spec.smsSdkAppId,
          templateId: spec.templateId,
          templateParams: spec.templateParams,
          signName: spec.signName,
          senderId: spec.senderId,
          region: spec.region,
          endpoint: spec.endpoint,
          callbackToken: spec.callbackTokenEnv ? secret(spec.callbackTokenEnv) : undefined,
          reportUtcOffset: spec.reportUtcOffset,
          timeoutMs: spec.timeoutMs,
        }),
        spec.id,
      )
  }
}

/**
 * @example
 * const router = routerFromConfig(loadRoutingFile('routes.json'), { logger, publicUrl })
 */
export function routerFromConfig(config: RoutingConfig, options: CarrierBuildOptions = {}): Router {
  for (const warning of routingWarnings(config)) options.logger?.warn(warning)
  const adapters = new Map(
    config.carriers.map((spec) => [spec.id, carrierFromSpec(spec, options)] as const),
  )
  return createRouter({ config, adapters, logger: options.logger })
}
