/**
 * What adapters read from a message's {@link TemplateData}: registered-template parameters by
 * name, India's DLT ids for +91 numbers, and the mainland China signature rule.
 * @module
 */
import type { CarrierCapabilities, OutgoingMessage, TemplateData, TemplateParamName } from './types'

/** A text that starts with a Chinese signature such as 【好店】. */
const SIGNED = /^【[^【】]+】/

/** True for mainland China numbers (+86), where texts must carry the sender's signature. */
export function isMainlandChina(to: string): boolean {
  return to.startsWith('+86')
}

/** The text with the signature in front, unless it already starts with one. */
export function withChinaSignature(text: string, signName: string): string {
  return SIGNED.test(text) ? text : `【${signName}】${text}`
}

/**
 * True when a free-text carrier would send an unsigned text to mainland China. Template-only
 * carriers (Alibaba, Tencent) send the sign name as a field of their own, so they are exempt.
 */
export function missingChinaSignature(
  capabilities: CarrierCapabilities,
  message: OutgoingMessage,
): boolean {
  return (
    isMainlandChina(message.to) && !capabilities.templatesOnly && !SIGNED.test(message.body.trim())
  )
}

/** What the +86 rule says when a text would go out unsigned. */
export const CHINA_SIGNATURE_REQUIRED =
  'texts to mainland China (+86) must start with the project\'s registered 【signature】: set "signName" with `pnpm textgate registrations set`'

/** The registered template's parameters by name: `{ var: our value }` for each mapping entry. */
export function namedParams(
  data: TemplateData,
  mapping: Record<string, TemplateParamName>,
): Record<string, string> {
  return Object.fromEntries(
    Object.entries(mapping).map(([name, source]) => [name, data.values[source]]),
  )
}

/** The registered template's parameters in order. */
export function orderedParams(data: TemplateData, order: TemplateParamName[]): string[] {
  return order.map((source) => data.values[source])
}

export interface IndiaDltIds {
  entityId?: string
  templateId?: string
}

declare module './types' {
  interface TemplateRegistrations {
    /** India DLT: the principal entity id and the registered content template id. */
    indiaDlt?: IndiaDltIds
  }
}

/** India DLT ids to pass with a text to a +91 number, or undefined when none apply. */
export function indiaDltIds(message: OutgoingMessage): IndiaDltIds | undefined {
  const dlt = message.template?.indiaDlt
  if (!message.to.startsWith('+91') || !dlt || (!dlt.entityId && !dlt.templateId)) return undefined
  return dlt
}
