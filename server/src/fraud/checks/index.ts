/**
 * Every fraud check, in the order the guard runs them. A new check is a file in this folder
 * and one line here.
 * @module
 */
import type { FraudCheck } from '../types'
import { conversionCheck } from './conversion'
import { destinationCheck } from './destination'
import { listsCheck } from './lists'
import { numberTypeCheck } from './number-type'
import { spendCheck } from './spend'
import { velocityCheck } from './velocity'

export const FRAUD_CHECKS: readonly FraudCheck[] = [
  numberTypeCheck,
  listsCheck,
  velocityCheck,
  conversionCheck,
  destinationCheck,
  spendCheck,
]
