/**
 * Writing a text to send: the message and its outbox row, in the caller's transaction.
 * @module
 */
import { segmentInfo } from '../carriers/segments'
import type { TemplateData } from '../carriers/types'
import { recordQueued } from '../delivery/messages'
import { newId } from '../ids'
import { encrypt } from '../secrets'
import type { KeyMode } from '../storage'
import { insertRow, type RowWriter } from '../storage/row-insert'

export interface EnqueueInput {
  verificationId: string
  projectId: string
  mode: KeyMode
  to: string
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
}

/** Writes the message and its outbox row; call inside the verification's transaction or batch. */
export async function enqueueMessage(
  trx: RowWriter,
  encryptionKey: Buffer,
  input: EnqueueInput,
): Promise<string> {
  const messageId = newId('msg')
  const { encoding, segments } = segmentInfo(input.body)
  const bodyEncrypted = encrypt(encryptionKey, input.body)
  await recordQueued(trx, {
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
  await insertRow(trx, 'outbox', {
    id: newId('obx'),
    message_id: messageId,
    state: input.suppressed ? 'done' : 'pending',
    available_at: input.now,
    claimed_by: null,
    claimed_until: null,
    last_error: null,
    created_at: input.now,
  })
  return messageId
}
