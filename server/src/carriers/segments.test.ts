import { describe, expect, it } from 'vitest'
import { segmentInfo } from './segments'

describe('GSM-7 / UCS-2 detection and part counts', () => {
  const cases: [string, string, 'GSM-7' | 'UCS-2', number][] = [
    ['a short code text', 'Your Shop code is 123456', 'GSM-7', 1],
    ['160 GSM characters fit one part', 'a'.repeat(160), 'GSM-7', 1],
    ['161 need two parts of 153', 'a'.repeat(161), 'GSM-7', 2],
    ['306 = 2 × 153', 'a'.repeat(306), 'GSM-7', 2],
    ['307 need a third part', 'a'.repeat(307), 'GSM-7', 3],
    [
      'accents of the GSM basic set stay GSM-7',
      'Code: 123456 — é à ñ ü'.replace('—', '-'),
      'GSM-7',
      1,
    ],
    ['€ is an escape: two septets each, 80 fit', '€'.repeat(80), 'GSM-7', 1],
    ['81 € are 162 septets', '€'.repeat(81), 'GSM-7', 2],
    ['Cyrillic is UCS-2, 70 fit one part', 'ж'.repeat(70), 'UCS-2', 1],
    ['71 need two parts of 67', 'ж'.repeat(71), 'UCS-2', 2],
    ['134 = 2 × 67', 'ж'.repeat(134), 'UCS-2', 2],
    ['135 need a third part', 'ж'.repeat(135), 'UCS-2', 3],
    ['an emoji is two UTF-16 units: 35 fit', '😀'.repeat(35), 'UCS-2', 1],
    ['one non-GSM character makes the whole text UCS-2', `${'a'.repeat(70)}ж`, 'UCS-2', 2],
  ]
  for (const [name, text, encoding, segments] of cases) {
    it(name, () => {
      expect(segmentInfo(text)).toMatchObject({ encoding, segments })
    })
  }

  it('counts characters as code points', () => {
    expect(segmentInfo('😀 hi').characters).toBe(4)
  })
})
