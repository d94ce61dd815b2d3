/**
 * The text of the code message. The last line, `@host #code`, lets browsers with the WebOTP
 * API offer the code to the page of that host only.
 * @module
 */

export interface CodeMessageInput {
  brand: string
  code: string
  minutes: number
  /** The widget page's origin, when known: it enables the WebOTP line. */
  origin: string | null
}

export function renderCodeMessage({ brand, code, minutes, origin }: CodeMessageInput): string {
  const text = `${code} is your ${brand} verification code. It expires in ${minutes} minutes. Never share it.`
  if (!origin) return text
  return `${text}\n\n@${new URL(origin).host} #${code}`
}
