import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestStorage, type TestStorage } from '../../../testing/storage'
import { decrypt, encrypt } from '../../secrets'
import { sandboxCarrier } from './index'

const key = randomBytes(32)
const message = {
  id: 'msg_sandbox',
  to: '+447700900123',
  body: 'Your Shop code is 123456',
  projectId: 'prj_sandbox',
  mode: 'test' as const,
}

describe('sandbox carrier', () => {
  let storage: TestStorage
  beforeAll(async () => {
    storage = await createTestStorage('sqlite')
  })
  afterAll(() => storage.dispose())

  const stored = async (id: string) =>
    (
      await storage.db
        .selectFrom('sandbox_messages')
        .select('body_encrypted')
        .where('id', '=', id)
        .executeTakeFirstOrThrow()
    ).body_encrypted

  it("keeps the outbox's sealed copy as it is, with no second encryption", async () => {
    const sealedBody = encrypt(key, message.body)
    const sent = await sandboxCarrier({ db: storage.db, encryptionKey: key }).send({
      ...message,
      sealedBody,
    })
    expect(sent.status).toBe('delivered')
    expect(await stored(sent.carrierMessageId)).toBe(sealedBody)
  })

  it('hands its inbox row back, unwritten, to a caller that writes it with the record of the send', async () => {
    const sent = await sandboxCarrier({ db: storage.db, encryptionKey: key }).send({
      ...message,
      rowsWithRecord: true,
    })
    expect(sent.status).toBe('delivered')
    const kept = () =>
      storage.db
        .selectFrom('sandbox_messages')
        .select('id')
        .where('id', '=', sent.carrierMessageId)
        .execute()
    expect(await kept()).toHaveLength(0)
    await sent.rows?.write(storage.db)
    expect(await kept()).toHaveLength(1)
  })

  it('seals the text itself when it is given none', async () => {
    const sent = await sandboxCarrier({ db: storage.db, encryptionKey: key }).send(message)
    const body = await stored(sent.carrierMessageId)
    expect(body).not.toContain('123456')
    expect(decrypt(key, body)).toBe(message.body)
  })
})
