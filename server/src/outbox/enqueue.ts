/**
 * Writing a text to send: the message and its outbox row, in the caller's transaction. A row
 * may be written already claimed by this process's dispatcher, which is then handed the text in
 * memory after the commit (see ./handoff) instead of claiming it back from the database.
 * @module
 */
import type { Selectable } from 'kysely'
import { segmentInfo } from '../carriers/segments'
import type { TemplateData } from '../carriers/types'
import { recordQueued } from '../delivery/messages'
import { newId } from '../ids'
import { encrypt } from '../secrets'
import type { Database, KeyMode, OutboxRow } from '../storage'
import { insertRow, type RowWriter } from '../storage/row-insert'

export interface EnqueueInput {
  verificationId: string
  projectId: string
  mode: KeyMode
  to: string
  /** The country the verification was counted as: the router's, for a text handed over. */
  country?: string
  body: string
  /** The values and registrations template-only carriers need (stored encrypted). */
  template?: TemplateData
  now: number
  /**
   * A fraud-guard decoy: the message is written (status `suppressed`, no body kept) with the
   * same statements and work as a real one, so the answer takes the same time, but its outbox
   * row is born done and no carrier ever sees it.
   */
  suppressed?: boolean
  /**
   * Write the outbox row claimed (by `by`, until `until`): the dispatcher that gave this claim
   * will be handed the text after the commit. A crash before it sends leaves the row to be
   * claimed again once the claim expires, as with any claim.
   */
  claim?: OutboxClaim | undefined
}

/** A claim on an outbox row, written with it. */
export interface OutboxClaim {
  by: string
  until: number
}

/** The rows a text was written as, exactly as a claim would read them back. */
export interface EnqueuedText {
  message: Selectable<Database['messages']>
  outbox: OutboxRow
  /** What the message's encrypted columns hold, for a hand-over to send without decrypting. */
  plain: PlainText
  /** The verification's country, as a claim reads it with the message. */
  country?: string | undefined
}

/** A text's body and template as they were before encryption. */
export interface PlainText {
  body: string
  template?: TemplateData
}

/** Writes the message and its outbox row; call inside the verification's transaction or batch. */
export async function enqueueMessage(
  trx: RowWriter,
  encryptionKey: Buffer,
  input: EnqueueInput,
): Promise<EnqueuedText> {
  const messageId = newId('msg')
  const { encoding, segments } = segmentInfo(input.body)
  const bodyEncrypted = encrypt(encryptionKey, input.body)
  const message = await recordQueued(trx, {
    id: messageId,
    verificationId: input.verificationId,
    projectId: input.projectId,
    mode: input.mode,
    to: input.to,
    bodyEncrypted: input.suppressed ? null : bodyEncrypted,
    templateEncrypted:
      input.suppressed || !input.template
        ? null
        : encrypt(encryptionKey, JSON.stringify(input.template)),
    encoding,
    segments,
    suppressed: Boolean(input.suppressed),
    now: input.now,
  })
  const claim = input.suppressed ? undefined : input.claim
  const outbox: OutboxRow = {
    id: newId('obx'),
    message_id: messageId,
    state: input.suppressed ? 'done' : 'pending',
    available_at: input.now,
    claimed_by: claim?.by ?? null,
    claimed_until: claim?.until ?? null,
    last_error: null,
    created_at: input.now,
    attempts: 0,
  }
  await insertRow(trx, 'outbox', outbox)
  return {
    message,
    outbox,
    plain: input.template ? { body: input.body, template: input.template } : { body: input.body },
    country: input.country,
  }
}
