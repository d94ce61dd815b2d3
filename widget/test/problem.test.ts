/// <reference types="mocha" />
// The problem controller (src/controllers/problem.ts) on its own: which refusals offer Try again,
// which end the verification, and the rate limit's countdown.
import { expect } from '@open-wc/testing'
import { TextgateApiError } from '../src/api/client'
import { CountdownController } from '../src/controllers/countdown'
import { ProblemController } from '../src/controllers/problem'
import en from '../src/translations/en'

function setup() {
  let updates = 0
  const host = {
    addController: () => {},
    removeController: () => {},
    requestUpdate: () => updates++,
    updateComplete: Promise.resolve(true),
  }
  const clock = new CountdownController(host)
  const problem = new ProblemController(host, clock, () => en)
  return { problem, clock, updates: () => updates }
}

const refused = (code: string, retryAfter?: number) =>
  new TextgateApiError(code, code, 400, {}, retryAfter)

describe('problem controller', () => {
  it('says "something went wrong" for a code it has no message for, whatever its name', () => {
    const { problem } = setup()
    for (const code of ['constructor', 'toString', '__proto__', 'hasOwnProperty', 'no_such_code']) {
      const detail = problem.fail(refused(code), 'phone')
      expect(detail.message, code).to.equal(en.errors.unknown)
      expect(problem.message, code).to.equal(en.errors.unknown)
    }
  })

  it('offers Try again for a network failure only, and ends the verification only when allowed', () => {
    const { problem, updates } = setup()
    const retry = async () => {}
    const detail = problem.fail(refused('network_error'), 'phone', retry)
    expect(detail).to.deep.equal({ code: 'network_error', message: en.errors.network_error })
    expect([problem.at, problem.retry, problem.terminal]).to.deep.equal(['phone', retry, false])
    expect(updates()).to.be.greaterThan(0)
    problem.fail(refused('incorrect_code'), 'code', retry)
    expect(problem.retry).to.equal(undefined)
    problem.fail(refused('verification_expired'), 'code', retry)
    expect(problem.terminal).to.equal(false)
    problem.fail(refused('verification_expired'), 'code', retry, true)
    expect(problem.terminal).to.equal(true)
    problem.clearAt('phone')
    expect(problem.message).to.equal(en.errors.verification_expired)
    problem.clearAt('code')
    expect([problem.message, problem.at, problem.terminal]).to.deep.equal(['', '', false])
  })

  it('gives no wait with a refusal that ends the verification (its Retry-After is no wait)', () => {
    const { problem } = setup()
    const detail = problem.fail(refused('max_attempts_reached', 600), 'code', undefined, true)
    expect(detail).to.deep.equal({
      code: 'max_attempts_reached',
      message: en.errors.max_attempts_reached,
    })
    expect([problem.terminal, problem.waitUntil]).to.deep.equal([true, 0])
  })

  it('words a rate limit as a wait from now, counts it down, and lifts it at the end', () => {
    const { problem, clock } = setup()
    const detail = problem.fail(refused('rate_limited', 90), 'phone')
    expect(detail).to.deep.equal({
      code: 'rate_limited',
      message: 'Too many attempts. Try again in 2 minutes.',
      retryAfter: 90,
    })
    clock.now = problem.waitUntil - 30_000
    problem.hostUpdate()
    expect(problem.message).to.equal('Too many attempts. Try again in 30 seconds.')
    clock.now = problem.waitUntil
    problem.hostUpdate()
    expect([problem.message, problem.waitUntil]).to.deep.equal(['', 0])
    clock.stop()
    expect(problem.fail(refused('rate_limited'), 'phone').message).to.equal(en.errors.rate_limited)
  })
})
