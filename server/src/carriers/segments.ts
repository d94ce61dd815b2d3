/**
 * GSM-7 or UCS-2, and how many parts a text takes, from `sms-segments-calculator` (Twilio's
 * calculator): GSM 03.38 basic set and extension table (escapes count as two septets),
 * 160/153 septets per single/concatenated part, 70/67 UTF-16 units in UCS-2 (surrogate pairs
 * are not split across parts).
 * @module
 */
import { SegmentedMessage } from 'sms-segments-calculator'

export type SmsEncoding = 'GSM-7' | 'UCS-2'

export interface SegmentInfo {
  encoding: SmsEncoding
  segments: number
  /** Characters as the user sees them (grapheme-agnostic: code points). */
  characters: number
}

// Code messages differ only in their digits, and a digit is one GSM-7 septet or one UCS-2
// unit whichever it is: the answer for the text with every digit as 0 is the same. Measuring a
// text takes about half a millisecond, so answers are remembered (a few hundred shapes at most).
const shapes = new Map<string, SegmentInfo>()
const MAX_SHAPES = 500

/** @example segmentInfo('Your code is 123456') // { encoding: 'GSM-7', segments: 1, characters: 19 } */
export function segmentInfo(text: string): SegmentInfo {
  const shape = text.replace(/[0-9]/g, '0')
  const known = shapes.get(shape)
  if (known) return known
  const message = new SegmentedMessage(text, 'auto')
  const info: SegmentInfo = {
    encoding: message.encodingName === 'GSM-7' ? 'GSM-7' : 'UCS-2',
    segments: message.segmentsCount,
    characters: [...text].length,
  }
  if (shapes.size >= MAX_SHAPES) shapes.clear()
  shapes.set(shape, info)
  return info
}

export function encodingOf(text: string): SmsEncoding {
  return segmentInfo(text).encoding
}
