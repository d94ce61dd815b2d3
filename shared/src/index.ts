/**
 * Code both sides of Textgate use: API schemas, error codes and types.
 * Store servers verify tokens with `@textgate/store`.
 * @module
 */
export * from './countries'
export * from './errors'
export * from './issuer'
export * from './operations'
export * from './schemas'
export * from './webhooks'
