import { createHmac, randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { sha256Hmac } from './hmac'

describe('HMAC-SHA256 with prepared pads', () => {
  it("gives createHmac's digest for keys and messages of every size and script", () => {
    const messages = [
      '',
      'start:prj_3od46culbdrtleuloegmcc7ia:phone:+447400123456',
      'ver_1\u0000123456',
      'número:+34 600 000 000 · 電話 · 🙂',
      'x'.repeat(341),
      'y'.repeat(342),
      '€'.repeat(400),
      'z'.repeat(5000),
    ]
    for (const size of [0, 16, 32, 63, 64, 65, 200]) {
      const key = randomBytes(size)
      const hmac = sha256Hmac(key)
      for (const message of messages) {
        for (const encoding of ['hex', 'base64url'] as const) {
          expect(hmac(message, encoding), `key ${size} bytes, ${message.slice(0, 20)}`).toBe(
            createHmac('sha256', key).update(message).digest(encoding),
          )
        }
      }
    }
  })

  it('leaves nothing of one message in the next one', () => {
    const key = randomBytes(32)
    const hmac = sha256Hmac(key)
    hmac('a long message that fills more of the buffer than the next one', 'hex')
    expect(hmac('short', 'hex')).toBe(createHmac('sha256', key).update('short').digest('hex'))
  })
})
