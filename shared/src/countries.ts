/**
 * The countries Textgate takes from operators and API callers: the ISO 3166-1 alpha-2 codes
 * libphonenumber-js parses numbers for (every country with a numbering plan). Its list, copied:
 * shared/ is bundled into @textgate/store, which should not carry phone metadata to know it.
 * server/src/phone/index.test.ts holds this copy equal to the server's libphonenumber-js.
 * @module
 */

const COUNTRIES = new Set(
  (
    'AC AD AE AF AG AI AL AM AO AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS ' +
    'BT BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG ' +
    'EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GT GU GW GY HK HN HR HT ' +
    'HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR ' +
    'LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF ' +
    'NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD ' +
    'SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TA TC TD TG TH TJ TK TL TM TN TO TR TT TV TW ' +
    'TZ UA UG US UY UZ VA VC VE VG VI VN VU WF WS XK YE YT ZA ZM ZW'
  ).split(' '),
)

/** Every country code {@link countryCode} takes, in alphabetical order. */
export const COUNTRY_CODES: readonly string[] = [...COUNTRIES]

/** Codes people write for a country that have another: the EU's and the UK's own usage. */
const INSTEAD: Readonly<Record<string, string>> = {
  UK: 'the United Kingdom is GB',
  EL: 'Greece is GR',
}

/**
 * `value` as an ISO 3166-1 alpha-2 code (trimmed, upper case) when it names a country numbers
 * are parsed for, else undefined: `UK`, `ZZ` or `XX` are no country, and a project, rule or list
 * entry naming one would never match a number.
 * @example
 * countryCode('gb') // 'GB'
 * countryCode('UK') // undefined
 */
export function countryCode(value: string): string | undefined {
  const code = value.trim().toUpperCase()
  return COUNTRIES.has(code) ? code : undefined
}

/**
 * What refusing `value` tells the operator or caller: the value (a long one cut short) and, for
 * a code that stands for a country elsewhere, the country's own.
 * @example
 * notACountry('UK') // '"UK" is not an ISO 3166-1 alpha-2 country code (the United Kingdom is GB)'
 */
export function notACountry(value: string): string {
  const shown = value.length > 12 ? `${value.slice(0, 12)}…` : value
  const code = value.trim().toUpperCase()
  const hint = Object.hasOwn(INSTEAD, code) ? INSTEAD[code] : 'such as GB'
  return `"${shown}" is not an ISO 3166-1 alpha-2 country code (${hint})`
}
