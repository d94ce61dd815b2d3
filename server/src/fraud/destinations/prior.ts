/**
 * The built-in prior of destination risk, used while a store has no history of its own: which
 * countries are known pumping destinations and roughly what a text there costs. A project
 * overrides any entry with `destinations.prior` in its fraud settings.
 *
 * Source: Textgate's own curation, dated below, from public write-ups on SMS pumping / artificially
 * inflated traffic (the GSMA's and carriers' AIT advisories, Twilio's "What is SMS pumping" and
 * Verify Fraud Guard pages, Google reCAPTCHA SMS defense docs, Prelude and Stytch blog posts),
 * which repeatedly name destinations in West, Central and East Africa, South and Central Asia,
 * South-East Asia and parts of the Middle East and Eastern Europe. Costs are rounded
 * order-of-magnitude A2P list prices in USD from public price lists, not quotes: a project's
 * routing file (route price) or `spend.costs` always wins over them.
 * @module
 */

export type DestinationRisk = 'low' | 'medium' | 'high'

export interface DestinationPrior {
  risk: DestinationRisk
  /** Rounded list price of one text, USD. */
  cost: number
}

export const PRIOR_SOURCE =
  'Textgate curation of public SMS-pumping (AIT) reports and A2P list prices, rounded'
export const PRIOR_DATE = '2026-12-01'

/**
 * Risk of a country absent from the table. A territory that shares another's numbering plan
 * (IM, JE, GG with GB; AX with FI; VA with IT) is a country of its own here (phone/territory.ts
 * tells it from the number) and does not inherit that country's entry: carriers price it apart,
 * and an entry it has not earned would open it on a store's first day.
 */
export const UNLISTED: DestinationPrior = { risk: 'medium', cost: 0.08 }

const high = (cost: number): DestinationPrior => ({ risk: 'high', cost })
const medium = (cost: number): DestinationPrior => ({ risk: 'medium', cost })
const low = (cost: number): DestinationPrior => ({ risk: 'low', cost })

export const DESTINATION_PRIOR: Readonly<Record<string, DestinationPrior>> = {
  // Africa
  NG: high(0.3),
  GH: high(0.3),
  KE: high(0.2),
  UG: high(0.25),
  TZ: high(0.25),
  CM: high(0.3),
  CI: high(0.3),
  SN: high(0.3),
  ML: high(0.3),
  BF: high(0.3),
  GN: high(0.3),
  SL: high(0.3),
  LR: high(0.3),
  TD: high(0.3),
  CD: high(0.3),
  CG: high(0.3),
  GA: high(0.3),
  BJ: high(0.3),
  TG: high(0.3),
  NE: high(0.3),
  MG: high(0.3),
  MZ: high(0.25),
  ZM: high(0.25),
  ZW: high(0.25),
  ET: high(0.25),
  SO: high(0.3),
  SD: high(0.3),
  SS: high(0.3),
  LY: high(0.3),
  AO: high(0.25),
  MW: high(0.25),
  RW: high(0.25),
  BI: high(0.3),
  GM: high(0.3),
  GW: high(0.3),
  MR: high(0.3),
  ER: high(0.3),
  DJ: high(0.3),
  KM: high(0.3),
  EG: medium(0.2),
  MA: medium(0.15),
  DZ: medium(0.2),
  TN: medium(0.2),
  ZA: medium(0.03),
  // South, Central and South-East Asia
  PK: high(0.2),
  BD: high(0.3),
  LK: high(0.25),
  NP: high(0.2),
  AF: high(0.3),
  MM: high(0.3),
  KH: high(0.25),
  LA: high(0.25),
  VN: high(0.1),
  ID: high(0.35),
  PH: high(0.2),
  TL: high(0.3),
  MV: high(0.2),
  UZ: high(0.3),
  TJ: high(0.3),
  KG: high(0.3),
  TM: high(0.3),
  KZ: high(0.25),
  MN: high(0.2),
  IN: medium(0.08),
  TH: medium(0.05),
  MY: medium(0.1),
  // Middle East, Caucasus, Eastern Europe
  IQ: high(0.3),
  SY: high(0.3),
  YE: high(0.3),
  PS: high(0.3),
  AZ: high(0.35),
  AM: high(0.25),
  GE: high(0.2),
  BY: high(0.25),
  RU: high(0.4),
  TR: medium(0.05),
  UA: medium(0.1),
  // Markets where pumping is rarely reported and texts are cheap
  US: low(0.01),
  CA: low(0.01),
  GB: low(0.04),
  IE: low(0.07),
  DE: low(0.08),
  FR: low(0.07),
  ES: low(0.07),
  IT: low(0.07),
  NL: low(0.09),
  BE: low(0.08),
  AT: low(0.08),
  CH: low(0.06),
  SE: low(0.06),
  NO: low(0.06),
  DK: low(0.05),
  FI: low(0.08),
  PT: low(0.04),
  PL: low(0.04),
  AU: low(0.05),
  NZ: low(0.1),
  JP: low(0.07),
  KR: low(0.03),
  SG: low(0.04),
  BR: low(0.02),
  MX: low(0.03),
}

/** The prior for `country`, the project's own entry first. */
export function priorOf(
  country: string,
  overrides: Readonly<Record<string, Partial<DestinationPrior>>> = {},
): DestinationPrior {
  const builtIn = DESTINATION_PRIOR[country] ?? UNLISTED
  const own = overrides[country]
  return own ? Object.assign({}, builtIn, own) : builtIn
}
