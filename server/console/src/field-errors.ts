/**
 * A refused form's errors in the form's own words: the API names fields as its JSON does
 * ("codeLength must be at least 4"), for API clients; the console ties each issue to its field
 * and says it with the field's label ("Code length: must be at least 4").
 * @module
 */
import { ApiError } from './api'

export interface FormErrors {
  /** Per field (the API's name), in the form's order: what is wrong, without the field's name. */
  fields: Record<string, string>
  /** Every problem, each led by its field's label; or the server's message. */
  summary: string
}

/**
 * @param labels the form's fields by the API's name, in the form's order, each with its label's
 *   text (what its parentheses add is left out)
 * @param sent what was sent, to name the entry of a list that is wrong
 * @param about the field a refusal without issues is about (a form of one field), which then
 *   leads the summary with its label
 * @example
 * const { fields, summary } = formErrors(error, { codeLength: 'Code length' }, body)
 */
export function formErrors(
  error: unknown,
  labels: Record<string, string>,
  sent: Record<string, unknown> = {},
  { about }: { about?: string } = {},
): FormErrors {
  if (!(error instanceof ApiError)) {
    // The browser's own (a WebAuthn prompt cancelled): its sentence, not "Error: …".
    return { fields: {}, summary: error instanceof Error ? error.message : String(error) }
  }
  const issues = Array.isArray(error.details.issues)
    ? (error.details.issues as { path?: unknown; message?: unknown }[])
    : []
  const fields: Record<string, string> = {}
  // Each line with its field's place in the form: the summary reads in the form's order.
  const order = Object.keys(labels)
  const lines: [number, string][] = []
  for (const issue of issues) {
    const path = typeof issue.path === 'string' ? issue.path : ''
    const [field = '', ...inner] = path.split('.')
    const index = inner.join('.') || undefined
    const label = labels[field]?.replace(/\s*\(.*\)$/, '')
    if (typeof issue.message !== 'string') continue
    if (label === undefined) {
      lines.push([order.length, issue.message])
      continue
    }
    let text = issue.message.startsWith(`${path} `)
      ? issue.message.slice(path.length + 1)
      : issue.message
    const value = index === undefined ? undefined : (sent[field] as unknown[] | undefined)?.[+index]
    // A list's entry: named by its value, unless the message already quotes it; a key inside a
    // JSON the operator wrote (registrations.signName): by that key.
    if (typeof value === 'string') {
      if (!text.includes(`"${value}"`)) {
        text = `"${value.length > 40 ? `${value.slice(0, 40)}…` : value}": ${text}`
      }
    } else if (index !== undefined && !/^\d+$/.test(index)) {
      text = `${index}: ${text}`
    }
    fields[field] = fields[field] ? `${fields[field]}; ${text}` : text
    lines.push([order.indexOf(field), `${label}: ${text}`])
  }
  lines.sort(([a], [b]) => a - b)
  const ordered = Object.fromEntries(order.filter((f) => f in fields).map((f) => [f, fields[f]!]))
  // A refusal without issues (invalid_phone) about the form's one field: said with its label.
  const label = about === undefined ? undefined : labels[about]?.replace(/\s*\(.*\)$/, '')
  if (!lines.length && label !== undefined && error.status < 500) {
    return { fields: { [about as string]: error.message }, summary: `${label}: ${error.message}` }
  }
  return {
    fields: ordered,
    summary: lines.length ? lines.map(([, line]) => line).join('; ') : error.message,
  }
}
