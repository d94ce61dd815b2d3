/**
 * Webhooks per Standard Webhooks 1.0: raise events with {@link emitWebhookEvent} inside the
 * transaction of the change; the dispatcher delivers them, signed, with retries for ~3 days.
 * @module
 */
export { createWebhookDispatcher, type WebhookDispatcher } from './dispatcher'
export { emitWebhookEvent, onWebhookEvent, type WebhookEventInput } from './emit'
export {
  createEndpoint,
  deleteEndpoint,
  getEndpoint,
  listDeliveries,
  listEndpoints,
  newWebhookSecret,
  replay,
  rotateSecret,
  updateEndpoint,
} from './endpoints'
export { webhookRoutes } from './routes'
export { MAX_ATTEMPTS, RETRY_DELAYS_MS } from './schedule'
