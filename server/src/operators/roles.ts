/**
 * What each operator role may do, in one table. The server checks these on every console API
 * call (403 otherwise); the console only uses them to hide what would be refused.
 * @module
 */
import type { OperatorRole } from '../storage'

export const ROLES = ['owner', 'developer', 'analyst', 'support'] as const satisfies OperatorRole[]

export const PERMISSIONS = [
  /** Funnel, conversion, timings, spend, fraud figures. */
  'overview.read',
  /** The list of verifications (masked numbers) and their details. */
  'verifications.list',
  /** Find a shopper's verifications by their full number (each lookup audited). */
  'verifications.lookup',
  /** Numbers in full (otherwise masked). */
  'pii.read',
  'fraud.read',
  'fraud.write',
  /** Templates, registrations, the routing file (secrets never shown), previews. */
  'messaging.read',
  /** Per route breaker state, delivery rate and latency; outbox status (figures only). */
  'delivery.read',
  'templates.write',
  'settings.read',
  'settings.write',
  'keys.read',
  'keys.write',
  'sandbox.use',
  'audit.read',
  'operators.manage',
] as const

export type Permission = (typeof PERMISSIONS)[number]

export const ROLE_PERMISSIONS: Record<OperatorRole, readonly Permission[]> = {
  owner: PERMISSIONS,
  developer: [
    'messaging.read',
    'delivery.read',
    'templates.write',
    'settings.read',
    'settings.write',
    'keys.read',
    'keys.write',
    'sandbox.use',
  ],
  analyst: ['overview.read', 'verifications.list', 'fraud.read', 'delivery.read'],
  support: ['verifications.lookup', 'pii.read'],
}

export function isRole(value: unknown): value is OperatorRole {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value)
}

export function can(role: OperatorRole | undefined, permission: Permission): boolean {
  return role !== undefined && ROLE_PERMISSIONS[role].includes(permission)
}
