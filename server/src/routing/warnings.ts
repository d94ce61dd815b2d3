/**
 * Routing-file entries that are valid but will not work as the operator likely expects: said
 * once at start-up (and by `routes check`), naming the entry id, never a secret.
 * @module
 */
import { kindOf } from '../carriers/registry'
import { sharedMobileBlocks } from '../phone/territory'
import type { RoutingConfig, RuleSpec } from './routing-file'

/**
 * One line per carrier entry whose delivery reports will all be refused: the carrier posts
 * them, but with neither a signature secret nor a callback token nothing proves they are
 * genuine, so report intake answers 401 and messages stay `sent`. Such an entry still sends,
 * so it is accepted (an operator may not want reports), but said out loud. Then one line per
 * rule that names a main country but leaves out territories of its numbering plan that no
 * other rule takes (see {@link territoryWarnings}).
 */
export function routingWarnings(config: Pick<RoutingConfig, 'carriers' | 'projects'>): string[] {
  const warnings: string[] = []
  for (const spec of config.carriers) {
    const needs = kindOf(spec).reportProofMissing?.(spec)
    if (needs) {
      warnings.push(
        `carrier "${spec.id}" (${spec.type}): no signature secret or callback token, so every delivery report it posts will be refused and its messages stay "sent"; set ${needs} to track delivery`,
      )
    }
  }
  warnings.push(...territoryWarnings(config))
  return warnings
}

/**
 * A rule's `countries` match the country a number belongs to (phone/territory.ts): a number in
 * a territory's own mobile ranges is the territory's, even in its main country's mobile blocks
 * (Sure's Manx 07924), so a rule for GB takes no IM, JE or GG number. One line per rule that
 * names a main country, and would take its mobiles in a territory's blocks were they its, but
 * not that territory, when no rule the router would try for the territory's mobiles takes any:
 * another rule of the project (naming it, or without countries), else one of `"*"` (the router
 * tries the project's rules, then `"*"`'s, router.ts `plan`). Such numbers fail as having no
 * route.
 */
function territoryWarnings(config: Pick<RoutingConfig, 'projects'>): string[] {
  const warnings: string[] = []
  for (const [key, { rules }] of Object.entries(config.projects)) {
    const tried = key === '*' ? rules : [...rules, ...(config.projects['*']?.rules ?? [])]
    rules.forEach((rule, index) => {
      for (const main of rule.countries ?? []) {
        const plan = sharedMobileBlocks().get(main)
        if (!plan) continue
        const left = plan.territories.filter(
          ({ country, leading }) =>
            !rule.countries?.includes(country) &&
            takesMobilesOf(rule, main, plan.callingCode, leading) &&
            !tried.some((other) => takesMobilesOf(other, country, plan.callingCode, leading)),
        )
        if (left.length === 0) continue
        const names = left.map(({ country }) => country)
        const quoted = names.map((country) => `"${country}"`).join(', ')
        warnings.push(
          `projects.${key}.rules.${index}: names ${main} but not ${names.join(', ')}, and no rule takes their numbers: a number in their own mobile ranges is theirs, not ${main}'s (README: "Territories that share a numbering plan"), so it fails as having no route; to send them, add ${quoted} to this rule's countries (or give them a rule of their own), or take the whole numbering plan with "prefixes": ["+${plan.callingCode}"]`,
        )
      }
    })
  }
  return warnings
}

/**
 * Whether a rule can take mobiles of `country` (calling code `callingCode`) that start with one
 * of the `leading` national digits: its countries, if any, name it, and its prefixes, if any,
 * cover some of them (a prefix of the calling code, or of a leading block, or longer within
 * one: a rule for some of a territory's mobiles counts, so the warning is never a false alarm).
 */
function takesMobilesOf(
  rule: RuleSpec,
  country: string,
  callingCode: string,
  leading: readonly string[],
): boolean {
  if (rule.countries && !rule.countries.includes(country)) return false
  if (!rule.prefixes) return true
  return rule.prefixes.some((prefix) => {
    const digits = prefix.slice(1)
    if (callingCode.startsWith(digits)) return true
    if (!digits.startsWith(callingCode)) return false
    const national = digits.slice(callingCode.length)
    return leading.some((block) => block.startsWith(national) || national.startsWith(block))
  })
}
