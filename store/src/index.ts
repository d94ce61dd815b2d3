/**
 * `@textgate/store`: what a store's server needs from Textgate, on Node, Deno, Bun and edge
 * runtimes (WebCrypto and fetch only): verify a phone token offline, redeem it once, verify
 * webhooks.
 * @module
 */
import type { PhoneTokenClaims as Claims, WebhookEvent as Event } from '@textgate/shared'

export type { RedeemFailure, WebhookEventData, WebhookEventType } from '@textgate/shared'
// Aliases, so the published types name these as types only (in shared they are valibot schemas
// too, which this package does not export).
/** The claims of a verified phone token. */
export type PhoneTokenClaims = Claims
/** The JSON body of a webhook request, by `type`. */
export type WebhookEvent = Event
export * from './redeem'
export * from './verify-token'
export * from './webhooks'
