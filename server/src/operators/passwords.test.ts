import { afterEach, describe, expect, it } from 'vitest'
import { hashPassword, PASSWORD_COST, setPasswordCostForTests, verifyPassword } from './passwords'

describe('operator password hashes', () => {
  afterEach(() => setPasswordCostForTests(PASSWORD_COST))

  it('hash at OWASP scrypt parameters by default, and verify', async () => {
    expect(PASSWORD_COST).toEqual({ N: 32768, r: 8, p: 3 })
    // Suites share modules (isolate: false), and the harness lowers the cost: back to the default.
    setPasswordCostForTests(PASSWORD_COST)
    const stored = await hashPassword('correct horse battery staple 42')
    expect(stored).toMatch(/^scrypt\$32768\$8\$3\$[\w-]{22}\$[\w-]{43}$/)
    expect(await verifyPassword('correct horse battery staple 42', stored)).toBe(true)
    expect(await verifyPassword('correct horse battery staple 43', stored)).toBe(false)
  })

  it('verify a hash by the parameters it carries, whatever the current cost', async () => {
    setPasswordCostForTests({ N: 1024, r: 8, p: 1 })
    const cheap = await hashPassword('correct horse battery staple 42')
    expect(cheap).toMatch(/^scrypt\$1024\$8\$1\$/)
    setPasswordCostForTests(PASSWORD_COST)
    expect(await verifyPassword('correct horse battery staple 42', cheap)).toBe(true)
    expect(await verifyPassword('Correct horse battery staple 42', cheap)).toBe(false)
  })

  it('refuse a lower cost outside vitest', () => {
    const vitest = process.env.VITEST
    delete process.env.VITEST
    try {
      expect(() => setPasswordCostForTests({ N: 1024, r: 8, p: 1 })).toThrow(/vitest/)
    } finally {
      process.env.VITEST = vitest
    }
  })
})
