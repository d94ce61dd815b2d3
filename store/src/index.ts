/**
 * `@textgate/store`: what a store's server needs from Textgate, on Node, Deno, Bun and edge
 * runtimes (WebCrypto and fetch only): verify a phone token offline, redeem it once, verify
 * webhooks.
 * @module
 */
export type {
  PhoneTokenClaims,
  RedeemFailure,
  WebhookEvent,
  WebhookEventData,
  WebhookEventType,
} from '@textgate/shared'
export * from './redeem'
export * from './verify-token'
export * from './webhooks'
