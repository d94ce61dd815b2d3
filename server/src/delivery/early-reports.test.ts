import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createHarness, type Harness } from '../../testing/harness'
import { DIALECTS } from '../../testing/storage'
import { applyEarlyReports, applyReports, EARLY_REPORT_TTL_MS, reportIntake } from './reports'

describe.each(DIALECTS)('reports faster than our own commit on %s', (dialect) => {
  let h: Harness
  beforeEach(async () => {
    h = await createHarness(dialect)
  })
  afterEach(async () => {
    await h.dispose()
  })

  async function messageSentAs(carrierMessageId: string) {
    const { publishableKey } = await h.project()
    const started = await h.call('POST', '/v1/verifications', {
      key: publishableKey,
      body: { phone: '+447400606060', consent: { accepted: true } },
    })
    // As the dispatcher does once the carrier answered: carrier, its id, status sent.
    await h.db
      .updateTable('messages')
      .set({ carrier: 'twilio', carrier_message_id: carrierMessageId, status: 'sent' })
      .where('verification_id', '=', started.json.id)
      .execute()
    return started.json.id as string
  }

  const report = (carrierMessageId: string, at: number) => ({
    carrierMessageId,
    status: 'delivered' as const,
    at,
  })

  it('holds a report for an id not stored yet, then applies it once the id is stored', async () => {
    const at = h.now()
    const early = await applyReports(h.db, 'twilio', [report('SMearly1', at)], at)
    expect(early).toEqual({ received: 1, applied: 0, held: 1 })

    await messageSentAs('SMearly1')
    expect(
      await applyEarlyReports(h.db, h.now(), {
        carrier: 'twilio',
        carrierMessageIds: ['SMearly1'],
      }),
    ).toBe(1)
    const message = await h.db
      .selectFrom('messages')
      .select(['status', 'delivered_at'])
      .executeTakeFirstOrThrow()
    expect(message.status).toBe('delivered')
    expect(Number(message.delivered_at)).toBe(at)
    expect(await h.db.selectFrom('early_reports').selectAll().execute()).toEqual([])
  })

  it('holds one report per id and status: replays and retries keep nothing more', async () => {
    const at = h.now()
    for (let i = 0; i < 5; i++) {
      const result = await applyReports(h.db, 'twilio', [report('SMreplayed', at + i)], at + i)
      expect(result).toEqual({ received: 1, applied: 0, held: 1 })
    }
    const sent = { carrierMessageId: 'SMreplayed', status: 'sent' as const, at }
    await applyReports(h.db, 'twilio', [sent, sent], at)
    await applyReports(h.db, 'infobip', [report('SMreplayed', at)], at)
    const held = await h.db
      .selectFrom('early_reports')
      .select(['carrier', 'report'])
      .where('carrier_message_id', '=', 'SMreplayed')
      .orderBy('carrier')
      .execute()
    expect(held.map((row) => [row.carrier, JSON.parse(row.report).status]).sort()).toEqual([
      ['infobip', 'delivered'],
      ['twilio', 'delivered'],
      ['twilio', 'sent'],
    ])
    // The held delivered report still applies once the message is stored.
    await messageSentAs('SMreplayed')
    expect(await applyEarlyReports(h.db, h.now())).toBeGreaterThanOrEqual(1)
  })

  it('drops held reports that never find their message, after an hour', async () => {
    const at = h.now()
    await applyReports(h.db, 'twilio', [report('SMnever', at)], at)
    expect(await applyEarlyReports(h.db, at + 60_000)).toBe(0)
    expect(await h.db.selectFrom('early_reports').select('id').execute()).toHaveLength(1)
    expect(await applyEarlyReports(h.db, at + EARLY_REPORT_TTL_MS + 1)).toBe(0)
    expect(await h.db.selectFrom('early_reports').select('id').execute()).toEqual([])
  })

  it('the housekeeping sweep applies a held report whose message appeared meanwhile', async () => {
    const at = h.now()
    await applyReports(h.db, 'twilio', [report('SMrace', at)], at)
    await messageSentAs('SMrace')
    expect(await applyEarlyReports(h.db, h.now())).toBe(1)
  })

  it('applies receipts arriving together on a carrier connection in one transaction', async () => {
    await messageSentAs('SMtogether1')
    await messageSentAs('SMtogether2')
    const at = h.now()
    // The intake's own handle on the same database: the harness's other writers (the fraud
    // counters' flush every 0.1 s) open transactions on h.db meanwhile, and must not count.
    const db = h.db.withoutPlugins()
    const take = reportIntake(db, h.now)
    const transactions = vi.spyOn(db, 'transaction')
    await Promise.all([
      take('twilio', report('SMtogether1', at)),
      take('twilio', report('SMtogether2', at)),
      // Not stored yet: held, in the same transaction.
      take('twilio', report('SMtogether3', at)),
    ])
    // One for the three, where each applied report took its own before.
    expect(transactions).toHaveBeenCalledTimes(1)
    transactions.mockRestore()
    const statuses = await h.db.selectFrom('messages').select('status').execute()
    expect(statuses.map((m) => m.status)).toEqual(['delivered', 'delivered'])
    const held = await h.db.selectFrom('early_reports').select('carrier_message_id').execute()
    expect(held).toEqual([{ carrier_message_id: 'SMtogether3' }])
  })
})
