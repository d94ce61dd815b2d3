/**
 * A wait in words, in the widget's language: "45 seconds", "10 minutes", "3 hours" (rounded up,
 * so the shopper never comes back too early).
 * @module
 */
export function humanWait(seconds: number, locale: string): string {
  const [value, unit] =
    seconds < 60
      ? [seconds, 'second']
      : seconds <= 7200
        ? [Math.ceil(seconds / 60), 'minute']
        : [Math.ceil(seconds / 3600), 'hour']
  return new Intl.NumberFormat(locale, { style: 'unit', unit, unitDisplay: 'long' }).format(value)
}
