/**
 * The fraud guard's settings per project: which checks run, whether each enforces or only
 * records (shadow), and their limits. Stored as JSON on the project; every field has a default,
 * so `{}` is a complete, safe configuration.
 * @module
 */
import { countryCode, notACountry } from '@textgate/shared'
import * as v from 'valibot'

export type CheckMode = 'enforce' | 'shadow' | 'off'
const Mode = v.picklist(['enforce', 'shadow', 'off'], 'mode must be enforce, shadow or off')

const Duration = v.pipe(
  v.string('a window is a duration such as "10m", "1h" or "24h"'),
  v.regex(/^\d+[smhd]$/, 'a window is a duration such as "10m", "1h" or "24h"'),
)
const Count = v.pipe(v.number(), v.integer('must be a whole number'), v.minValue(1))
const Share = v.pipe(v.number(), v.minValue(0), v.maxValue(1))
const Money = v.pipe(v.number(), v.minValue(0))
/** The shape only, so settings stored before countries were checked still load: see parseGivenFraudSettings. */
const Country = v.pipe(v.string(), v.regex(/^[A-Z]{2}$/, 'a country is an ISO 3166 alpha-2 code'))
const RiskCounts = v.strictObject({ low: Count, medium: Count, high: Count })
/** Trailing digits a destination prefix drops: 3 (a block of 1 000 numbers) to 8. */
const PrefixDigits = v.pipe(
  v.number('digits is a prefix length or a list of them'),
  v.integer('must be a whole number'),
  v.minValue(3, 'digits must be 3 to 8'),
  v.maxValue(8, 'digits must be 3 to 8'),
)

export const VELOCITY_SCOPES = ['phone', 'ip', 'network', 'prefix', 'country', 'project'] as const
export type VelocityScope = (typeof VELOCITY_SCOPES)[number]

const VelocityRule = v.pipe(
  v.strictObject({
    scope: v.picklist(VELOCITY_SCOPES, `scope must be one of ${VELOCITY_SCOPES.join(', ')}`),
    window: Duration,
    /** For `prefix`: how many trailing digits are dropped (the number "without its last digits"). */
    digits: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(8))),
    challengeAt: v.optional(Count),
    blockAt: v.optional(Count),
  }),
  v.check(
    (rule) => rule.challengeAt !== undefined || rule.blockAt !== undefined,
    'a velocity rule needs challengeAt, blockAt or both',
  ),
  v.check(
    (rule) => rule.scope !== 'prefix' || rule.digits !== undefined,
    'a prefix rule needs digits (how many trailing digits to drop)',
  ),
)
export type VelocityRule = v.InferOutput<typeof VelocityRule>

export const NUMBER_TYPES = [
  'mobile',
  'fixed_line_or_mobile',
  'fixed_line',
  'voip',
  'toll_free',
  'premium_rate',
  'shared_cost',
  'personal_number',
  'pager',
  'uan',
  'voicemail',
  'unknown',
] as const

const DEFAULT_VELOCITY: VelocityRule[] = [
  { scope: 'phone', window: '1h', challengeAt: 3, blockAt: 8 },
  { scope: 'phone', window: '24h', blockAt: 15 },
  { scope: 'ip', window: '10m', challengeAt: 5, blockAt: 30 },
  { scope: 'ip', window: '24h', challengeAt: 20, blockAt: 200 },
  { scope: 'network', window: '1h', challengeAt: 20, blockAt: 300 },
  { scope: 'prefix', digits: 3, window: '1h', challengeAt: 2, blockAt: 4 },
  { scope: 'prefix', digits: 5, window: '1h', challengeAt: 6, blockAt: 20 },
  { scope: 'country', window: '1h', challengeAt: 1000 },
  { scope: 'project', window: '1h', challengeAt: 5000 },
]

export const FraudSettings = v.strictObject({
  lists: v.optional(v.strictObject({ mode: v.optional(Mode, 'enforce') }), {}),
  numberType: v.optional(
    v.strictObject({
      mode: v.optional(Mode, 'enforce'),
      allow: v.optional(v.array(v.picklist(NUMBER_TYPES, 'unknown number type')), [
        'mobile',
        'fixed_line_or_mobile',
      ]),
    }),
    {},
  ),
  velocity: v.optional(
    v.strictObject({
      mode: v.optional(Mode, 'enforce'),
      rules: v.optional(v.array(VelocityRule), DEFAULT_VELOCITY),
    }),
    {},
  ),
  conversion: v.optional(
    v.strictObject({
      mode: v.optional(Mode, 'enforce'),
      window: v.optional(Duration, '1h'),
      /** Codes sent in the window before the rate is judged at all. */
      minSent: v.optional(Count, 30),
      challengeBelow: v.optional(Share, 0.4),
      blockBelow: v.optional(Share, 0.1),
      /** Trailing digits dropped for the per-prefix breaker. */
      prefixDigits: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(8)), 4),
      minSentPerPrefix: v.optional(Count, 8),
    }),
    {},
  ),
  spend: v.optional(
    v.strictObject({
      mode: v.optional(Mode, 'enforce'),
      /** Per UTC day, in the currency of the costs below. */
      dailyProjectCap: v.optional(Money, 50),
      dailyCountryCap: v.optional(Money, 20),
      defaultCostPerSms: v.optional(Money, 0.05),
      costs: v.optional(v.record(Country, Money), {}),
    }),
    {},
  ),
  /**
   * Destination risk: the built-in prior (known pumping destinations, their cost), the project's
   * own baseline of verified shoppers per country, and the ceilings and breaker built on them.
   */
  destinations: v.optional(
    v.strictObject({
      mode: v.optional(Mode, 'enforce'),
      /** Per-country overrides of the built-in prior (fraud/destinations/prior.ts). */
      prior: v.optional(
        v.record(
          Country,
          v.strictObject({
            risk: v.optional(
              v.picklist(['low', 'medium', 'high'], 'risk must be low, medium or high'),
            ),
            cost: v.optional(Money),
          }),
        ),
        {},
      ),
      /** Texts per hour a country gets on top of its baseline, by prior risk. */
      budgetPerHour: v.optional(RiskCounts, { low: 50, medium: 10, high: 3 }),
      /** Texts nobody entered in 24 h a country may have on top of its baseline, by prior risk. */
      unconvertedPerDay: v.optional(RiskCounts, { low: 100, medium: 20, high: 5 }),
      /** Verified shoppers a day (EWMA) that open a medium- or high-risk country. */
      openAtVerifiedPerDay: v.optional(
        v.strictObject({
          low: v.pipe(v.number(), v.minValue(0)),
          medium: v.pipe(v.number(), v.minValue(0)),
          high: v.pipe(v.number(), v.minValue(0)),
        }),
        { low: 0, medium: 1, high: 3 },
      ),
      /** Rate ceiling per hour: budget + this times the baseline's verified shoppers per hour. */
      ceilingMultiplier: v.optional(v.pipe(v.number(), v.minValue(1)), 4),
      /** Starts per hour (sent or not) above this times the rate ceiling is a surge. */
      surgeMultiplier: v.optional(v.pipe(v.number(), v.minValue(1)), 3),
      /** Spend ceiling per day: cost of this times the expected daily texts plus the budget. */
      spendMultiplier: v.optional(v.pipe(v.number(), v.minValue(1)), 3),
      /** Half-open: the first probe after a restriction starts; each further one waits twice as long. */
      firstProbeAfter: v.optional(Duration, '1h'),
      /** A restriction is held at least this long before it may be lifted. */
      minRestriction: v.optional(Duration, '30m'),
      /**
       * Ceilings per number prefix inside a country, from the prefix's own history: a block of
       * numbers with little history gets a small budget, so pumping concentrated in a range or
       * two is held even where the country is open. Judged at several prefix lengths at once, so
       * a range ten or a hundred times wider is one block of a wider length rather than many
       * small budgets. The same multipliers, probes and events as the country's ceilings.
       */
      prefix: v.optional(
        v.strictObject({
          /** `enforce` follows `destinations.mode`; `shadow` only records; `off` skips. */
          mode: v.optional(Mode, 'enforce'),
          /**
           * The prefix lengths judged: a prefix is the number without its last `digits` digits,
           * so 5 is a block of 100 000 numbers, 6 of 1 000 000, 7 of 10 000 000. One length or a
           * list of up to four; each is judged on its own (see the README for the choice).
           */
          digits: v.optional(
            v.union(
              [
                v.pipe(
                  PrefixDigits,
                  v.transform((digits) => [digits]),
                ),
                v.pipe(
                  v.array(PrefixDigits),
                  v.minLength(1, 'digits needs at least one prefix length'),
                  v.maxLength(4, 'digits takes at most four prefix lengths'),
                  v.check(
                    (list) => new Set(list).size === list.length,
                    'digits lists each prefix length once',
                  ),
                  v.transform((list) => [...list].sort((a, b) => a - b)),
                ),
              ],
              'digits is a prefix length (3 to 8) or a list of up to four',
            ),
            [5, 6, 7],
          ),
          /**
           * Texts per hour the narrowest prefix gets on top of its history, by the country's
           * prior risk (a wider one: see `budgetGrowth`).
           */
          budgetPerHour: v.optional(RiskCounts, { low: 5, medium: 3, high: 2 }),
          /** Texts nobody entered in 24 h the narrowest prefix may have on top of its history. */
          unconvertedPerDay: v.optional(RiskCounts, { low: 20, medium: 10, high: 5 }),
          /**
           * A prefix one digit wider gets this many times the budgets of the narrower one
           * (rounded up): 5, 8, 12 texts an hour at 5, 6, 7 digits. More than 1, so that one
           * range held at its own budget does not also restrict the wider blocks around it;
           * a range spread over several narrower blocks meets the wider budget instead of
           * theirs added up.
           */
          budgetGrowth: v.optional(
            v.pipe(
              v.number(),
              v.minValue(1, 'budgetGrowth must be 1 to 10'),
              v.maxValue(10, 'budgetGrowth must be 1 to 10'),
            ),
            1.5,
          ),
        }),
        {},
      ),
    }),
    {},
  ),
  /** The caller's first-party signals from the widget: device velocity, automation, interaction. */
  callers: v.optional(
    v.strictObject({
      mode: v.optional(Mode, 'enforce'),
      /** Starts per device id per hour before the device counts as a bot's. */
      deviceStartsPerHour: v.optional(Count, 4),
      /** Less time than this from the widget shown to Send is not a person typing a number. */
      minShownMs: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0)), 800),
    }),
    {},
  ),
  challenge: v.optional(
    v.strictObject({
      /** Work (SHA-256 tries, worst case) at the first level of risk; doubles per extra reason. */
      baseDifficulty: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1000)), 50_000),
      maxDifficulty: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1000)), 4_000_000),
      /**
       * Price the proof of work at the destination's cost and risk and the caller's risk (see the
       * README's "Challenges priced at what a text is worth"); false keeps the flat difficulty.
       */
      priced: v.optional(v.boolean(), true),
      /** A store's own Turnstile or hCaptcha, accepted instead of the proof of work. */
      captcha: v.optional(
        v.strictObject({
          provider: v.picklist(['turnstile', 'hcaptcha']),
          secret: v.pipe(v.string(), v.minLength(1)),
          verifyUrl: v.optional(v.pipe(v.string(), v.url())),
        }),
      ),
    }),
    {},
  ),
  /** Code guesses per number across all its verifications in 24 h. */
  maxWrongCodesPerNumber: v.optional(Count, 15),
})
export type FraudSettings = v.InferOutput<typeof FraudSettings>
export type FraudSettingsInput = v.InferInput<typeof FraudSettings>

export class FraudSettingsError extends Error {
  constructor(readonly issues: string[]) {
    super(`invalid fraud settings:\n  ${issues.join('\n  ')}`)
    this.name = 'FraudSettingsError'
  }
}

/** Parses settings JSON (or an object); throws FraudSettingsError with one line per issue. */
export function parseFraudSettings(input: unknown): FraudSettings {
  const value = typeof input === 'string' ? JSON.parse(input) : (input ?? {})
  const result = v.safeParse(FraudSettings, value)
  if (!result.success) throw new FraudSettingsError(result.issues.flatMap((issue) => lines(issue)))
  return result.output
}

/**
 * Parses settings an operator gives (the CLI, the console, a new project) as stored settings are
 * read, and checks that every country they name is one (countryCode: `UK` for GB, or `XX`, would
 * never match a number). Stored settings are read without that check, so settings saved before
 * it still load. Throws FraudSettingsError with one line per issue.
 */
export function parseGivenFraudSettings(input: unknown): FraudSettings {
  const settings = parseFraudSettings(input)
  const byCountry = {
    'spend.costs': settings.spend.costs,
    'destinations.prior': settings.destinations.prior,
  }
  const issues = Object.entries(byCountry).flatMap(([path, record]) =>
    Object.keys(record)
      .filter((code) => countryCode(code) === undefined)
      .map((code) => `${path}.${code}: ${notACountry(code)}`),
  )
  if (issues.length > 0) throw new FraudSettingsError(issues)
  return settings
}

/**
 * One line per issue. A value of the right type that fails a union's check (`digits: 2`) is
 * told by that check's own message, not the union's "expected number or array".
 */
function lines(issue: v.BaseIssue<unknown>, parent: string[] = []): string[] {
  const path = [...parent, ...(issue.path?.map((p) => String(p.key)) ?? [])]
  const checks = issue.type === 'union' ? issue.issues?.filter((i) => i.kind === 'validation') : []
  if (checks && checks.length > 0) return checks.flatMap((sub) => lines(sub, path))
  return [`${path.length > 0 ? path.join('.') : '(root)'}: ${issue.message}`]
}

export const DEFAULT_FRAUD_SETTINGS: FraudSettings = parseFraudSettings({})

const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const

export function durationMs(duration: string): number {
  const unit = duration.slice(-1) as keyof typeof UNIT_MS
  return Number(duration.slice(0, -1)) * UNIT_MS[unit]
}
