/**
 * The Messaging page's API: templates per locale with a live preview (the text as the
 * verification service would render it, its encoding, parts and cost on each route), China and
 * India registrations, the routing file read-only with every secret hidden, and per route the
 * breaker state, delivery rate and latency, with the outbox's status.
 * @module
 */
import { CountryCode } from '@textgate/shared'
import { Hono } from 'hono'
import { sql } from 'kysely'
import * as v from 'valibot'
import { segmentInfo } from '../../carriers/segments'
import { readJson } from '../../http/body'
import { ApiError } from '../../http/errors'
import { can } from '../../operators'
import { outboxFigures } from '../../outbox/status'
import { type ParsedPhone, parsePhoneAnyType } from '../../phone'
import {
  allowedCountries,
  allowedOrigins,
  setRegistrations,
  setTemplates,
  validTemplatesJson,
} from '../../projects'
import { routeCost } from '../../routing'
import { randomMobileNumber } from '../../sandbox/numbers'
import type { Project } from '../../storage'
import { DEFAULT_TEMPLATES } from '../../templates'
import { parseRegistrations, RegistrationsError } from '../../templates/registrations'
import { codeMessage } from '../../verifications/code-message'
import { withFields } from '../../with-fields'
import { percentiles } from '../overview'
import type { ProjectRoutesDeps } from '../project-routes'
import { redactSecrets } from '../redact'
import { auditNote, need } from '../security'

const Locale = v.pipe(
  v.string(),
  v.regex(/^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$/, 'a BCP 47 tag such as en or zh-CN'),
)
const Templates = v.strictObject({
  templates: v.nullable(v.record(Locale, v.pipe(v.string(), v.maxLength(1000)))),
})
const Registrations = v.strictObject({ registrations: v.nullable(v.unknown()) })
const Preview = v.strictObject({
  locale: Locale,
  /** A draft to preview instead of the stored template for the locale. */
  template: v.optional(v.pipe(v.string(), v.maxLength(1000))),
  /** Where the text would go: a number, or a country whose example number is used. */
  to: v.optional(v.pipe(v.string(), v.maxLength(40))),
  country: v.optional(CountryCode),
})

const DAY_MS = 24 * 3_600_000
const storedTemplates = (project: Project) =>
  project.message_templates
    ? (JSON.parse(project.message_templates) as Record<string, string>)
    : null

export function messagingRoutes({ db, router, routing, now }: ProjectRoutesDeps) {
  /** The routing file's part that concerns this project: its rules, the `*` rules, their carriers. */
  function projectRouting(projectId: string) {
    const projects = Object.fromEntries(
      Object.entries(routing?.projects ?? {}).filter(([key]) => key === projectId || key === '*'),
    )
    const used = new Set(
      Object.values(projects).flatMap(({ rules }) =>
        rules.flatMap((rule) => rule.routes.map((route) => route.carrier)),
      ),
    )
    return { projects, used }
  }

  function routingView(projectId: string) {
    if (!routing) return null
    const { projects, used } = projectRouting(projectId)
    return redactSecrets({
      carriers: routing.carriers.filter((carrier) => used.has(carrier.id)),
      projects,
      // Absent from the file: undefined, left out of the JSON answer.
      retry: routing.retry,
      breaker: routing.breaker,
    })
  }

  return new Hono()
    .get('/', need('messaging.read'), async (c) => {
      const project = c.get('project')
      return c.json({
        templates: storedTemplates(project),
        defaults: DEFAULT_TEMPLATES,
        codeLength: project.code_length,
        brand: project.brand,
        registrations: project.sms_registrations
          ? parseRegistrations(project.sms_registrations)
          : null,
        routing: routingView(project.id),
      })
    })
    .put('/templates', need('templates.write'), async (c) => {
      const { templates } = await readJson(c, Templates)
      const project = c.get('project')
      const cleaned = templates && Object.keys(templates).length ? templates : null
      try {
        if (cleaned) validTemplatesJson(cleaned)
      } catch (error) {
        throw new ApiError('invalid_request', {
          issues: [{ path: 'templates', message: (error as Error).message }],
        })
      }
      await setTemplates(db, project.id, cleaned)
      auditNote(c, {
        action: 'templates.update',
        target: project.id,
        before: storedTemplates(project),
        after: cleaned,
      })
      return c.json({ templates: cleaned })
    })
    .put('/registrations', need('templates.write'), async (c) => {
      const { registrations } = await readJson(c, Registrations)
      const project = c.get('project')
      try {
        await setRegistrations(db, project.id, registrations)
      } catch (error) {
        if (!(error instanceof RegistrationsError)) throw error
        throw new ApiError('invalid_request', {
          issues: error.issues.map((issue) => {
            const [path = '', ...rest] = issue.split(': ')
            return { path: `registrations.${path}`, message: rest.join(': ') }
          }),
        })
      }
      const after = registrations === null ? null : parseRegistrations(registrations)
      auditNote(c, {
        action: 'registrations.update',
        target: project.id,
        before: project.sms_registrations ? JSON.parse(project.sms_registrations) : null,
        after,
      })
      return c.json({ registrations: after })
    })
    .post('/preview', need('messaging.read'), async (c) => {
      const input = await readJson(c, Preview)
      const project = c.get('project')
      const templates = { ...(storedTemplates(project) ?? {}) }
      if (input.template !== undefined) {
        try {
          validTemplatesJson({ [input.locale]: input.template })
        } catch (error) {
          throw new ApiError('invalid_request', {
            issues: [{ path: 'template', message: (error as Error).message }],
          })
        }
        templates[input.locale] = input.template
      }
      const allowed = allowedCountries(project)
      const country = (
        input.country ??
        allowed?.[0] ??
        input.locale.split('-')[1] ??
        'US'
      ).toUpperCase()
      // The number, and the country a start of this project would count it as (an Åland mobile
      // is AX's where the project allows AX and not FI): the route is planned for that country.
      let to: ParsedPhone
      try {
        const given = input.to ?? randomMobileNumber(country, allowed) ?? '+12015550123'
        to = parsePhoneAnyType(given, undefined, allowed)
      } catch (error) {
        if (error instanceof ApiError) throw error
        throw new ApiError('invalid_phone')
      }
      // A code of the project's length, as the real text would carry.
      const code = '1234567890'.repeat(2).slice(0, project.code_length)
      const { body } = codeMessage(
        withFields(project, { message_templates: JSON.stringify(templates) }),
        to.e164,
        code,
        allowedOrigins(project)[0] ?? null,
        input.locale,
      )
      const info = segmentInfo(body)
      const routes = (router?.plan(project.id, to.e164, to.country) ?? []).map((route) => ({
        carrier: route.carrier,
        rule: route.rule,
        priority: route.priority,
        weight: route.weight,
        costPerSegment: route.costPerSegment ?? null,
        cost: routeCost(route, info.segments) ?? null,
      }))
      return c.json({ to: to.e164, text: body, ...info, routes })
    })
    .get('/delivery', need('delivery.read'), async (c) => {
      const project = c.get('project')
      const at = now()
      const since = at - DAY_MS
      const tallies = await db
        .selectFrom('messages')
        .select((eb) => [
          'carrier',
          eb.fn.countAll<number>().as('sent'),
          sql<number>`sum(case when delivered_at is not null then 1 else 0 end)`.as('delivered'),
          sql<number>`sum(case when status in ('failed', 'undelivered') then 1 else 0 end)`.as(
            'failed',
          ),
        ])
        .where('project_id', '=', project.id)
        .where('sent_at', '>=', since)
        .where('carrier', 'is not', null)
        .groupBy('carrier')
        .execute()
      // Other projects' carriers are theirs to know about.
      const { used } = projectRouting(project.id)
      const health = new Map(
        (router?.health() ?? [])
          .filter((h) => used.has(h.carrier))
          .map((h) => [h.carrier, h.state]),
      )
      const carriers = new Set([...health.keys(), ...tallies.map((t) => t.carrier ?? '')])
      const routes = []
      for (const carrier of [...carriers].sort()) {
        const tally = tallies.find((t) => t.carrier === carrier)
        const delivered = Number(tally?.delivered ?? 0)
        const failed = Number(tally?.failed ?? 0)
        const latency = await percentiles(
          db,
          sql<number>`select delivered_at - sent_at as ms from messages
            where project_id = ${project.id} and carrier = ${carrier} and sent_at >= ${since}
            and delivered_at is not null`,
        )
        routes.push({
          carrier,
          breaker: health.get(carrier) ?? null,
          sent: Number(tally?.sent ?? 0),
          delivered,
          failed,
          deliveryRate: delivered + failed > 0 ? delivered / (delivered + failed) : null,
          latencyMs: { median: latency.median, p95: latency.p95 },
        })
      }
      // This project's texts in the outbox; the whole server's (the figures /metrics exports,
      // other projects' texts in them) only for an operator who may read every project's.
      const everyProject = can(c.get('everyProjectRole'), 'delivery.read')
      return c.json({
        since: new Date(since).toISOString(),
        routes,
        outbox: await outboxFigures(db, at, project.id),
        ...(everyProject ? { serverOutbox: await outboxFigures(db, at) } : {}),
      })
    })
}
