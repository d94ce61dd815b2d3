import { Hono } from 'hono'
import * as v from 'valibot'
import { validate } from '../../http/body'
import { overview } from '../overview'
import type { ProjectRoutesDeps } from '../project-routes'
import { need } from '../security'

const MAX_RANGE_MS = 400 * 24 * 3600_000

export const RangeQuery = v.pipe(
  v.object({
    from: v.pipe(v.string(), v.toNumber(), v.integer(), v.minValue(0)),
    to: v.pipe(v.string(), v.toNumber(), v.integer(), v.minValue(0)),
    mode: v.optional(v.picklist(['live', 'test'])),
  }),
  v.check(
    (q) => q.to > q.from && q.to - q.from <= MAX_RANGE_MS,
    'from must be before to, at most 400 days apart',
  ),
)

export function overviewRoutes({ db }: ProjectRoutesDeps) {
  return new Hono().get('/', need('overview.read'), async (c) => {
    const query = validate(RangeQuery, {
      from: c.req.query('from'),
      to: c.req.query('to'),
      mode: c.req.query('mode') || undefined,
    })
    return c.json(await overview(db, { projectId: c.get('project').id, ...query }))
  })
}
