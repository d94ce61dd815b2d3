/**
 * Text encodings of a short message: the GSM 03.38 default alphabet (data_coding 0, one septet
 * per byte, as SMPP carries it unpacked) when every character fits, UCS-2 (data_coding 8,
 * UTF-16BE) otherwise, and the split of a long text into concatenated parts.
 * @module
 */

/** GSM 03.38 default alphabet, indexed by septet; 0x1B is the escape to the extension table. */
const GSM_DEFAULT =
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\u001bÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?' +
  '¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà'

/** The extension table: characters sent as ESC followed by this septet. */
const GSM_EXTENSION: Record<string, number> = {
  '\f': 0x0a,
  '^': 0x14,
  '{': 0x28,
  '}': 0x29,
  '\\': 0x2f,
  '[': 0x3c,
  '~': 0x3d,
  ']': 0x3e,
  '|': 0x40,
  '€': 0x65,
}

const GSM_INDEX = new Map<string, number>()
for (let i = 0; i < GSM_DEFAULT.length; i++) {
  if (i !== 0x1b) GSM_INDEX.set(GSM_DEFAULT[i]!, i)
}

export const DATA_CODING_GSM7 = 0
export const DATA_CODING_UCS2 = 8

/** Septets (GSM-7) or UTF-16 code units (UCS-2) that fit in one message, with and without UDH. */
export const LIMITS = {
  gsm7: { single: 160, part: 153 },
  ucs2: { single: 70, part: 67 },
} as const

export type Alphabet = keyof typeof LIMITS

export function isGsm7(text: string): boolean {
  for (const char of text) {
    if (!GSM_INDEX.has(char) && GSM_EXTENSION[char] === undefined) return false
  }
  return true
}

/** Encodes one character; GSM-7 characters of the extension table take two septets. */
function encodeChar(char: string, alphabet: Alphabet): number[] {
  if (alphabet === 'ucs2') {
    const units: number[] = []
    for (let i = 0; i < char.length; i++) {
      const unit = char.charCodeAt(i)
      units.push(unit >> 8, unit & 0xff)
    }
    return units
  }
  const index = GSM_INDEX.get(char)
  if (index !== undefined) return [index]
  const extended = GSM_EXTENSION[char]
  if (extended === undefined) throw new Error(`"${char}" is not in the GSM 03.38 alphabet`)
  return [0x1b, extended]
}

export interface EncodedText {
  alphabet: Alphabet
  dataCoding: typeof DATA_CODING_GSM7 | typeof DATA_CODING_UCS2
  /** The whole text encoded, for message_payload. */
  whole: Buffer
  /** The text split into parts that each fit one concatenated segment (one part if it fits). */
  parts: Buffer[]
}

/**
 * Chooses the alphabet and splits the text without cutting an escape sequence or a surrogate
 * pair in two.
 * @example
 * encodeText('Your code is 123456').parts.length // 1, data_coding 0
 * encodeText('Код 123456').dataCoding // 8
 */
export function encodeText(text: string): EncodedText {
  const alphabet: Alphabet = isGsm7(text) ? 'gsm7' : 'ucs2'
  // UCS-2 limits count code units, two bytes each; GSM-7 limits count septets, one byte each.
  const unit = alphabet === 'ucs2' ? 2 : 1
  const chars = [...text].map((char) => encodeChar(char, alphabet))
  const whole = Buffer.from(chars.flat())
  const parts: Buffer[] = []
  if (whole.length <= LIMITS[alphabet].single * unit) {
    parts.push(whole)
  } else {
    const max = LIMITS[alphabet].part * unit
    let current: number[] = []
    for (const bytes of chars) {
      if (current.length + bytes.length > max) {
        parts.push(Buffer.from(current))
        current = []
      }
      current.push(...bytes)
    }
    if (current.length > 0) parts.push(Buffer.from(current))
  }
  return {
    alphabet,
    dataCoding: alphabet === 'ucs2' ? DATA_CODING_UCS2 : DATA_CODING_GSM7,
    whole,
    parts,
  }
}

/** Decodes GSM-7 (unpacked) or UCS-2 bytes; the inverse of {@link encodeText}, for tests and peers. */
export function decodeText(bytes: Buffer, dataCoding: number): string {
  if ((dataCoding & 0x0f) === DATA_CODING_UCS2) {
    let text = ''
    for (let i = 0; i + 1 < bytes.length; i += 2) text += String.fromCharCode(bytes.readUInt16BE(i))
    return text
  }
  let text = ''
  for (let i = 0; i < bytes.length; i++) {
    const septet = bytes[i]!
    if (septet === 0x1b && i + 1 < bytes.length) {
      const next = bytes[++i]!
      const found = Object.entries(GSM_EXTENSION).find(([, code]) => code === next)
      text += found ? found[0] : ' '
    } else {
      text += GSM_DEFAULT[septet] ?? ' '
    }
  }
  return text
}

/**
 * The user data header of one concatenated part: IEI 0x00 (8-bit reference), length 3,
 * reference, total parts, this part's number (from 1).
 */
export function concatUdh(reference: number, total: number, index: number): Buffer {
  return Buffer.from([0x05, 0x00, 0x03, reference & 0xff, total, index])
}

/** Splits a UDH-prefixed short_message into the header and the text bytes. */
export function splitUdh(shortMessage: Buffer): { udh: Buffer; text: Buffer } {
  const length = shortMessage[0] ?? 0
  return { udh: shortMessage.subarray(0, length + 1), text: shortMessage.subarray(length + 1) }
}
