import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHarness, type Harness, ORIGIN } from '../../testing/harness'
import { countingTransactions, DIALECTS } from '../../testing/storage'
import { CountersUnavailableError } from '../fraud/counters'
import { createApiKey } from '../projects'
import { MAX_CHECKS } from './service'

const PHONE = '+447400123123'

for (const dialect of DIALECTS) {
  describe(`verifications (${dialect})`, () => {
    let h: Harness
    let pk: string
    let sk: string
    let projectId: string

    beforeAll(async () => {
      h = await createHarness(dialect)
      const created = await h.project({ name: 'Northwind' })
      pk = created.publishableKey
      sk = created.secretKey
      projectId = created.project.id
    })
    afterAll(() => h.dispose())

    const start = (body: unknown = { phone: PHONE, consent: { accepted: true } }, headers = {}) =>
      h.call('POST', '/v1/verifications', { key: pk, body, headers })

    async function startAndReadCode(phone = PHONE) {
      const started = await start({ phone, consent: { accepted: true, version: 'tos-2026' } })
      expect(started.status).toBe(201)
      const [code] = await h.inbox(sk, phone)
      return { id: started.json.id as string, code: code! }
    }

    it('starts a verification and texts a 6-digit code through the sandbox', async () => {
      const started = await start()
      expect(started.status).toBe(201)
      expect(started.json).toMatchObject({
        status: 'pending',
        to: '+44 ••••••••23',
        attemptsLeft: 5,
        codeLength: 6,
      })
      expect(started.json.id).toMatch(/^ver_/)
      expect(Date.parse(started.json.expiresAt) - h.now()).toBe(10 * 60_000)
      expect(Date.parse(started.json.resendAfter) - h.now()).toBe(30_000)
      expect(started.headers.get('Access-Control-Allow-Origin')).toBe(ORIGIN)

      await h.dispatcher.drain()
      const { json: inbox } = await h.call(
        'GET',
        `/v1/sandbox/messages?to=${encodeURIComponent(PHONE)}`,
        { key: sk },
      )
      expect(inbox[0].body).toMatch(/^\d{6} is your Northwind verification code/)
      expect(inbox[0].body).toMatch(/\n@shop\.example #\d{6}$/)
    })

    it('never stores the code in clear', async () => {
      const { id, code } = await startAndReadCode()
      const row = await h.db
        .selectFrom('verifications')
        .selectAll()
        .where('id', '=', id)
        .executeTakeFirstOrThrow()
      expect(JSON.stringify(row)).not.toContain(code)
      expect(row.code_hmac).toMatch(/^[0-9a-f]{64}$/)
      const messages = await h.db
        .selectFrom('messages')
        .selectAll()
        .where('verification_id', '=', id)
        .execute()
      expect(messages).toHaveLength(1)
      expect(messages[0]!.body_encrypted).toBeNull()
      expect(messages[0]!.status).toBe('delivered')
    })

    it('approves the right code once and signs a token', async () => {
      const { id, code } = await startAndReadCode()
      const checked = await h.call('POST', `/v1/verifications/${id}/check`, {
        key: pk,
        body: { code },
      })
      expect(checked.status).toBe(200)
      expect(checked.json).toMatchObject({ id, status: 'approved' })
      expect(checked.json.token.split('.')).toHaveLength(3)
      const again = await h.call('POST', `/v1/verifications/${id}/check`, {
        key: pk,
        body: { code },
      })
      expect(again.status).toBe(409)
      expect(again.json.error.code).toBe('verification_not_pending')
    })

    it('approves with no transaction on PostgreSQL while no webhook endpoint wants the event', async () => {
      const { id, code } = await startAndReadCode('+447400123188')
      await h.dispatcher.drain()
      const db = h.db
      // Only the check's own: the start's counters are flushed by a timer meanwhile.
      const { transactions } = await countingTransactions(
        db,
        async () => {
          const checked = await h.call('POST', `/v1/verifications/${id}/check`, {
            key: pk,
            body: { code },
          })
          expect(checked.json).toMatchObject({ id, status: 'approved' })
        },
        { ownOnly: true },
      )
      const row = await db
        .selectFrom('verifications')
        .select(['status', 'approved_at'])
        .where('id', '=', id)
        .executeTakeFirstOrThrow()
      expect(row).toEqual({ status: 'approved', approved_at: expect.any(Number) })
      // One statement on PostgreSQL; SQLite shares the commits of the moment instead.
      if (dialect === 'postgres') expect(transactions).toBe(0)
      else expect(transactions).toBeGreaterThan(0)
    })

    it('accepts a pasted code with spaces and dashes', async () => {
      const { id, code } = await startAndReadCode()
      const pasted = `${code.slice(0, 3)} - ${code.slice(3)}`
      const checked = await h.call('POST', `/v1/verifications/${id}/check`, {
        key: pk,
        body: { code: pasted },
      })
      expect(checked.status).toBe(200)
    })

    it('takes a number and a code typed in another script, with invisible marks', async () => {
      // What a shopper's keyboard gives: full-width or Arabic-Indic digits, a full-width plus.
      const started = await start({
        phone: '＋４４７４００１２３１９０',
        consent: { accepted: true },
      })
      expect(started.status).toBe(201)
      expect(started.json.to).toBe('+44 ••••••••90')
      const [code] = await h.inbox(sk, '+447400123190')
      const arabic = [...code!].map((d) => String.fromCodePoint(0x660 + Number(d))).join('')
      const pasted = `\u2068${arabic.slice(0, 3)}\u200b\u2013${arabic.slice(3)}\u2069`
      const checked = await h.call('POST', `/v1/verifications/${started.json.id}/check`, {
        key: pk,
        body: { code: pasted },
      })
      expect(checked.status).toBe(200)
      expect(checked.json.status).toBe('approved')
    })

    it('counts wrong codes down and locks after five', async () => {
      const { id, code } = await startAndReadCode()
      const wrong = code === '000000' ? '111111' : '000000'
      for (let left = MAX_CHECKS - 1; left >= 1; left--) {
        const res = await h.call('POST', `/v1/verifications/${id}/check`, {
          key: pk,
          body: { code: wrong },
        })
        expect(res.status).toBe(400)
        expect(res.json.error).toMatchObject({ code: 'incorrect_code', attemptsLeft: left })
      }
      const fifth = await h.call('POST', `/v1/verifications/${id}/check`, {
        key: pk,
        body: { code: wrong },
      })
      expect(fifth.status).toBe(429)
      // Waiting never brings this verification another check: the answer says to start a new
      // one, and Retry-After is when this one's code would have expired (not 1 s to hammer in).
      expect(fifth.json.error).toMatchObject({
        code: 'max_attempts_reached',
        attemptsLeft: 0,
        retry: 'new_verification',
      })
      expect(fifth.headers.get('Retry-After')).toBe(String(10 * 60))
      h.advance(4 * 60_000)
      const right = await h.call('POST', `/v1/verifications/${id}/check`, {
        key: pk,
        body: { code },
      })
      expect(right.status).toBe(429)
      expect(right.json.error).toMatchObject({
        code: 'max_attempts_reached',
        retry: 'new_verification',
      })
      expect(right.headers.get('Retry-After')).toBe(String(6 * 60))
      // A new verification of the number can be started at once, and takes its code.
      const again = await startAndReadCode()
      const approved = await h.call('POST', `/v1/verifications/${again.id}/check`, {
        key: pk,
        body: { code: again.code },
      })
      expect(approved.status).toBe(200)
    })

    it('never compares more than five codes, even when guesses race', async () => {
      const { id } = await startAndReadCode()
      const guesses = Array.from({ length: 30 }, (_, i) => String(100000 + i))
      const results = await Promise.all(
        guesses.map((code) =>
          h.call('POST', `/v1/verifications/${id}/check`, { key: pk, body: { code } }),
        ),
      )
      const compared = results.filter(
        (r) => r.json.error?.code === 'incorrect_code' || r.status === 200,
      )
      expect(
        compared.length + results.filter((r) => r.json.error?.attemptsLeft === 0).length,
      ).toBeLessThanOrEqual(MAX_CHECKS)
      const row = await h.db
        .selectFrom('verifications')
        .select('attempts')
        .where('id', '=', id)
        .executeTakeFirstOrThrow()
      expect(row.attempts).toBe(MAX_CHECKS)
    })

    it('gives the check back when the fraud counters cannot answer, and tells a wrong code it could not count', async () => {
      const { id, code } = await startAndReadCode()
      const wrong = code === '000000' ? '111111' : '000000'
      const attempts = async () =>
        (
          await h.db
            .selectFrom('verifications')
            .select('attempts')
            .where('id', '=', id)
            .executeTakeFirstOrThrow()
        ).attempts
      const { wrongCodes, countWrongCode } = h.fraud
      try {
        // Away before the code is judged: 503 (never a guess let through), and no check used.
        h.fraud.wrongCodes = () => Promise.reject(new CountersUnavailableError('closed'))
        for (let i = 0; i < MAX_CHECKS + 1; i++) {
          const res = await h.call('POST', `/v1/verifications/${id}/check`, {
            key: pk,
            body: { code: i % 2 ? code : wrong },
          })
          expect(res.status).toBe(503)
          expect(res.json.error.code).toBe('service_unavailable')
          expect(res.headers.get('Retry-After')).toBe('1')
        }
        expect(await attempts()).toBe(0)
        // Away only once the wrong code was judged: told so, and that check is used.
        h.fraud.wrongCodes = wrongCodes
        h.fraud.countWrongCode = () => Promise.resolve(undefined)
        const res = await h.call('POST', `/v1/verifications/${id}/check`, {
          key: pk,
          body: { code: wrong },
        })
        expect(res.status).toBe(400)
        expect(res.json.error).toMatchObject({ code: 'incorrect_code', attemptsLeft: 4 })
        expect(await attempts()).toBe(1)
      } finally {
        h.fraud.wrongCodes = wrongCodes
        h.fraud.countWrongCode = countWrongCode
      }
      const right = await h.call('POST', `/v1/verifications/${id}/check`, {
        key: pk,
        body: { code },
      })
      expect(right.status).toBe(200)
      expect(right.json.status).toBe('approved')
    })

    it('refuses an expired code with 410', async () => {
      const { id, code } = await startAndReadCode()
      h.advance(10 * 60_000 + 1)
      const res = await h.call('POST', `/v1/verifications/${id}/check`, { key: pk, body: { code } })
      expect(res.status).toBe(410)
      expect(res.json.error.code).toBe('verification_expired')
      const details = await h.call('GET', `/v1/verifications/${id}`, { key: sk, origin: null })
      expect(details.json.status).toBe('expired')
    })

    it('backs resends off (30 s, then growing), replaces the code, and stops at five sends', async () => {
      const { id, code: first } = await startAndReadCode('+447400123555')
      const early = await h.call('POST', `/v1/verifications/${id}/resend`, { key: pk })
      expect(early.status).toBe(429)
      expect(early.json.error.code).toBe('rate_limited')
      expect(Number(early.headers.get('Retry-After'))).toBe(30)

      const waits = [30_000, 60_000, 120_000, 240_000]
      let latest = first
      for (const [i, wait] of waits.entries()) {
        h.advance(wait)
        const res = await h.call('POST', `/v1/verifications/${id}/resend`, { key: pk })
        expect(res.status, `resend ${i + 1}`).toBe(200)
        expect(res.json.attemptsLeft).toBe(5)
        const next = waits[i + 1]
        if (next) expect(Date.parse(res.json.resendAfter) - h.now()).toBe(next)
        // The fifth send is the last: no resend is taken before its code expires.
        else expect(res.json.resendAfter).toBe(res.json.expiresAt)
        const codes = await h.inbox(sk, '+447400123555')
        expect(codes).toHaveLength(i + 2)
        latest = codes[0]!
      }
      h.advance(480_000 - 1)
      const sixth = await h.call('POST', `/v1/verifications/${id}/resend`, { key: pk })
      expect(sixth.status).toBe(429)
      expect(sixth.json.error.code).toBe('max_sends_reached')

      if (latest !== first) {
        const old = await h.call('POST', `/v1/verifications/${id}/check`, {
          key: pk,
          body: { code: first },
        })
        expect(old.json.error.code).toBe('incorrect_code')
      }
      const ok = await h.call('POST', `/v1/verifications/${id}/check`, {
        key: pk,
        body: { code: latest },
      })
      expect(ok.status).toBe(200)
    })

    it("answers resends that lose a race with the winner's wait, not a 1 s retry", async () => {
      const { id } = await startAndReadCode('+447400123557')
      h.advance(30_000)
      const resends = await Promise.all(
        Array.from({ length: 4 }, () =>
          h.call('POST', `/v1/verifications/${id}/resend`, { key: pk }),
        ),
      )
      const won = resends.filter((res) => res.status === 200)
      expect(won).toHaveLength(1)
      for (const lost of resends.filter((res) => res.status !== 200)) {
        expect(lost.status).toBe(429)
        expect(lost.json.error).toMatchObject({
          code: 'rate_limited',
          resendAfter: won[0]!.json.resendAfter,
        })
        expect(Number(lost.headers.get('Retry-After'))).toBe(60)
      }
      expect(await h.inbox(sk, '+447400123557')).toHaveLength(2)
    })

    it('words a resent code in the language the resend names, and keeps it for later ones', async () => {
      const phone = '+447400123556'
      const texts = async () => {
        await h.dispatcher.drain()
        const { json } = await h.call(
          'GET',
          `/v1/sandbox/messages?to=${encodeURIComponent(phone)}`,
          { key: sk },
        )
        return (json as { body: string }[]).map((m) => m.body)
      }
      const resend = (body?: unknown, headers: Record<string, string> = {}) =>
        h.call('POST', `/v1/verifications/${id}/resend`, { key: pk, body, headers })
      const started = await start({ phone, consent: { accepted: true }, locale: 'fr' })
      const id = started.json.id as string
      expect((await texts())[0]).toMatch(/^\d{6} est votre code de vérification Northwind/)

      // A bad body changes nothing: no text, no send counted, the back-off as it was.
      h.advance(30_000)
      for (const [body, contentType, status, message] of [
        [{ locale: 'not a tag!' }, 'application/json', 400, 'locale must be BCP 47'],
        [{ locale: 5 }, 'application/json', 400, 'locale must be a string, not 5'],
        [{ language: 'de' }, 'application/json', 400, 'language is not a field of this request'],
        ['{"locale":', 'application/json', 400, 'body is not JSON'],
        ['locale=de', 'application/x-www-form-urlencoded', 415, undefined],
      ] as const) {
        const refused = await resend(body, { 'Content-Type': contentType })
        expect(refused.status, JSON.stringify(body)).toBe(status)
        if (message) expect(refused.json.error.message).toBe(message)
      }
      expect(await texts()).toHaveLength(1)

      const de = await resend({ locale: 'de' })
      expect(de.status).toBe(200)
      expect(Date.parse(de.json.resendAfter) - h.now()).toBe(60_000)
      const [second] = await texts()
      expect(second).toMatch(/^\d{6} ist Ihr Bestätigungscode für Northwind/)
      const details = await h.call('GET', `/v1/verifications/${id}`, { key: sk })
      expect(details.json).toMatchObject({ locale: 'de', sends: 2 })

      // No body, as before: in the language the shopper last chose.
      h.advance(60_000)
      expect((await resend()).status).toBe(200)
      expect((await texts())[0]).toMatch(/^\d{6} ist Ihr Bestätigungscode/)
      // An empty body with a JSON type (a client that sends it on every request) is none too.
      h.advance(120_000)
      expect((await resend('', { 'Content-Type': 'application/json' })).status).toBe(200)
      expect((await texts())[0]).toMatch(/^\d{6} ist Ihr Bestätigungscode/)
      // A language with no wording: English, as for a start.
      h.advance(240_000)
      expect((await resend({ locale: 'sw-KE' })).status).toBe(200)
      const all = await texts()
      expect(all[0]).toMatch(/^(\d{6}) is your Northwind verification code/)
      expect(all).toHaveLength(5)
      const latest = /^(\d{6})/.exec(all[0]!)![1]
      const checked = await h.call('POST', `/v1/verifications/${id}/check`, {
        key: pk,
        body: { code: latest },
      })
      expect(checked.status).toBe(200)
    })

    it('answers the same Idempotency-Key and body with the same verification and one SMS', async () => {
      const phone = '+447400123777'
      const body = { phone, consent: { accepted: true } }
      const headers = { 'Idempotency-Key': 'idem-1' }
      const results = await Promise.all(Array.from({ length: 8 }, () => start(body, headers)))
      const ids = new Set(results.map((r) => r.json.id))
      expect(ids.size).toBe(1)
      expect(results.every((r) => r.status === 201)).toBe(true)
      expect(results.filter((r) => r.headers.get('Idempotent-Replayed') === 'true')).toHaveLength(7)
      expect(await h.inbox(sk, phone)).toHaveLength(1)

      const different = await start(
        { phone: '+447400123778', consent: { accepted: true } },
        headers,
      )
      expect(different.status).toBe(409)
      expect(different.json.error.code).toBe('idempotency_conflict')
    })

    it('never replays a test-mode start to a live key that reuses its Idempotency-Key', async () => {
      // A store going live with the same keys (a cart id) must not get a sandbox verification,
      // whose code is readable by anyone holding the page's pk_test_.
      const pkLive = await createApiKey(h.db, projectId, 'publishable', 'live')
      const body = { phone: '+447400123779', consent: { accepted: true } }
      const headers = { 'Idempotency-Key': 'cart-42' }
      const asTest = await start(body, headers)
      expect(asTest.status).toBe(201)
      const asLive = await h.call('POST', '/v1/verifications', { key: pkLive, body, headers })
      expect(asLive.headers.get('Idempotent-Replayed')).toBeNull()
      expect(asLive.json.id).not.toBe(asTest.json.id)
      expect(asLive.status).toBe(409)
      expect(asLive.json.error.code).toBe('idempotency_conflict')
    })

    it('reads national numbers with a country, and 00-prefixed ones', async () => {
      const national = await start({
        phone: '07400 123124',
        country: 'gb',
        consent: { accepted: true },
      })
      expect(national.status).toBe(201)
      const zeros = await start({ phone: '0044 7400 123125', consent: { accepted: true } })
      expect(zeros.status).toBe(201)
      const details = await h.call('GET', `/v1/verifications/${national.json.id}`, {
        key: sk,
        origin: null,
      })
      expect(details.json).toMatchObject({
        phone: '+447400123124',
        country: 'GB',
        status: 'pending',
      })
      expect(details.json.messages[0]).toMatchObject({ status: 'queued' })
    })

    it.each([
      [{ phone: 'not a number', consent: { accepted: true } }, 400, 'invalid_phone'],
      [{ phone: '7700900123', consent: { accepted: true } }, 400, 'invalid_phone'],
      [{ phone: '+4477009', consent: { accepted: true } }, 400, 'invalid_phone'],
      [{ phone: PHONE }, 400, 'consent_required'],
      [{ phone: PHONE, consent: { accepted: false } }, 400, 'consent_required'],
      [
        { phone: PHONE, consent: { accepted: true }, channel: 'carrier-pigeon' },
        400,
        'invalid_request',
      ],
      [{ phone: PHONE, consent: { accepted: true }, extra: 1 }, 400, 'invalid_request'],
      [{ phone: '+19005550123', consent: { accepted: true } }, 422, 'unsupported_number_type'],
      [{ phone: '+442079460000', consent: { accepted: true } }, 422, 'unsupported_number_type'],
      ['{not json', 400, 'invalid_request'],
      [[1, 2], 400, 'invalid_request'],
    ])('refuses %j with %i %s', async (body, status, code) => {
      const before = await h.db
        .selectFrom('verifications')
        .select(h.db.fn.countAll().as('n'))
        .executeTakeFirstOrThrow()
      const res = await start(body)
      expect(res.status).toBe(status)
      expect(res.json.error.code).toBe(code)
      expect(res.json.error.message).toEqual(expect.any(String))
      const after = await h.db
        .selectFrom('verifications')
        .select(h.db.fn.countAll().as('n'))
        .executeTakeFirstOrThrow()
      expect(Number(after.n)).toBe(Number(before.n))
    })

    it('refuses a number with an extension, saying a text cannot reach one', async () => {
      const stored = () => h.db.selectFrom('messages').select('id').execute()
      const before = await stored()
      for (const [phone, country] of [
        ['+1 650 253 0000 ext. 123', undefined],
        ['+16502530000;ext=123', undefined],
        ['+44 7400 123123 x123', undefined],
        ['07400 123123 ext 5', 'GB'],
      ]) {
        const res = await start({ phone, country, consent: { accepted: true } })
        expect([phone, res.status]).toEqual([phone, 400])
        expect(res.json.error).toEqual({
          code: 'invalid_phone',
          message: 'Text messages cannot reach a phone extension: enter the number without it.',
          reason: 'extension',
        })
      }
      expect(await stored()).toEqual(before)
    })

    it('refuses a country that is none (UK, XX), naming it, and sends nothing', async () => {
      const stored = () => h.db.selectFrom('messages').select('id').execute()
      const before = await stored()
      for (const [phone, country, hint] of [
        ['07400 123123', 'UK', 'the United Kingdom is GB'],
        [PHONE, 'XX', 'such as GB'],
        [PHONE, 'uk', 'the United Kingdom is GB'],
      ]) {
        const res = await start({ phone, country, consent: { accepted: true } })
        expect([country, res.status]).toEqual([country, 400])
        expect(res.json.error).toMatchObject({
          code: 'invalid_request',
          message: `"${country}" is not an ISO 3166-1 alpha-2 country code (${hint})`,
          issues: [{ path: 'country' }],
        })
      }
      expect(await stored()).toEqual(before)
      // Any case of a real one still does.
      const res = await start({ phone: '07400 123987', country: 'gb', consent: { accepted: true } })
      expect(res.status).toBe(201)
    })

    it.each([
      [{ marketing: 'yes' }, 'consent.marketing', /consent\.marketing must be true or false/],
      [{ version: 42 }, 'consent.version', /./],
    ])(
      'answers a wrongly typed consent field %j with a 400 naming it',
      async (extra, path, message) => {
        const res = await start({ phone: PHONE, consent: { accepted: true, ...extra } })
        expect(res.status).toBe(400)
        expect(res.json.error.code).toBe('invalid_request')
        expect(res.json.error.message).toMatch(message)
        expect(res.json.error.issues[0]).toMatchObject({ path })
      },
    )

    it.each([
      [{ consent: { accepted: true } }, 'phone', 'phone is required'],
      [
        { phone: PHONE, consent: { accepted: true }, extra: 1 },
        'extra',
        'extra is not a field of this request',
      ],
      [
        { phone: PHONE, consent: { accepted: true }, locale: 5 },
        'locale',
        'locale must be a string, not 5',
      ],
      [
        { phone: PHONE, consent: { accepted: true }, captcha: { token: '' } },
        'captcha.token',
        'captcha.token must be at least 1 character',
      ],
    ])('says in words what is wrong with %j, naming the field', async (body, path, message) => {
      const res = await start(body)
      expect(res.status).toBe(400)
      expect(res.json.error.message).toBe(message)
      expect(res.json.error.issues[0]).toEqual({ path, message })
    })

    it('names the header or the query parameter at fault in the message', async () => {
      const badKey = await start(undefined, { 'Idempotency-Key': 'k'.repeat(256) })
      expect(badKey.status).toBe(400)
      expect(badKey.json.error.message).toMatch(/Idempotency-Key|1 to 255/)
      const sandbox = await h.call('GET', '/v1/sandbox/messages', { key: pk })
      expect(sandbox.status).toBe(400)
      expect(sandbox.json.error.message).toBe('to is required')
      const control = await h.call('GET', '/v1/sandbox/messages?to=%2B447400123123%00', { key: pk })
      expect(control.status).toBe(400)
      expect(control.json.error.message).toMatch(/control characters/)
    })

    it('wants JSON and a small body', async () => {
      const form = await h.call('POST', '/v1/verifications', {
        key: pk,
        body: 'phone=1',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      })
      expect(form.status).toBe(415)
      const huge = await start({
        phone: PHONE,
        consent: { accepted: true, version: 'x'.repeat(40_000) },
      })
      expect(huge.status).toBe(413)
      expect(huge.json.error.code).toBe('payload_too_large')
      // Refused before the key is read, and still readable by the page (not a CORS failure).
      expect(huge.headers.get('Access-Control-Allow-Origin')).toBe(ORIGIN)
      const control = await h.call('GET', '/v1/sandbox/messages?to=%2B447400123123%00', { key: pk })
      expect(control.status).toBe(400)
      expect(control.headers.get('Access-Control-Allow-Origin')).toBe(ORIGIN)
      // Not from an origin no project allows, and never on a secret-key route.
      const elsewhere = await h.call('POST', '/v1/verifications', {
        key: pk,
        origin: 'https://elsewhere.example',
        body: { phone: PHONE, consent: { accepted: true, version: 'x'.repeat(40_000) } },
      })
      expect(elsewhere.status).toBe(413)
      expect(elsewhere.headers.get('Access-Control-Allow-Origin')).toBeNull()
      const secret = await h.call('POST', '/v1/tokens/redeem', {
        key: sk,
        body: { token: 'x'.repeat(40_000) },
      })
      expect(secret.status).toBe(413)
      expect(secret.headers.get('Access-Control-Allow-Origin')).toBeNull()
    })

    it('answers a right code that lost to a cancel with the verification as it is now', async () => {
      const { id, code } = await startAndReadCode('+447400123561')
      const { wrongCodes } = h.fraud
      try {
        // The store cancels after the check was reserved, before it approves.
        h.fraud.wrongCodes = async (...args) => {
          const canceled = await h.call('POST', `/v1/verifications/${id}/cancel`, {
            key: sk,
            origin: null,
          })
          expect(canceled.json.status).toBe('canceled')
          return wrongCodes(...args)
        }
        const res = await h.call('POST', `/v1/verifications/${id}/check`, {
          key: pk,
          body: { code },
        })
        expect(res.status).toBe(409)
        expect(res.json.error).toMatchObject({
          code: 'verification_not_pending',
          status: 'canceled',
        })
      } finally {
        h.fraud.wrongCodes = wrongCodes
      }
    })

    it('refuses a code of another length without taking one of the five checks', async () => {
      const { id, code } = await startAndReadCode('+447400123559')
      const check = (body: unknown) =>
        h.call('POST', `/v1/verifications/${id}/check`, { key: pk, body })
      for (const wrongLength of ['1234', `${code}0`, `${code}${code}`.slice(0, 10)]) {
        const res = await check({ code: wrongLength })
        expect(res.status, wrongLength).toBe(400)
        expect(res.json.error).toMatchObject({
          code: 'invalid_code_format',
          codeLength: 6,
          message: 'The code is 6 digits.',
        })
      }
      const wrong = await check({ code: code === '000000' ? '111111' : '000000' })
      expect(wrong.json.error).toMatchObject({ code: 'incorrect_code', attemptsLeft: 4 })
      expect((await check({ code })).status).toBe(200)
      // Once approved, any code is answered by the verification's state, whatever its length.
      const after = await check({ code: '1234' })
      expect(after.status).toBe(409)
      expect(after.json.error.code).toBe('verification_not_pending')
    })

    it('reads the sandbox inbox of ?to=+E164 written as DESIGN.md writes it, unencoded', async () => {
      const phone = '+447400123558'
      expect((await start({ phone, consent: { accepted: true } })).status).toBe(201)
      await h.dispatcher.drain()
      for (const query of [
        '+447400123558', // the + arrives as a space
        '%2B447400123558',
        '%2B44%207400%20123558',
        '+44-7400-123558',
        '%E2%80%AA%2B44%C2%A07400%C2%A0123558%E2%80%AC', // as a phone's contacts app copies it
      ]) {
        const inbox = await h.call('GET', `/v1/sandbox/messages?to=${query}`, { key: pk })
        expect(inbox.status, query).toBe(200)
        expect(inbox.json, query).toHaveLength(1)
        expect(inbox.json[0].to).toBe(phone)
      }
      const national = await h.call('GET', '/v1/sandbox/messages?to=07400123558', { key: pk })
      expect(national.status).toBe(400)
      expect(national.json.error.issues[0].message).toBe('to must be an E.164 number')
    })

    it('keeps to the countries a project allows', async () => {
      const fr = await h.project({ name: 'FR only', countries: ['FR'] })
      const res = await h.call('POST', '/v1/verifications', {
        key: fr.publishableKey,
        body: { phone: PHONE, consent: { accepted: true } },
      })
      expect(res.status).toBe(422)
      expect(res.json.error).toMatchObject({ code: 'country_not_allowed', country: 'GB' })
    })

    it('checks keys, key kinds and origins', async () => {
      const body = { phone: PHONE, consent: { accepted: true } }
      const none = await h.call('POST', '/v1/verifications', { body })
      expect(none.status).toBe(401)
      expect(none.json.error.code).toBe('invalid_api_key')
      const unknown = await h.call('POST', '/v1/verifications', {
        key: `pk_test_${'x'.repeat(32)}`,
        body,
      })
      expect(unknown.status).toBe(401)
      // The store's own server may start with its secret key, without an Origin, and its
      // answer is never readable by a browser.
      const secret = await h.call('POST', '/v1/verifications', { key: sk, body, origin: null })
      expect(secret.status).toBe(201)
      expect(secret.headers.get('Access-Control-Allow-Origin')).toBeNull()
      const foreign = await h.call('POST', '/v1/verifications', {
        key: pk,
        body,
        origin: 'https://evil.example',
      })
      expect(foreign.status).toBe(403)
      expect(foreign.json.error.code).toBe('origin_not_allowed')
      const noOrigin = await h.call('POST', '/v1/verifications', { key: pk, body, origin: null })
      expect(noOrigin.status).toBe(403)
      const { id } = await startAndReadCode()
      const publishableRead = await h.call('GET', `/v1/verifications/${id}`, { key: pk })
      expect(publishableRead.status).toBe(403)
      const redeemWithPk = await h.call('POST', '/v1/tokens/redeem', {
        key: pk,
        body: { token: 'x' },
      })
      expect(redeemWithPk.status).toBe(403)
    })

    it('answers CORS preflights and limits reads to the key’s origins', async () => {
      const res = await h.app.request('http://textgate.test/v1/verifications', {
        method: 'OPTIONS',
        headers: { Origin: ORIGIN, 'Access-Control-Request-Method': 'POST' },
      })
      expect(res.status).toBe(204)
      expect(res.headers.get('Access-Control-Allow-Headers')).toContain('Idempotency-Key')
      const ok = await start()
      expect(ok.headers.get('Access-Control-Allow-Origin')).toBe(ORIGIN)
    })

    it('keeps each project’s verifications and inbox to itself', async () => {
      const other = await h.project({ name: 'Other' })
      const { id } = await startAndReadCode()
      const read = await h.call('GET', `/v1/verifications/${id}`, {
        key: other.secretKey,
        origin: null,
      })
      expect(read.status).toBe(404)
      const check = await h.call('POST', `/v1/verifications/${id}/check`, {
        key: other.publishableKey,
        body: { code: '123456' },
      })
      expect(check.status).toBe(404)
      const inbox = await h.call('GET', `/v1/sandbox/messages?to=${encodeURIComponent(PHONE)}`, {
        key: other.secretKey,
      })
      expect(inbox.json).toEqual([])
    })

    it('redeems a token once, for its own project only', async () => {
      const { id, code } = await startAndReadCode()
      const { json } = await h.call('POST', `/v1/verifications/${id}/check`, {
        key: pk,
        body: { code },
      })
      const other = await h.project({ name: 'Elsewhere' })
      const foreign = await h.call('POST', '/v1/tokens/redeem', {
        key: other.secretKey,
        body: { token: json.token },
      })
      expect(foreign.json).toEqual({ valid: false, reason: 'wrong_project' })
      const first = await h.call('POST', '/v1/tokens/redeem', {
        key: sk,
        body: { token: json.token },
      })
      expect(first.status).toBe(200)
      expect(first.json.valid).toBe(true)
      expect(first.json.claims).toMatchObject({
        aud: `${projectId}:test`,
        mode: 'test',
        sub: id,
        phone_number: PHONE,
        phone_number_verified: true,
        amr: ['sms'],
        consent: { version: 'tos-2026' },
      })
      const second = await h.call('POST', '/v1/tokens/redeem', {
        key: sk,
        body: { token: json.token },
      })
      expect(second.json).toEqual({ valid: false, reason: 'already_redeemed' })
    })

    it('shows the store server each message with its carrier and status', async () => {
      const { id } = await startAndReadCode()
      const { status, json } = await h.call('GET', `/v1/verifications/${id}`, {
        key: sk,
        origin: null,
      })
      expect(status).toBe(200)
      expect(json).toMatchObject({
        id,
        projectId,
        phone: PHONE,
        status: 'pending',
        sends: 1,
        attemptsLeft: 5,
      })
      expect(json.messages).toHaveLength(1)
      expect(json.messages[0]).toMatchObject({ status: 'delivered', carrier: 'sandbox' })
      expect(json.messages[0].carrierMessageId).toMatch(/^sbx_/)
    })

    it('stores the optional marketing opt-in and returns it, never in the token', async () => {
      const read = async (id: string) =>
        (await h.call('GET', `/v1/verifications/${id}`, { key: sk, origin: null })).json
      const optedIn = await start({
        phone: '+447400123901',
        consent: { accepted: true, version: 'tos-2026', marketing: true },
      })
      expect(optedIn.status).toBe(201)
      expect((await read(optedIn.json.id)).consent).toMatchObject({
        version: 'tos-2026',
        marketing: true,
      })
      const optedOut = await start({
        phone: '+447400123902',
        consent: { accepted: true, marketing: false },
      })
      expect((await read(optedOut.json.id)).consent.marketing).toBe(false)
      const unsaid = await start({ phone: '+447400123903', consent: { accepted: true } })
      expect((await read(unsaid.json.id)).consent.marketing).toBe(false)
      const row = await h.db
        .selectFrom('verifications')
        .select(['id', 'consent_marketing'])
        .where('id', 'in', [optedIn.json.id, optedOut.json.id])
        .execute()
      expect(Object.fromEntries(row.map((r) => [r.id, Number(r.consent_marketing)]))).toEqual({
        [optedIn.json.id]: 1,
        [optedOut.json.id]: 0,
      })
      const bad = await start({
        phone: '+447400123904',
        consent: { accepted: true, marketing: 'yes' },
      })
      expect(bad.status).toBe(400)
      // The token's claims stay as DESIGN.md fixes them.
      const [code] = await h.inbox(sk, '+447400123901')
      const checked = await h.call('POST', `/v1/verifications/${optedIn.json.id}/check`, {
        key: pk,
        body: { code },
      })
      const redeemed = await h.call('POST', '/v1/tokens/redeem', {
        key: sk,
        body: { token: checked.json.token },
        origin: null,
      })
      expect(redeemed.json.claims.consent).toEqual({
        version: 'tos-2026',
        at: expect.any(Number),
      })
    })

    it('gives sandbox test numbers that the server accepts', async () => {
      for (const country of ['US', 'GB', 'DE', 'IN', 'BR', 'JP', 'FR', 'CN']) {
        const { status, json } = await h.call(
          'GET',
          `/v1/sandbox/numbers/random?country=${country}`,
          { key: pk },
        )
        expect(status, country).toBe(200)
        const started = await start({ phone: json.phone, consent: { accepted: true } })
        expect(started.status, `${country} ${json.phone}`).toBe(201)
      }
      const bad = await h.call('GET', '/v1/sandbox/numbers/random?country=XYZ', { key: pk })
      expect(bad.status).toBe(400)
      const uk = await h.call('GET', '/v1/sandbox/numbers/random?country=UK', { key: pk })
      expect([uk.status, uk.json.error.message]).toEqual([
        400,
        '"UK" is not an ISO 3166-1 alpha-2 country code (the United Kingdom is GB)',
      ])
    })

    it('answers unknown routes with the JSON error shape', async () => {
      const res = await h.call('GET', '/v1/nothing-here')
      expect(res.status).toBe(404)
      expect(res.json).toEqual({ error: { code: 'not_found', message: expect.any(String) } })
    })
  })
}
