/**
 * The text of a code message and the template data carriers need.
 * @module
 */
import { isMainlandChina } from '../carriers/template-data'
import type { TemplateData } from '../carriers/types'
import type { Project } from '../storage'
import { renderCodeMessage } from '../templates'
import { templateData } from '../templates/registrations'
import { CODE_TTL_MS } from './state'

const templatesOf = (project: { message_templates: string | null }) =>
  project.message_templates
    ? (JSON.parse(project.message_templates) as Record<string, string>)
    : null

/**
 * The project's registrations for the locale, and the 【signature】 in front of texts to
 * mainland China when it has one.
 * @example
 * const { body, template } = codeMessage(project, '+447700900123', '123456', origin, 'en')
 */
export function codeMessage(
  project: Pick<Project, 'brand' | 'message_templates' | 'sms_registrations'>,
  to: string,
  code: string,
  origin: string | null,
  locale: string | null | undefined,
): { body: string; template: TemplateData } {
  const minutes = CODE_TTL_MS / 60_000
  const template = templateData({
    code,
    minutes,
    brand: project.brand,
    locale,
    registrations: project.sms_registrations,
  })
  const body = renderCodeMessage({
    brand: project.brand,
    code,
    minutes,
    origin,
    locale,
    templates: templatesOf(project),
    chinaSignature: isMainlandChina(to) ? template.signName : undefined,
  })
  return { body, template }
}
