/**
 * A project's SMS registrations: what regulators and template-only carriers registered for it.
 * China: the signature (签名, e.g. 好店) that free texts to +86 carry as 【好店】, and the
 * template codes/ids approved at Alibaba Cloud and Tencent Cloud with how their variables map
 * to our values. India: the DLT principal entity id and the content template id. Each may be
 * overridden per locale (an English and a Chinese registered template); what the project does
 * not say falls back to the carrier entry in the routing file.
 *
 * ```json
 * {
 *   "signName": "好店",
 *   "alibaba": { "templateCode": "SMS_154950909", "params": { "code": "code", "min": "minutes" } },
 *   "tencent": { "templateId": "1110", "params": ["code", "minutes"] },
 *   "indiaDlt": { "entityId": "1101456789012345678", "templateId": "1107161234567890123" },
 *   "locales": {
 *     "en": { "signName": "GoodShop", "alibaba": { "templateCode": "SMS_154950910" } },
 *     "hi": { "indiaDlt": { "templateId": "1107161234567890999" } }
 *   }
 * }
 * ```
 * @module
 */
import * as v from 'valibot'
import type { TemplateData, TemplateParamName } from '../carriers/types'
import { withFields } from '../with-fields'
import { pickTemplate } from './index'

const PARAM_NAMES = ['code', 'minutes', 'brand'] as const
const ParamName = v.picklist(PARAM_NAMES, 'must be "code", "minutes" or "brand"')

const SignName = v.pipe(
  v.string('must be text'),
  v.trim(),
  v.minLength(1, 'must not be empty'),
  v.maxLength(20, 'must be at most 20 characters'),
  v.check((name) => !/[【】[\]]/.test(name), 'is the name alone, without 【】 brackets'),
)

const DltId = v.pipe(
  v.string('must be text (the id as digits, in quotes)'),
  v.regex(/^\d{10,30}$/, 'must be the DLT id: 10 to 30 digits'),
)

const hasCode = (sources: TemplateParamName[]) => sources.includes('code')

const AlibabaParams = v.pipe(
  v.record(
    v.pipe(v.string(), v.regex(/^\w{1,32}$/, 'variable names are letters, digits and _')),
    ParamName,
    'must be an object of template variable → "code", "minutes" or "brand"',
  ),
  v.check((params) => hasCode(Object.values(params)), 'must map one variable to "code"'),
)

const TencentParams = v.pipe(
  v.array(ParamName, 'must be a list such as ["code", "minutes"]'),
  v.check(hasCode, 'must include "code"'),
)

/** Missing required fields and unknown fields are told apart. */
const fieldMessage = (issue: v.BaseIssue<unknown>) =>
  issue.expected === 'never' ? 'is not a known field' : 'must be an object'

function sections() {
  return {
    signName: v.optional(SignName),
    alibaba: v.optional(
      v.strictObject(
        {
          templateCode: v.optional(
            v.pipe(v.string('must be text'), v.regex(/^SMS_\d+$/, 'must look like SMS_123456789')),
          ),
          signName: v.optional(SignName),
          params: v.optional(AlibabaParams),
        },
        fieldMessage,
      ),
    ),
    tencent: v.optional(
      v.strictObject(
        {
          templateId: v.optional(
            v.pipe(v.string('must be text'), v.regex(/^\d{1,20}$/, 'must be the numeric id')),
          ),
          signName: v.optional(SignName),
          params: v.optional(TencentParams),
        },
        fieldMessage,
      ),
    ),
    indiaDlt: v.optional(
      v.strictObject({ entityId: v.optional(DltId), templateId: v.optional(DltId) }, fieldMessage),
    ),
  }
}

const LocaleTag = v.pipe(
  v.string(),
  v.regex(/^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$/, 'locale keys must be BCP 47 tags such as zh-CN'),
)

export const SmsRegistrationsSchema = v.strictObject(
  withFields(sections(), {
    locales: v.optional(
      v.record(LocaleTag, v.strictObject(sections(), fieldMessage), 'must be an object'),
    ),
  }),
  fieldMessage,
)

export type SmsRegistrations = v.InferOutput<typeof SmsRegistrationsSchema>
type Section = Omit<SmsRegistrations, 'locales'>

/** Bad registrations: one line per bad field, named by its path. */
export class RegistrationsError extends Error {
  constructor(readonly issues: string[]) {
    super(`invalid SMS registrations:\n  ${issues.join('\n  ')}`)
    this.name = 'RegistrationsError'
  }
}

/** Validates registrations (an object or its JSON); throws {@link RegistrationsError}. */
export function parseRegistrations(input: unknown): SmsRegistrations {
  let value = input
  if (typeof input === 'string') {
    try {
      value = JSON.parse(input)
    } catch {
      throw new RegistrationsError(['(root): is not JSON'])
    }
  }
  const result = v.safeParse(SmsRegistrationsSchema, value)
  if (!result.success) {
    throw new RegistrationsError(
      result.issues.map((issue) => `${v.getDotPath(issue) ?? '(root)'}: ${issue.message}`),
    )
  }
  return result.output
}

/** The section for `locale`: the project-wide one with the locale's fields laid over it. */
function forLocale(registrations: SmsRegistrations, locale: string | null): Section {
  const { locales, ...base } = registrations
  const override = locales && locale ? pickTemplate(locale, locales) : undefined
  if (!override) return base
  return {
    signName: override.signName ?? base.signName,
    alibaba: merge(base.alibaba, override.alibaba),
    tencent: merge(base.tencent, override.tencent),
    indiaDlt: merge(base.indiaDlt, override.indiaDlt),
  }
}

function merge<T extends object>(base: T | undefined, over: T | undefined): T | undefined {
  if (!base) return over
  if (!over) return base
  return Object.assign(
    {},
    base,
    Object.fromEntries(Object.entries(over).filter(([, x]) => x !== undefined)),
  )
}

export interface TemplateDataInput {
  code: string
  minutes: number
  brand: string
  locale: string | null | undefined
  /** The project's stored registrations (JSON column), if any. */
  registrations: string | SmsRegistrations | null | undefined
}

/**
 * The values and the registrations for one message, as adapters receive them.
 * @example
 * templateData({ code: '123456', minutes: 10, brand: 'Shop', locale: 'zh-CN', registrations })
 */
export function templateData(input: TemplateDataInput): TemplateData {
  const registrations =
    typeof input.registrations === 'string'
      ? parseRegistrations(input.registrations)
      : (input.registrations ?? {})
  const locale = input.locale ?? null
  const section = forLocale(registrations, locale)
  const data: TemplateData = {
    values: { code: input.code, minutes: String(input.minutes), brand: input.brand },
    locale,
  }
  if (section.signName) data.signName = section.signName
  if (section.alibaba) data.alibaba = section.alibaba
  if (section.tencent) data.tencent = section.tencent
  if (section.indiaDlt) data.indiaDlt = section.indiaDlt
  return data
}

export { PARAM_NAMES }
