/**
 * Table types of Textgate's database. Times are epoch milliseconds (integers on both dialects);
 * JSON columns are text.
 * @module
 */
import type { Generated, Insertable, Kysely, Selectable, Transaction, Updateable } from 'kysely'

export interface ProjectTable {
  id: string
  name: string
  /** JSON array of origins such as "https://shop.example". */
  allowed_origins: string
  /** JSON array of ISO alpha-2 codes, or null for every country. */
  allowed_countries: string | null
  brand: string
  code_length: number
  created_at: number
  /** JSON of the fraud guard's settings (see fraud/settings.ts), or null for the defaults. */
  fraud_settings: string | null
  /** JSON object of locale → code-message template, or null for the defaults. */
  message_templates: string | null
  /** JSON of the China sign name, Alibaba/Tencent template ids and India DLT ids, or null. */
  sms_registrations: string | null
  /** JSON array of CIDRs the console and secret-key API accept calls from, or null for any. */
  ip_allowlist: string | null
  /** JSON array of the consent versions starts may name (the first is current), or null: any. */
  consent_versions: string | null
}

export type KeyKind = 'publishable' | 'secret'
export type KeyMode = 'test' | 'live'

export interface ApiKeyTable {
  id: string
  project_id: string
  kind: KeyKind
  mode: KeyMode
  /** SHA-256 (hex) of the whole key; keys are looked up by it and never stored in clear. */
  key_hash: string
  /** The first characters and the last four, for display ("sk_test_…a1b2"). */
  hint: string
  created_at: number
  revoked_at: number | null
  /** Last request made with the key, to the minute (each process writes it once a minute). */
  last_used_at: number | null
}

export type VerificationStatusColumn = 'pending' | 'approved' | 'expired' | 'failed' | 'canceled'

export interface VerificationTable {
  id: string
  project_id: string
  mode: KeyMode
  phone: string
  country: string
  channel: 'sms'
  locale: string | null
  status: VerificationStatusColumn
  /** HMAC-SHA256(pepper, code), hex. The code itself is never stored. */
  code_hmac: string
  code_length: number
  /** Checks made (each check reserves one before comparing). */
  attempts: Generated<number>
  sends: Generated<number>
  consent_version: string
  consent_at: number
  /** The optional marketing opt-in given with the start: 1 yes, 0 no. */
  consent_marketing: Generated<number>
  origin: string | null
  ip: string | null
  created_at: number
  expires_at: number
  resend_after: number
  approved_at: number | null
  /** The fraud guard's enforced decision: allow, challenge (solved) or block (no SMS sent). */
  risk_decision: string | null
  /** JSON array of reason codes, enforced and shadow (`shadow:` prefix). */
  risk_reasons: string | null
  /** JSON of the caller's first-party signals sent with the start (see CallerSignals), or null. */
  signals: string | null
  /** When the store's server first redeemed the token issued for it (kept for the funnel). */
  token_redeemed_at: number | null
}

export type MessageStatusColumn =
  | 'queued'
  | 'sending'
  | 'sent'
  | 'delivered'
  | 'undelivered'
  | 'failed'
  /** Never handed to a carrier: the fraud guard blocked the number. */
  | 'suppressed'

export interface MessageTable {
  id: string
  verification_id: string
  project_id: string
  mode: KeyMode
  to: string
  /** The text, encrypted (it holds the code); set to null once a carrier accepted it. */
  body_encrypted: string | null
  /** The template data (TemplateData JSON, it holds the code), encrypted; nulled with the body. */
  template_encrypted: string | null
  status: MessageStatusColumn
  carrier: string | null
  carrier_message_id: string | null
  error: string | null
  created_at: number
  sent_at: number | null
  delivered_at: number | null
  updated_at: number
  /** The carrier's own error code from its answer or a delivery report. */
  error_code: string | null
  /** What the carrier charged, as a decimal string, and its currency. */
  cost_amount: string | null
  cost_currency: string | null
  /** 'GSM-7' or 'UCS-2', and the number of parts the text takes. */
  encoding: string | null
  segments: number | null
  failed_at: number | null
  /** When the carrier says the current status was reached (its clock, or receive time). */
  status_at: number | null
}

export type OutboxState = 'pending' | 'done' | 'dead'

export interface OutboxTable {
  id: string
  message_id: string
  state: OutboxState
  available_at: number
  attempts: Generated<number>
  claimed_by: string | null
  claimed_until: number | null
  last_error: string | null
  created_at: number
}

export interface SandboxMessageTable {
  id: string
  project_id: string
  to: string
  /** Encrypted like message bodies: sandbox texts hold codes too. */
  body_encrypted: string
  status: MessageStatusColumn
  created_at: number
}

export interface SigningKeyTable {
  kid: string
  alg: 'EdDSA' | 'ES256'
  /** Public JWK, JSON. */
  public_jwk: string
  /** Private key as PKCS#8, encrypted with the key derived from TEXTGATE_SECRET. */
  private_key_encrypted: string
  created_at: number
  /** When it stopped signing (a newer key took over); null while current. */
  retired_at: number | null
  /** When it was withdrawn (compromised): out of the JWKS from then on, its tokens refused. */
  withdrawn_at: number | null
  /**
   * When it starts signing (a rotation publishes it in the JWKS first); null only on a row
   * written before this column, whose key signed from its creation.
   */
  signs_from: number | null
}

export interface RedeemedTokenTable {
  jti: string
  project_id: string
  redeemed_at: number
  /** The token's own exp, in ms: the row can be dropped after it. */
  expires_at: number
}

export interface IdempotencyKeyTable {
  project_id: string
  key: string
  /** SHA-256 of the canonical request, to tell a replay from a different request. */
  request_hash: string
  response_status: number
  response_body: string
  created_at: number
  expires_at: number
}

export interface FraudCounterTable {
  key: string
  /** Start of the counter's fixed window, epoch ms. */
  bucket: number
  count: number
  expires_at: number
}

/** One row per server process using the fraud counters, with when it last said so. */
export interface FraudCounterProcessTable {
  id: string
  seen_at: number
}

/** The one row (`counters`) naming the process that alone writes the fraud counters. */
export interface FraudCounterLeaseTable {
  name: string
  holder: string | null
  expires_at: number
}

export type FraudListName = 'allow' | 'block'
export type FraudListKind = 'phone' | 'prefix' | 'ip' | 'country'

export interface FraudListEntryTable {
  id: string
  /** '*' for every project. */
  project_id: string
  list: FraudListName
  kind: FraudListKind
  value: string
  note: string | null
  created_at: number
  /** When the entry stops counting (epoch ms); null: never. */
  expires_at: number | null
}

export interface FraudEventTable {
  id: string
  project_id: string
  verification_id: string | null
  phone: string
  country: string
  ip: string | null
  /** What the checks decided (allow, challenge, block). */
  decision: string
  /** What happened: sent, decoy, challenged, solved, refused, allowed_by_list. */
  outcome: string
  /** JSON arrays of reason codes. */
  reasons: string
  shadow_reasons: string
  /** JSON object of the figures behind the reasons (counts, ceilings, scores), or null. */
  figures: string | null
  created_at: number
}

/** EWMA of verified shoppers per hour for one destination and slot (hour of week, or 168: any). */
export interface FraudBaselineTable {
  project_id: string
  /** `country:NG` or `prefix:+234803`. */
  subject: string
  slot: number
  ewma: number
  /** Hour (slot 168) or week (slots 0-167) number that `count` belongs to, not yet in `ewma`. */
  period: number
  count: number
}

/** A destination restricted now; the row is deleted when the restriction is lifted. */
export interface FraudRestrictionTable {
  project_id: string
  subject: string
  reason: string
  figures: string
  since: number
  /** Half-open probes let through so far; the next one may go at `next_probe_at`. */
  probes: number
  next_probe_at: number
}

export interface FraudSpentChallengeTable {
  signature: string
  expires_at: number
}

export interface EarlyReportTable {
  id: string
  carrier: string
  carrier_message_id: string
  /** The normalised DeliveryReport, JSON. */
  report: string
  received_at: number
  expires_at: number
}

/** Status a part of a long text can be in: what its own delivery reports said. */
export type MessagePartStatus = 'sent' | 'delivered' | 'failed' | 'undelivered'

/**
 * One part of a text the carrier split (or we split) into several, each with its own carrier
 * id and delivery reports. Only messages of more than one part have rows here.
 */
export interface MessagePartTable {
  carrier: string
  carrier_message_id: string
  message_id: string
  /** 1-based, in the order the carrier answered. */
  part: number
  status: MessagePartStatus
  /** When the carrier says the part reached `status` (epoch ms). */
  status_at: number | null
  error_code: string | null
  /** What this part cost, as the send answer or its latest report stated it. */
  cost_amount: string | null
  cost_currency: string | null
}

export type OperatorRole = 'owner' | 'developer' | 'analyst' | 'support'

export interface OperatorTable {
  id: string
  /** Lower-cased. */
  email: string
  /** scrypt, `scrypt$N$r$p$salt$hash` (base64url); null until the setup link is used. */
  password_hash: string | null
  /** The TOTP secret, encrypted like signing keys; null until the setup link is used. */
  totp_secret_encrypted: string | null
  /** The last TOTP time step accepted: a code is never taken twice. */
  totp_last_step: number | null
  failed_logins: Generated<number>
  locked_until: number | null
  created_at: number
  disabled_at: number | null
}

export interface OperatorRoleTable {
  operator_id: string
  /** A project id, or '*' for every project. */
  project_id: string
  role: OperatorRole
  created_at: number
}

/** A one-time setup (first owner, invitation) link; only its SHA-256 is kept. */
export interface OperatorLinkTable {
  token_hash: string
  operator_id: string
  created_at: number
  expires_at: number
  used_at: number | null
}

export interface OperatorSessionTable {
  /** SHA-256 of the cookie's value: a leaked table opens no session. */
  id_hash: string
  operator_id: string
  /** 'mfa' after the password, waiting for the second factor; 'full' after it. */
  stage: 'mfa' | 'full'
  created_at: number
  last_seen_at: number
  /** The absolute end of the session, whatever its activity. */
  expires_at: number
  ip: string | null
  user_agent: string | null
  /** The pending WebAuthn challenge (passkey registration or login), cleared once used. */
  challenge: string | null
}

/**
 * A browser an operator fully signed in on, named by its device cookie; its own failed sign-ins
 * and lock, apart from the account's (which holds every other client).
 */
export interface OperatorDeviceTable {
  /** SHA-256 (hex) of the random id in the cookie. */
  id: string
  operator_id: string
  created_at: number
  /** The last full sign-in on it: the cookie is trusted for 90 days from then. */
  last_used_at: number
  failed_logins: Generated<number>
  locked_until: number | null
}

export interface OperatorPasskeyTable {
  id: string
  operator_id: string
  /** base64url credential id. */
  credential_id: string
  /** COSE public key, base64url. */
  public_key: string
  counter: number
  /** JSON array of transports the authenticator named, or null. */
  transports: string | null
  name: string
  created_at: number
  last_used_at: number | null
}

export type AuditActorType = 'operator' | 'secret_key' | 'cli' | 'system'

export interface AuditLogTable {
  id: string
  /** The project the action touched, or '*' for actions outside any one project. */
  project_id: string
  /** 1, 2, 3… within the project's chain. */
  seq: number
  at: number
  actor_type: AuditActorType
  actor_id: string | null
  /** The operator's email, the key's hint, "cli". */
  actor_label: string
  action: string
  target: string | null
  ip: string | null
  user_agent: string | null
  /** The HTTP status the action ended with, when it came over HTTP. */
  status: number | null
  /** JSON of what the target was before and after, when the action changed one. */
  before: string | null
  after: string | null
  prev_hash: string
  /** SHA-256 over prev_hash and this row's fields (see audit/chain.ts). */
  hash: string
}

export interface AuditHeadTable {
  project_id: string
  seq: number
  hash: string
}

/** That an erasure by number happened (GDPR Art. 17): never the number. */
export interface ErasureTable {
  id: string
  /** '*' when every project's rows were searched. */
  project_id: string
  /** `cli`, or the id of the secret key that asked. */
  requested_by: string
  /** JSON object: table → rows removed or masked. */
  rows: string
  created_at: number
}

export interface WebhookEndpointTable {
  id: string
  project_id: string
  mode: KeyMode
  url: string
  description: string | null
  /** JSON array of event types, or null for every type. */
  events: string | null
  /** 1 enabled, 0 disabled. */
  enabled: Generated<number>
  /** 'manual', 'failing' (disabled after days of failed deliveries) or 'gone' (it answered 410). */
  disabled_reason: string | null
  /** Since when every attempt failed; null while the endpoint answers. */
  failing_since: number | null
  /** The `whsec_` secret, encrypted like signing keys. */
  secret_encrypted: string
  /**
   * Earlier secrets that sign too after rotations, each until its own time: JSON
   * `[{ secret, expiresAt }]`, newest first, secrets encrypted (see webhooks/secret-overlap.ts).
   */
  previous_secrets: string | null
  /**
   * The endpoint's retry time after it answered 429, 502, 503 or 504: none of its deliveries is
   * claimed before (see webhooks/endpoint-hold.ts); null, or past, when it is not held.
   */
  held_until: number | null
  created_at: number
  updated_at: number
}

/** One event: its id is the `webhook-id` every delivery of it carries. */
export interface WebhookMessageTable {
  id: string
  project_id: string
  mode: KeyMode
  type: string
  /** The JSON body sent, exactly. */
  payload: string
  created_at: number
}

export type WebhookDeliveryState = 'pending' | 'delivered' | 'failed'

/** The webhook outbox: one row per event and endpoint. */
export interface WebhookDeliveryTable {
  id: string
  message_id: string
  endpoint_id: string
  /** Deliveries with the same key (a verification id) go to an endpoint in `seq` order. */
  order_key: string | null
  seq: number
  state: WebhookDeliveryState
  attempts: Generated<number>
  available_at: number
  claimed_by: string | null
  claimed_until: number | null
  created_at: number
  delivered_at: number | null
}

/** The delivery log: one row per attempt. */
export interface WebhookAttemptTable {
  id: string
  delivery_id: string
  attempt: number
  status_code: number | null
  latency_ms: number
  error: string | null
  created_at: number
}

/** A signed callback already applied (its signature), kept while its timestamp is fresh. */
export interface CallbackReplayTable {
  carrier: string
  signature: string
  expires_at: number
}

/** The database or a transaction on it: where a write that may join a caller's transaction goes. */
export type DatabaseWriter = Kysely<Database> | Transaction<Database>

export interface Database {
  projects: ProjectTable
  api_keys: ApiKeyTable
  verifications: VerificationTable
  messages: MessageTable
  outbox: OutboxTable
  sandbox_messages: SandboxMessageTable
  signing_keys: SigningKeyTable
  redeemed_tokens: RedeemedTokenTable
  idempotency_keys: IdempotencyKeyTable
  fraud_counters: FraudCounterTable
  fraud_counter_processes: FraudCounterProcessTable
  fraud_counter_lease: FraudCounterLeaseTable
  fraud_list_entries: FraudListEntryTable
  fraud_events: FraudEventTable
  fraud_spent_challenges: FraudSpentChallengeTable
  fraud_baselines: FraudBaselineTable
  fraud_restrictions: FraudRestrictionTable
  early_reports: EarlyReportTable
  message_parts: MessagePartTable
  operators: OperatorTable
  operator_roles: OperatorRoleTable
  operator_links: OperatorLinkTable
  operator_sessions: OperatorSessionTable
  operator_passkeys: OperatorPasskeyTable
  operator_devices: OperatorDeviceTable
  audit_log: AuditLogTable
  audit_heads: AuditHeadTable
  erasures: ErasureTable
  callback_replays: CallbackReplayTable
  webhook_endpoints: WebhookEndpointTable
  webhook_messages: WebhookMessageTable
  webhook_deliveries: WebhookDeliveryTable
  webhook_attempts: WebhookAttemptTable
}

export type Project = Selectable<ProjectTable>
export type NewProject = Insertable<ProjectTable>
export type ApiKey = Selectable<ApiKeyTable>
export type Verification = Selectable<VerificationTable>
export type NewVerification = Insertable<VerificationTable>
export type VerificationUpdate = Updateable<VerificationTable>
export type Message = Selectable<MessageTable>
export type OutboxRow = Selectable<OutboxTable>
export type SigningKey = Selectable<SigningKeyTable>
export type Operator = Selectable<OperatorTable>
export type AuditRow = Selectable<AuditLogTable>
