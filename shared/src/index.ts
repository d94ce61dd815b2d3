/**
 * Code both sides of Textgate use: API schemas, error codes and types.
 * Store servers verify tokens with `@textgate/shared/verify`.
 * @module
 */
export * from './errors'
export * from './schemas'
export * from './webhooks'
