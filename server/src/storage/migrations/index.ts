/**
 * Every migration, listed explicitly so that bundling can never lose one.
 * Add a file named `YYYYMMDDTHHMMSS-what.ts` and list it here, in order.
 * @module
 */
import type { Migration, MigrationProvider } from 'kysely/migration'
import * as initial from './20261125T000000-initial'
import * as fraudGuard from './20261127T100000-fraud-guard'
import * as messageTemplates from './20261127T110000-message-templates'
import * as carrierFields from './20261127T120000-carrier-fields'
import * as marketingConsent from './20261127T210000-marketing-consent'
import * as earlyReports from './20261127T220000-early-reports'
import * as messageParts from './20261128T000000-message-parts'
import * as smsRegistrations from './20261128T010000-sms-registrations'
import * as webhooks from './20261201T021500-webhooks'
import * as keyUseAndErasures from './20261201T023000-key-use-and-erasures'
import * as fraudDestinations from './20261201T030000-fraud-destinations'
import * as callbackReplays from './20261201T031000-callback-replays'
import * as operatorsAudit from './20261201T033000-operators-audit'
import * as listExpiryConsentVersions from './20261201T060000-list-expiry-consent-versions'
import * as operatorPasskeys from './20261201T070000-operator-passkeys'
import * as pendingExpiryIndex from './20261201T150000-pending-expiry-index'
import * as housekeepingIndexes from './20261202T010000-housekeeping-indexes'
import * as counterLease from './20261202T080000-counter-lease'
import * as sentMessagesIndex from './20261202T110000-sent-messages-index'
import * as keyedAuditChain from './20261206T200000-keyed-audit-chain'
import * as operatorDevices from './20261207T010000-operator-devices'
import * as signingKeyWithdrawal from './20261207T020000-signing-key-withdrawal'
import * as signingKeySignsFrom from './20261207T060000-signing-key-signs-from'
import * as webhookEndpointHold from './20261207T100000-webhook-endpoint-hold'
import * as webhookPreviousSecrets from './20261207T110000-webhook-previous-secrets'

export const migrations: Record<string, Migration> = {
  '20261125T000000-initial': initial,
  '20261127T100000-fraud-guard': fraudGuard,
  '20261127T110000-message-templates': messageTemplates,
  '20261127T120000-carrier-fields': carrierFields,
  '20261127T210000-marketing-consent': marketingConsent,
  '20261127T220000-early-reports': earlyReports,
  '20261128T000000-message-parts': messageParts,
  '20261128T010000-sms-registrations': smsRegistrations,
  '20261201T021500-webhooks': webhooks,
  '20261201T023000-key-use-and-erasures': keyUseAndErasures,
  '20261201T030000-fraud-destinations': fraudDestinations,
  '20261201T031000-callback-replays': callbackReplays,
  '20261201T033000-operators-audit': operatorsAudit,
  '20261201T060000-list-expiry-consent-versions': listExpiryConsentVersions,
  '20261201T070000-operator-passkeys': operatorPasskeys,
  '20261201T150000-pending-expiry-index': pendingExpiryIndex,
  '20261202T010000-housekeeping-indexes': housekeepingIndexes,
  '20261202T080000-counter-lease': counterLease,
  '20261202T110000-sent-messages-index': sentMessagesIndex,
  '20261206T200000-keyed-audit-chain': keyedAuditChain,
  '20261207T010000-operator-devices': operatorDevices,
  '20261207T020000-signing-key-withdrawal': signingKeyWithdrawal,
  '20261207T060000-signing-key-signs-from': signingKeySignsFrom,
  '20261207T100000-webhook-endpoint-hold': webhookEndpointHold,
  '20261207T110000-webhook-previous-secrets': webhookPreviousSecrets,
}

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => migrations,
}
