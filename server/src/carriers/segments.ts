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

/** @example segmentInfo('Your code is 123456') // { encoding: 'GSM-7', segments: 1, characters: 19 } */
export function segmentInfo(text: string): SegmentInfo {
  const message = new SegmentedMessage(text, 'auto')
  return {
    encoding: message.encodingName === 'GSM-7' ? 'GSM-7' : 'UCS-2',
    segments: message.segmentsCount,
    characters: [...text].length,
  }
}

export function encodingOf(text: string): SmsEncoding {
  return segmentInfo(text).encoding
}
