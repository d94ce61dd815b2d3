/**
 * The sandbox's plain-language box: a small, fixed grammar read by a deterministic parser (no
 * outside service, no model). Each request it understands maps to one of the console's own
 * actions, so the answer holds the same data as the pages.
 * @module
 */

export type AskIntent =
  | { kind: 'random_number'; country: string }
  | { kind: 'send_code'; phone: string }
  | { kind: 'last_messages'; phone: string; count: number }
  | { kind: 'why_blocked'; phone: string }
  | { kind: 'unknown' }

/** The requests the box understands, as shown to the operator. */
export const ASK_EXAMPLES = [
  'give me a random UK number',
  'send a test code to +44 7400 123456',
  'show the last 5 messages to +44 7400 123456',
  'why was +234 803 000 0000 blocked?',
]

const ALIASES: Record<string, string> = {
  uk: 'GB',
  'u.k.': 'GB',
  britain: 'GB',
  'great britain': 'GB',
  england: 'GB',
  us: 'US',
  usa: 'US',
  'u.s.': 'US',
  'u.s.a.': 'US',
  america: 'US',
  'united states': 'US',
  uae: 'AE',
  holland: 'NL',
}

let regionNames: Map<string, string> | undefined

/** English country names (and ISO codes) → ISO 3166 alpha-2, from the runtime's own ICU data. */
function countryNames(): Map<string, string> {
  if (regionNames) return regionNames
  regionNames = new Map(Object.entries(ALIASES))
  const names = new Intl.DisplayNames(['en'], { type: 'region' })
  for (let a = 65; a <= 90; a += 1) {
    for (let b = 65; b <= 90; b += 1) {
      const code = String.fromCharCode(a, b)
      const name = names.of(code)
      // First come, first kept: aliases win, and GB comes before the deprecated UK.
      if (name && name !== code) {
        if (!regionNames.has(name.toLowerCase())) regionNames.set(name.toLowerCase(), code)
        if (!regionNames.has(code.toLowerCase())) regionNames.set(code.toLowerCase(), code)
      }
    }
  }
  return regionNames
}

export function countryFrom(text: string): string | undefined {
  const words = text
    .trim()
    .toLowerCase()
    .replace(/[?!]+$/, '')
  return countryNames().get(words)
}

const PHONE = String.raw`(\+?[\d][\d\s().-]{5,22}\d)`
const NUMBER_WORDS: Record<string, number> = { one: 1, two: 2, three: 3, four: 4, five: 5, ten: 10 }

/**
 * @example
 * parseAsk('give me a random UK number') // { kind: 'random_number', country: 'GB' }
 */
export function parseAsk(input: string): AskIntent {
  const text = input.trim().replace(/\s+/g, ' ')
  const compact = (phone: string) => phone.replace(/[\s().-]/g, '')

  let m =
    /^(?:please )?(?:give|get|find|show)(?: me)? (?:a |one )?(?:random )?(?:test )?(?:phone )?number(?: for| from| in)? (.+?)\??$/i.exec(
      text,
    )
  if (m?.[1]) {
    const country = countryFrom(m[1])
    if (country) return { kind: 'random_number', country }
  }
  m =
    /^(?:please )?(?:give|get|find|show)(?: me)? (?:a |one )?random (.+?) (?:phone )?number\??$/i.exec(
      text,
    )
  if (m?.[1]) {
    const country = countryFrom(m[1])
    if (country) return { kind: 'random_number', country }
  }
  m = new RegExp(
    String.raw`^(?:please )?send (?:a )?(?:test )?(?:code|verification|text|sms) to ${PHONE}\.?$`,
    'i',
  ).exec(text)
  if (m?.[1]) return { kind: 'send_code', phone: compact(m[1]) }
  m = new RegExp(
    String.raw`^(?:show|list|get)(?: me)? (?:the )?(?:last|latest) (\d{1,2}|${Object.keys(NUMBER_WORDS).join('|')})? ?(?:messages|texts|sms)(?: sent)? (?:to|for) ${PHONE}\??$`,
    'i',
  ).exec(text)
  if (m?.[2]) {
    const raw = (m[1] ?? '5').toLowerCase()
    const count = NUMBER_WORDS[raw] ?? Number(raw)
    return { kind: 'last_messages', phone: compact(m[2]), count: Math.min(Math.max(count, 1), 50) }
  }
  m = new RegExp(
    String.raw`^why (?:was|is|were) ${PHONE} (?:blocked|refused|stopped|challenged)\??$`,
    'i',
  ).exec(text)
  if (m?.[1]) return { kind: 'why_blocked', phone: compact(m[1]) }
  return { kind: 'unknown' }
}
