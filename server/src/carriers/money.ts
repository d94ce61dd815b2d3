/**
 * Carrier prices are decimal strings ("0.03330000"); they are added exactly, never as floats.
 * @module
 */

/**
 * Adds decimal strings exactly (Vonage prices have up to 8 decimals).
 * @example
 * sumDecimals(['0.1', '0.2']) // '0.3'
 */
export function sumDecimals(values: string[]): string {
  const scale = Math.max(0, ...values.map((v) => v.split('.')[1]?.length ?? 0))
  const total = values.reduce((sum, v) => {
    const [whole = '0', fraction = ''] = v.split('.')
    return sum + BigInt(whole + fraction.padEnd(scale, '0'))
  }, 0n)
  const digits = total.toString().padStart(scale + 1, '0')
  return scale === 0 ? digits : `${digits.slice(0, -scale)}.${digits.slice(-scale)}`
}
