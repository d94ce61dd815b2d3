/**
 * The shared carrier conformance suite, run against the SMPP adapter bound to a real SMPP peer
 * on 127.0.0.1 (the fake SMSC), once for each receipt form: TLV and text, and once more over TLS
 * (TLV receipts), with a throwaway CA made for the run.
 */
import {
  carrierConformance,
  type FakeFailure,
  type PushingCarrierFake,
} from '../../../testing/carrier-conformance.case'
import {
  type FakeSmsc,
  makeTestPki,
  type SmscFailure,
  startFakeSmsc,
  type TestPki,
} from '../../../testing/carriers/smpp'
import { smppCarrier } from './index'

const TIMEOUT_MS = 300
/** Ordinary sends get a generous budget: a loaded CI machine must not make them time out. */
const SEND_TIMEOUT_MS = 10_000
const THROTTLE_RETRY_AFTER_MS = 1_500

const SMSC_FAILURES: Record<FakeFailure['kind'], SmscFailure> = {
  server_error: 'system_error',
  rate_limited: 'throttled',
  hang: 'hang',
}

/** The fake SMSC as the conformance suite sees a carrier fake: receipts are pushed as deliver_sm. */
function conformanceView(smsc: FakeSmsc, form: 'tlv' | 'text'): PushingCarrierFake {
  return {
    baseUrl: `smpp://${smsc.host}:${smsc.port}`,
    get sends() {
      return smsc.reassembled().map(({ to, text, dataCoding }) => ({
        to,
        text,
        unicode: dataCoding === 8,
      }))
    },
    failNext(failure) {
      smsc.failNext(SMSC_FAILURES[failure.kind])
    },
    invalidNumber: smsc.options.invalidNumber,
    async pushReport(carrierMessageId, status, options = {}) {
      await smsc.deliverReceipt(carrierMessageId, status, { ...options, form })
      return true
    },
    close: () => smsc.close(),
  }
}

let pki: TestPki | undefined

for (const [form, overTls] of [
  ['tlv', false],
  ['text', false],
  ['tlv', true],
] as const) {
  carrierConformance(`smpp (${form} receipts${overTls ? ', over TLS' : ''})`, async () => {
    if (overTls) pki ??= makeTestPki()
    // Receipts only when the suite pushes one, so that none arrives unasked.
    const smsc = await startFakeSmsc({
      receipts: 'none',
      tls: overTls ? pki?.server : undefined,
    })
    const common = {
      tls: overTls ? { ca: pki?.ca } : undefined,
      id: 'smsc-conf',
      host: smsc.host,
      port: smsc.port,
      systemId: smsc.options.systemId,
      password: smsc.options.password,
      sourceAddr: 'Shop',
      throttleRetryAfterMs: THROTTLE_RETRY_AFTER_MS,
      reconnectBaseMs: 20,
      reconnectMaxMs: 100,
    }
    return {
      fake: conformanceView(smsc, form),
      adapter: smppCarrier({ ...common, responseTimeoutMs: SEND_TIMEOUT_MS }),
      timeoutAdapter: smppCarrier({ ...common, responseTimeoutMs: TIMEOUT_MS }),
      badCredentials: smppCarrier({
        ...common,
        password: 'wrong-secret',
        responseTimeoutMs: SEND_TIMEOUT_MS,
      }),
      timeoutMs: TIMEOUT_MS,
      // Both forms carry the "done date" in the text.
      reportsCarryTime: true,
      throttlesWithoutRetryAfter:
        'SMPP signals throttling as ESME_RTHROTTLED, which names no wait: the adapter asks for its configured throttleRetryAfterMs',
      throttleRetryAfterMs: THROTTLE_RETRY_AFTER_MS,
    }
  })
}
