/**
 * The proof of work is ALTCHA v1's, made and checked with node:crypto: puzzles must be solvable
 * by ALTCHA's own solver and checkable by ALTCHA's own verifier, and anything else is refused.
 */

import { createHmac } from 'node:crypto'
import { solveChallenge, verifySolution } from 'altcha-lib/v1'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestStorage, type TestStorage } from '../../testing/storage'
import { createChallengeService } from './challenge'

const PEPPER = Buffer.alloc(32, 9)
const AT = Date.parse('2026-12-01T12:00:00Z')
const PHONE = '+447400123123'

const encode = (payload: object) => Buffer.from(JSON.stringify(payload)).toString('base64')

describe('proof-of-work challenges', () => {
  let storage: TestStorage
  beforeAll(async () => {
    storage = await createTestStorage('sqlite')
  })
  afterAll(() => storage.dispose())

  async function solved(difficulty = 2000) {
    const challenges = createChallengeService(storage.db, PEPPER)
    const puzzle = await challenges.issue('prj_pow', difficulty, AT, PHONE)
    const solution = await solveChallenge(
      puzzle.challenge,
      puzzle.salt,
      puzzle.algorithm,
      puzzle.maxnumber,
    ).promise
    if (!solution) throw new Error('ALTCHA found no solution')
    const payload = {
      algorithm: puzzle.algorithm,
      challenge: puzzle.challenge,
      number: solution.number,
      salt: puzzle.salt,
      signature: puzzle.signature,
    }
    return { challenges, puzzle, payload }
  }

  it('issues puzzles ALTCHA solves and verifies, and redeems a solution once', async () => {
    const { challenges, puzzle, payload } = await solved()
    expect(puzzle).toMatchObject({ algorithm: 'SHA-256', maxnumber: 2000 })
    expect(puzzle.salt).toMatch(/^[0-9a-f]{24}\?p=prj_pow&d=2000&q=[\w-]{16}&expires=\d+&$/)
    // ALTCHA's own verifier agrees (with the key the service derives from its pepper).
    const hmacKey = createHmac('sha256', PEPPER).update('textgate/fraud/altcha').digest('hex')
    await expect(verifySolution(encode(payload), hmacKey, false)).resolves.toBe(true)

    await expect(challenges.redeem(encode(payload), 'prj_pow', 2000, AT, PHONE)).resolves.toBe(true)
    await expect(challenges.redeem(encode(payload), 'prj_pow', 2000, AT, PHONE)).resolves.toBe(
      false,
    )
  })

  it('refuses a wrong number, a forged puzzle, another project, a harder price and a late answer', async () => {
    const { challenges, payload } = await solved()
    const refused = async (changed: object, project = 'prj_pow', min = 2000, at = AT) =>
      expect(challenges.redeem(encode({ ...payload, ...changed }), project, min, at)).resolves.toBe(
        false,
      )
    await refused({ number: payload.number + 1 })
    await refused({ number: String(payload.number) })
    await refused({ number: -1 })
    await refused({ algorithm: 'SHA-1' })
    await refused({ signature: payload.signature.replace(/^./, (c) => (c === '0' ? '1' : '0')) })
    // A puzzle of our format signed with another key.
    const forged = createHmac('sha256', 'not our key').update(payload.challenge).digest('hex')
    await refused({ signature: forged })
    // The salt carries the project, the price and the expiry: changing it breaks the hash.
    await refused({ salt: payload.salt.replace('d=2000', 'd=9000') })
    await refused({}, 'prj_other')
    // Not quoted for this number (no phone given), and cheaper than asked now.
    await refused({}, 'prj_pow', 4000)
    await refused({}, 'prj_pow', 2000, AT + 5 * 60_000)
    await expect(challenges.redeem('not base64 json', 'prj_pow', 2000, AT)).resolves.toBe(false)
    await expect(challenges.redeem(encode([]), 'prj_pow', 2000, AT)).resolves.toBe(false)
    // Still unspent: the refusals did not burn it.
    await expect(challenges.redeem(encode(payload), 'prj_pow', 2000, AT)).resolves.toBe(true)
  })
})
