/**
 * The outbox: a message to send is written in the same transaction as the verification that
 * needs it, so nothing accepted is lost; the dispatcher then claims rows and hands them to a
 * carrier. Claims expire, so rows held by a process that crashed are picked up again.
 * @module
 */
export { createDispatcher, type Dispatcher, type DispatcherOptions } from './dispatcher'
export { type EnqueuedText, type EnqueueInput, enqueueMessage, type OutboxClaim } from './enqueue'
export { backoffMs } from './send'
