import { describe, expect, it } from 'vitest'
import { aggregateParts, type PartState } from './parts'

function part(n: number, status: PartState['status'], at: number, extra: Partial<PartState> = {}) {
  return {
    part: n,
    status,
    status_at: at,
    error_code: null,
    cost_amount: null,
    cost_currency: null,
    ...extra,
  } satisfies PartState
}

describe('the aggregate rule for a text in parts', () => {
  it('is delivered only when every part is, at the time of the last delivery', () => {
    expect(aggregateParts([part(1, 'delivered', 20), part(2, 'sent', 5)]).status).toBe('sent')
    expect(aggregateParts([part(1, 'delivered', 20), part(2, 'delivered', 30)])).toMatchObject({
      status: 'delivered',
      at: 30,
    })
  })

  it('fails as soon as any part fails, naming the part that failed first', () => {
    const aggregate = aggregateParts([
      part(1, 'delivered', 10),
      part(2, 'undelivered', 40),
      part(3, 'failed', 30, { error_code: '7' }),
    ])
    expect(aggregate).toEqual({ status: 'failed', at: 30, errorCode: '7', failedPart: 3 })
  })

  it('sums part prices once every part has one, in one currency', () => {
    const eur = (amount: string) => ({ cost_amount: amount, cost_currency: 'EUR' })
    expect(
      aggregateParts([part(1, 'sent', 1, eur('0.0333')), part(2, 'sent', 1, eur('0.03330000'))])
        .cost,
    ).toEqual({ amount: '0.06660000', currency: 'EUR' })
    expect(aggregateParts([part(1, 'sent', 1, eur('0.0333')), part(2, 'sent', 1)]).cost).toBe(
      undefined,
    )
    expect(
      aggregateParts([
        part(1, 'sent', 1, eur('0.0333')),
        part(2, 'sent', 1, { cost_amount: '0.04', cost_currency: 'USD' }),
      ]).cost,
    ).toBe(undefined)
  })

  it('reads PostgreSQL bigints (strings) as numbers', () => {
    const fromPg = { ...part(1, 'delivered', 0), status_at: '1764072007000' as unknown as number }
    expect(aggregateParts([fromPg]).at).toBe(1764072007000)
  })
})
