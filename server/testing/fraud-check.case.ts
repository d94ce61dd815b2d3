/**
 * The contract every fraud check passes, on every dialect: a stable id and phase, its mode read
 * from the settings, a clean first start found clean, well-formed findings (reason code,
 * decision, scope, refusal, figures), no leak between projects, and the guard honouring its
 * mode (`off` ignores it, `shadow` records it, `enforce` acts on it). Each check's test is one
 * call to {@link fraudCheckContract}; a case a check cannot meet is skipped by name, with the
 * reason in the test's title.
 * @module
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createChallengeService } from '../src/fraud/challenge'
import { FRAUD_CHECKS } from '../src/fraud/checks'
import { type ContextInput, fraudContext } from '../src/fraud/context'
import { databaseCounters } from '../src/fraud/counters'
import { createFraudGuard } from '../src/fraud/guard'
import { type CheckMode, type FraudSettingsInput, parseFraudSettings } from '../src/fraud/settings'
import type { CheckDeps, CheckOutcome, FraudCheck, FraudContext } from '../src/fraud/types'
import { ApiError } from '../src/http/errors'
import { createTestStorage, DIALECTS, type TestStorage } from './storage'

export const CONTRACT_CASES = [
  'has a stable id and phase, and reads its mode from the settings',
  'finds nothing in a first start of a mobile number from a fresh caller',
  'judges a caller without an address without failing',
  'finds what it was provoked to find, in well-formed findings',
  'keeps what it saw in one project out of another',
  'off: the guard lets the provoked start through and records nothing of it',
  'shadow: the guard lets the provoked start through and records the findings as shadow reasons',
  'enforce: the guard acts on the findings (a challenge, a decoy or a refusal)',
] as const
export type ContractCase = (typeof CONTRACT_CASES)[number]

/** A start as the guard is given it, without the project's settings. */
export type TestStart = ContextInput & { numberType: string }

export interface ProvokeTools {
  deps: CheckDeps
  /** The context of `start` under the settings of the case's mode. */
  contextOf(start: TestStart): FraudContext
  /** Runs the check once for `start` (counting, as a real start would). */
  run(start: TestStart): Promise<CheckOutcome>
}

export interface FraudCheckContractOptions {
  check: FraudCheck
  /** Settings that put this check in `mode` and make `provoke` enough for it to find something. */
  settings(mode: CheckMode): FraudSettingsInput
  /**
   * Makes the check find something about `start` (earlier starts, a list entry, codes sent and
   * never entered …) and returns the start that is then judged (the same or a variant of it).
   */
  provoke(start: TestStart, tools: ProvokeTools): Promise<TestStart>
  skip?: { reason: string; tests: ContractCase[] }[]
  /** The check's own cases, inside the same describe (per dialect). */
  additionalTests?: (t: { storage: () => TestStorage }) => void
}

const AT = Date.parse('2026-11-25T12:00:00Z')
const PEPPER = Buffer.alloc(32, 7)
const REASON = /^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$/
const REFUSALS = ['blocked', 'rate_limited', 'unsupported_number_type']

export function fraudCheckContract(options: FraudCheckContractOptions): void {
  const { check } = options
  const skipped = new Map<string, string>()
  for (const { reason, tests } of options.skip ?? []) for (const t of tests) skipped.set(t, reason)
  const test = (name: ContractCase, fn: () => Promise<void>) => {
    const reason = skipped.get(name)
    if (reason) it.skip(`${name} (skipped: ${reason})`, fn)
    else it(name, fn)
  }

  describe.each(DIALECTS)(`fraud check ${check.id}: the contract on %s`, (dialect) => {
    let storage: TestStorage
    let deps: CheckDeps
    beforeEach(async () => {
      storage = await createTestStorage(dialect)
      deps = { db: storage.db, counters: databaseCounters(storage.db) }
    })
    afterEach(async () => {
      await storage.dispose()
    })

    const start = (overrides: Partial<TestStart> = {}): TestStart => ({
      projectId: 'prj_contract',
      mode: 'test',
      phone: '+447400123456',
      country: 'GB',
      numberType: 'mobile',
      ip: '203.0.113.7',
      ...overrides,
    })
    const toolsFor = (settings: FraudSettingsInput): ProvokeTools => {
      const parsed = parseFraudSettings(settings)
      const contextOf = (s: TestStart) => fraudContext(s, { settings: parsed, at: AT })
      return { deps, contextOf, run: (s) => check.run(contextOf(s), deps) }
    }
    const guardFor = () =>
      createFraudGuard({
        db: storage.db,
        counters: deps.counters,
        challenges: createChallengeService(storage.db, PEPPER),
        checks: [check],
        now: () => AT,
      })
    /** Provokes under `mode` and asks the guard, holding only this check, about the start. */
    async function assessProvoked(mode: CheckMode) {
      const settings = options.settings(mode)
      const tools = toolsFor(settings)
      const judged = await options.provoke(start(), tools)
      const found = (await tools.run(judged)).findings
      try {
        const assessment = await guardFor().assess({
          ...judged,
          fraudSettings: JSON.stringify(settings),
        })
        return { found, assessment, error: undefined }
      } catch (error) {
        return { found, assessment: undefined, error }
      }
    }

    test('has a stable id and phase, and reads its mode from the settings', async () => {
      expect(check.id).toMatch(/^[a-z][a-z0-9_]*$/)
      expect(FRAUD_CHECKS.filter((c) => c.id === check.id)).toHaveLength(1)
      expect(['gate', 'screen', 'reserve']).toContain(check.phase)
      for (const mode of ['enforce', 'shadow', 'off'] as const) {
        expect(check.mode(parseFraudSettings(options.settings(mode)))).toBe(mode)
      }
    })

    test('finds nothing in a first start of a mobile number from a fresh caller', async () => {
      const outcome = await toolsFor({}).run(start())
      expect(outcome.findings).toEqual([])
    })

    test('judges a caller without an address without failing', async () => {
      const outcome = await toolsFor({}).run(start({ ip: null }))
      expect(outcome.findings).toEqual([])
    })

    test('finds what it was provoked to find, in well-formed findings', async () => {
      const tools = toolsFor(options.settings('enforce'))
      const judged = await options.provoke(start(), tools)
      const { findings, allow } = await tools.run(judged)
      expect(findings.length).toBeGreaterThan(0)
      expect(allow).toBeUndefined()
      for (const finding of findings) {
        expect(finding.reason).toMatch(REASON)
        expect(['challenge', 'block']).toContain(finding.decision)
        expect(['number', 'request']).toContain(finding.scope)
        if (finding.refusal) {
          expect(finding.decision).toBe('block')
          expect(REFUSALS).toContain(finding.refusal.code)
        }
        for (const value of Object.values(finding.figures ?? {})) {
          expect(Number.isFinite(value)).toBe(true)
        }
      }
    })

    test('keeps what it saw in one project out of another', async () => {
      const tools = toolsFor(options.settings('enforce'))
      const judged = await options.provoke(start(), tools)
      expect((await tools.run(judged)).findings.length).toBeGreaterThan(0)
      const elsewhere = await toolsFor({}).run({ ...judged, projectId: 'prj_other' })
      expect(elsewhere.findings).toEqual([])
    })

    test('off: the guard lets the provoked start through and records nothing of it', async () => {
      const { assessment, error } = await assessProvoked('off')
      expect(error).toBeUndefined()
      expect(assessment?.decoy).toBe(false)
      expect(assessment?.decision).toBe('allow')
      expect(assessment?.shadowReasons).toEqual([])
    })

    test('shadow: the guard lets the provoked start through and records the findings as shadow reasons', async () => {
      const { found, assessment, error } = await assessProvoked('shadow')
      expect(error).toBeUndefined()
      expect(found.length).toBeGreaterThan(0)
      expect(assessment?.decoy).toBe(false)
      expect(assessment?.decision).toBe('allow')
      for (const f of found) {
        expect(assessment?.shadowReasons).toContain(`${f.decision}:${f.reason}`)
      }
    })

    test('enforce: the guard acts on the findings (a challenge, a decoy or a refusal)', async () => {
      const { found, assessment, error } = await assessProvoked('enforce')
      expect(found.length).toBeGreaterThan(0)
      if (error) {
        expect(error).toBeInstanceOf(ApiError)
        const code = (error as ApiError).code
        expect(['challenge_required', ...REFUSALS]).toContain(code)
        if (code !== 'challenge_required') {
          expect(found.map((f) => f.refusal?.code ?? 'blocked')).toContain(code)
        }
      } else {
        // A block about the number: answered like a normal start, but nothing is sent.
        expect(assessment?.decoy).toBe(true)
        expect(found.some((f) => f.decision === 'block' && f.scope === 'number')).toBe(true)
        for (const f of found) expect(assessment?.reasons).toContain(`${f.decision}:${f.reason}`)
      }
    })

    options.additionalTests?.({ storage: () => storage })
  })
}
