/**
 * The text of the code message: the project's own template for the shopper's language when it
 * has one, else the default in that language, else English. Placeholders: `{code}` (required),
 * `{brand}`, `{minutes}`. The last line, `@host #code`, lets browsers with the WebOTP API offer
 * the code to the page of that host only. Texts to mainland China start with the project's
 * registered 【signature】 when it has one (see ./registrations.ts).
 * @module
 */
import { withChinaSignature } from '../carriers/template-data'
import { DEFAULT_TEMPLATES } from './defaults'

export { DEFAULT_TEMPLATES }

export interface CodeMessageInput {
  brand: string
  code: string
  minutes: number
  /** The widget page's origin, when known: it enables the WebOTP line. */
  origin: string | null
  /** BCP 47 tag the widget sent (`fr-CA`, `zh-TW`, …). */
  locale?: string | null | undefined
  /** The project's templates by locale or language (JSON column), if any. */
  templates?: Record<string, string> | null | undefined
  /**
   * The registered Chinese signature, for texts to mainland China (+86): the text then starts
   * with 【signature】 unless the template already does.
   */
  chinaSignature?: string | null | undefined
}

const PLACEHOLDER = /\{(\w+)\}/g
const KNOWN = new Set(['code', 'brand', 'minutes'])
export const MAX_TEMPLATE_LENGTH = 320

/** Why a template cannot be used, or null when it can. */
export function templateProblem(template: string): string | null {
  if (!template.includes('{code}')) return 'a template must contain {code}'
  if (template.length > MAX_TEMPLATE_LENGTH) {
    return `a template is at most ${MAX_TEMPLATE_LENGTH} characters`
  }
  for (const [, name] of template.matchAll(PLACEHOLDER)) {
    if (!KNOWN.has(name ?? ''))
      return `unknown placeholder {${name}} (use {code}, {brand}, {minutes})`
  }
  return null
}

/**
 * The best template for `locale`: exact tag, then among its language's tags those in the same
 * script (`zh-HK` and `zh-Hant` read Traditional Chinese: `zh-TW`, not `zh-CN`, as the widget
 * picks its own language), the bare language first, then any tag of the language.
 */
export function pickTemplate<T = string>(
  locale: string | null | undefined,
  templates: Record<string, T>,
): T | undefined {
  if (!locale) return undefined
  const tags = Object.keys(templates)
  const exact = tags.find((tag) => tag.toLowerCase() === locale.toLowerCase())
  if (exact) return templates[exact]
  const language = locale.split('-')[0]?.toLowerCase() ?? ''
  const siblings = tags.filter((tag) => tag.split('-')[0]?.toLowerCase() === language)
  if (siblings.length === 0) return undefined
  const script = scriptOf(locale)
  const sameScript = siblings.filter((tag) => scriptOf(tag) === script)
  const candidates = sameScript.length > 0 ? sameScript : siblings
  const bare = candidates.find((tag) => tag.toLowerCase() === language)
  return templates[bare ?? (candidates[0] as string)]
}

/** The script a tag is written in, stated or likely (`zh-HK` → Hant), if Intl can tell. */
function scriptOf(tag: string): string | undefined {
  try {
    return new Intl.Locale(tag).maximize().script
  } catch {
    return undefined
  }
}

export function renderCodeMessage({
  brand,
  code,
  minutes,
  origin,
  locale,
  templates,
  chinaSignature,
}: CodeMessageInput): string {
  // The shopper's language first (the store's wording, else ours), then the store's English.
  const template =
    pickTemplate(locale, templates ?? {}) ??
    pickTemplate(locale, DEFAULT_TEMPLATES) ??
    templates?.en ??
    (DEFAULT_TEMPLATES.en as string)
  const values: Record<string, string> = { code, brand, minutes: String(minutes) }
  const filled = template.replace(PLACEHOLDER, (match, name: string) => values[name] ?? match)
  const text = chinaSignature ? withChinaSignature(filled, chinaSignature) : filled
  if (!origin) return text
  // The spec's line names a host, never a port (origin-bound one-time codes: the top-level
  // origin is ("https", host, null, null), matched same-site): a page in development on
  // localhost:5173 gets `@localhost`, which browsers' parsers read; `@localhost:5173` they do not.
  return `${text}\n\n@${new URL(origin).hostname} #${code}`
}
