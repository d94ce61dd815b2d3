/**
 * Country search for the picker (by name, ISO code or dial code) and the emoji flag check.
 * @module
 */
import type { Country } from './index'

const fold = (text: string) =>
  text
    .normalize('NFD')
    .replace(/[\p{Diacritic}.]/gu, '')
    .toLowerCase()

/**
 * Countries matching `query`, best first: an exact ISO code (alpha-2, or alpha-3 and common names
 * through `alias`), then dial codes ("+44", "44"), then names starting with the query, then names
 * containing it; the English name counts as much as the one in the widget's language. Order is
 * kept within a rank.
 */
export function searchCountries(
  countries: readonly Country[],
  query: string,
  alias?: (query: string) => string | undefined,
): Country[] {
  const q = fold(query.trim())
  if (!q) return [...countries]
  const digits = q.replace(/^\+/, '')
  const isDial = /^\+?\d+$/.test(q)
  const named = isDial ? undefined : alias?.(q)
  const ranked: Country[][] = [[], [], [], [], []]
  for (const country of countries) {
    const names = [fold(country.name), fold(country.english ?? '')].filter(Boolean)
    let rank = -1
    if (isDial) {
      if (country.dialCode === digits) rank = 1
      else if (country.dialCode.startsWith(digits)) rank = 2
    } else if ((q.length === 2 && country.code.toLowerCase() === q) || country.code === named) {
      rank = 0
    } else if (names.some((name) => name.startsWith(q))) rank = 3
    else if (
      names.some(
        (name) => name.includes(q) || name.split(/[\s-]+/).some((word) => word.startsWith(q)),
      )
    ) {
      rank = 4
    }
    if (rank >= 0) ranked[rank]!.push(country)
  }
  return ranked.flat()
}

let emojiFlags: boolean | undefined

/**
 * True when this system draws flag emoji in colour. Without an emoji font (Windows, many Linux
 * systems) they come out as two letters or boxes, and the picker shows the ISO code instead.
 */
export function canShowFlags(): boolean {
  if (emojiFlags !== undefined) return emojiFlags
  emojiFlags = false
  try {
    const canvas = document.createElement('canvas')
    canvas.width = canvas.height = 16
    const context = canvas.getContext('2d', { willReadFrequently: true })
    if (context) {
      context.font = '14px sans-serif'
      context.textBaseline = 'top'
      context.fillStyle = '#000'
      context.fillText('\u{1F1EC}\u{1F1E7}', 0, 0)
      const { data } = context.getImageData(0, 0, 16, 16)
      for (let i = 0; i < data.length; i += 4) {
        // A coloured pixel: the flag was drawn, not black letters or a box.
        if (data[i + 3]! > 0 && (data[i] !== data[i + 1] || data[i + 1] !== data[i + 2])) {
          emojiFlags = true
          break
        }
      }
    }
  } catch {
    emojiFlags = false
  }
  return emojiFlags
}
