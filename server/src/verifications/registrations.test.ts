import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { startAlibabaFake } from '../../testing/carriers/alibaba'
import { startInfobipFake } from '../../testing/carriers/infobip'
import { createHarness, type Harness } from '../../testing/harness'
import { DIALECT_NOTE, DIALECTS } from '../../testing/storage'
import { alibabaCarrier } from '../carriers/alibaba/index'
import { infobipCarrier } from '../carriers/infobip/index'
import type { CarrierAdapter, OutgoingMessage } from '../carriers/types'
import { createApiKey, getRegistrations, setRegistrations } from '../projects'
import { createRouter } from '../routing/router'
import { parseRoutingConfig } from '../routing/routing-file'
import { RegistrationsError } from '../templates/registrations'

console.info(DIALECT_NOTE)

const accessKeyId = 'LTAI5tEXAMPLEKEYID0000'
const accessKeySecret = 'alibaba-access-key-secret-0123'
const templates = {
  // biome-ignore lint/suspicious/noTemplateCurlyInString: Alibaba's own template syntax
  SMS_154950909: '您的验证码为${code}，${min}分钟内有效。',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: Alibaba's own template syntax
  SMS_154950910: 'Your code is ${code}.',
}
const registrations = {
  signName: '好店',
  alibaba: { templateCode: 'SMS_154950909', params: { code: 'code', min: 'minutes' } },
  indiaDlt: { entityId: '1101456789012345678', templateId: '1107161234567890123' },
  locales: {
    en: {
      signName: 'GoodShop',
      alibaba: { templateCode: 'SMS_154950910', params: { code: 'code' } },
    },
  },
}

/** A free-text carrier behind a router, as a live SMPP or HTTP route would be. */
function routedFreeText() {
  const calls: OutgoingMessage[] = []
  const smsc: CarrierAdapter = {
    id: 'smsc',
    capabilities: { unicode: true, deliveryReports: false, maxParts: 5 },
    async send(message) {
      calls.push(message)
      return { carrierMessageId: `c${calls.length}`, status: 'sent' }
    },
  }
  const config = parseRoutingConfig(
    {
      carriers: [
        { id: 'smsc', type: 'generic', url: 'https://x.example', body: {}, responseIdPath: 'id' },
      ],
      projects: { '*': { rules: [{ routes: [{ carrier: 'smsc' }] }] } },
    },
    'test',
    {},
  )
  return { router: createRouter({ config, adapters: new Map([['smsc', smsc]]) }), calls }
}

for (const dialect of DIALECTS) {
  describe(`SMS registrations of a project (${dialect})`, () => {
    let h: Harness
    afterEach(() => h?.dispose())

    async function liveProject(liveCarrier: CarrierAdapter, regs: unknown = registrations) {
      h = await createHarness(dialect, { liveCarrier })
      const { project } = await h.project({ brand: '好店', registrations: regs })
      return {
        project,
        pk: await createApiKey(h.db, project.id, 'publishable', 'live'),
      }
    }

    async function start(pk: string, phone: string, locale?: string) {
      const started = await h.call('POST', '/v1/verifications', {
        key: pk,
        body: { phone, consent: { accepted: true }, ...(locale ? { locale } : {}) },
      })
      expect(started.status).toBe(201)
      await h.dispatcher.drain()
      return started.json.id as string
    }

    describe('through Alibaba', () => {
      let fake: Awaited<ReturnType<typeof startAlibabaFake>>
      beforeAll(async () => {
        fake = await startAlibabaFake({
          accessKeyId,
          accessKeySecret,
          templates,
          callbackUrl: 'https://verify.example/v1/carriers/alibaba/reports',
        })
      })
      afterAll(() => fake.close())
      const alibaba = () =>
        alibabaCarrier({
          accessKeyId,
          accessKeySecret,
          endpoint: fake.baseUrl,
          signName: 'EntrySign',
          templateCode: 'SMS_1',
        })

      it("sends the project's template and sign name for the locale, with the code that checks", async () => {
        const { pk } = await liveProject(alibaba())
        const id = await start(pk, '+8613800138000', 'zh-CN')
        const sent = fake.sends.at(-1)!
        expect(sent).toMatchObject({
          to: '+8613800138000',
          signName: '好店',
          templateCode: 'SMS_154950909',
          variables: { code: expect.stringMatching(/^\d{6}$/), min: '10' },
        })
        const checked = await h.call('POST', `/v1/verifications/${id}/check`, {
          key: pk,
          body: { code: sent.variables!.code },
        })
        expect(checked.json.status).toBe('approved')

        await start(pk, '+8613800138001', 'en-US')
        expect(fake.sends.at(-1)).toMatchObject({
          signName: 'GoodShop',
          templateCode: 'SMS_154950910',
          variables: { code: expect.stringMatching(/^\d{6}$/) },
        })
      })

      it('keeps no template data once the carrier took the message', async () => {
        const { pk } = await liveProject(alibaba())
        await start(pk, '+8613800138000', 'zh-CN')
        const rows = await h.db
          .selectFrom('messages')
          .select(['status', 'template_encrypted'])
          .execute()
        expect(rows).toEqual([{ status: 'sent', template_encrypted: null }])
      })

      it('stores template data for a live text until it is sent, and none for a test-mode text (the sandbox sends bodies)', async () => {
        const { project, pk } = await liveProject(alibaba())
        const testKey = await createApiKey(h.db, project.id, 'publishable', 'test')
        const queued = async (key: string, phone: string) => {
          const started = await h.call('POST', '/v1/verifications', {
            key,
            body: { phone, consent: { accepted: true }, locale: 'zh-CN' },
          })
          expect(started.status).toBe(201)
          return h.db
            .selectFrom('messages')
            .select(['mode', 'status', 'template_encrypted'])
            .where('verification_id', '=', started.json.id)
            .executeTakeFirstOrThrow()
        }
        expect(await queued(pk, '+8613800138002')).toEqual({
          mode: 'live',
          status: 'queued',
          template_encrypted: expect.stringMatching(/^v1\./),
        })
        expect(await queued(testKey, '+8613800138003')).toEqual({
          mode: 'test',
          status: 'queued',
          template_encrypted: null,
        })
        await h.dispatcher.drain()
        expect(fake.sends.at(-1)).toMatchObject({
          to: '+8613800138002',
          templateCode: 'SMS_154950909',
        })
      })
    })

    it('passes the DLT ids of a +91 text to Infobip', async () => {
      const fake = await startInfobipFake({ apiKey: 'k', notifyUrl: 'https://verify.example/r' })
      try {
        const { pk } = await liveProject(
          infobipCarrier({ baseUrl: fake.baseUrl, apiKey: 'k', from: 'SHOPIN' }),
        )
        await start(pk, '+919876543210', 'en')
        expect(fake.sends.at(-1)).toMatchObject({
          to: '+919876543210',
          dlt: { entityId: '1101456789012345678', templateId: '1107161234567890123' },
        })
      } finally {
        await fake.close()
      }
    })

    it('signs free texts to +86 with 【signName】, and fails them without one', async () => {
      const signed = routedFreeText()
      const { pk } = await liveProject(signed.router)
      await start(pk, '+8613800138000', 'zh-CN')
      expect(signed.calls.at(-1)?.body).toMatch(/^【好店】\d{6} 是您的好店验证码/)
      await h.dispose()

      const unsigned = routedFreeText()
      const second = await liveProject(unsigned.router, { alibaba: { templateCode: 'SMS_1' } })
      await start(second.pk, '+8613800138000', 'zh-CN')
      expect(unsigned.calls).toHaveLength(0)
      const message = await h.db
        .selectFrom('messages')
        .select(['status', 'error'])
        .executeTakeFirstOrThrow()
      expect(message.status).toBe('failed')
      expect(message.error).toMatch(/mainland China \(\+86\).*【signature】/)
    })

    it('stores, replaces and removes registrations, refusing bad ones whole', async () => {
      h = await createHarness(dialect)
      const { project } = await h.project()
      expect(await getRegistrations(h.db, project.id)).toBeNull()
      expect(await setRegistrations(h.db, project.id, registrations)).toBe(true)
      expect(await getRegistrations(h.db, project.id)).toEqual(registrations)
      await expect(
        setRegistrations(h.db, project.id, { signName: '', indiaDlt: { templateId: 'x' } }),
      ).rejects.toThrow(RegistrationsError)
      expect(await getRegistrations(h.db, project.id)).toEqual(registrations)
      expect(await setRegistrations(h.db, project.id, null)).toBe(true)
      expect(await getRegistrations(h.db, project.id)).toBeNull()
      expect(await setRegistrations(h.db, 'prj_missing', registrations)).toBe(false)
    })
  })
}
