/**
 * A wait in words, in the widget's language, as a phrase of time from now: "in 45 seconds",
 * "через 1 минуту", "خلال دقيقتين" (rounded up, so the shopper never comes back too early).
 * Intl.RelativeTimeFormat puts the number and its unit in the grammatical case and plural form
 * that the language's "in …" needs, which a bare "1 минута" (Intl.NumberFormat's unit) is not.
 * @module
 */
export function waitIn(seconds: number, locale: string): string {
  const [value, unit] =
    seconds < 60
      ? [seconds, 'second' as const]
      : seconds <= 7200
        ? [Math.ceil(seconds / 60), 'minute' as const]
        : [Math.ceil(seconds / 3600), 'hour' as const]
  return new Intl.RelativeTimeFormat(locale, { numeric: 'always' }).format(value, unit)
}
