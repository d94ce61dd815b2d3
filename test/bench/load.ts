/**
 * The benchmark's load generator, run as a process of its own so that it never shares an event
 * loop (or a core's time slice) with a server it measures: autocannon, closed loop over keep-alive
 * connections, or at a fixed overall rate; or evenly paced, open loop (./paced-client.ts). Every
 * request carries its own phone number and its own client address (X-Forwarded-For), as real
 * shoppers do.
 *
 * Input: one JSON {@link LoadSpec} as the first argument. Output: one JSON {@link LoadResult} line
 * on stdout. Used by verify.bench.ts; not meant to be run by hand.
 * @module
 */
import { readFileSync } from 'node:fs'
import autocannon from 'autocannon'
import { type Answer, ConnectionPool, type PacedRequest, requestBytes } from './paced-client'
import { bucketsOf, quantileOf } from './quantile'
import {
  clientIp,
  type LoadKind,
  type LoadResult,
  type LoadSpec,
  phoneNumber,
  signalsFor,
} from './traffic'

type Supply = [id: string, phone: string, code: string][]

function bodyFor(
  kind: LoadKind,
  i: number,
  supply: Supply,
  signals = false,
): { path: string; body: string } {
  switch (kind) {
    case 'echo':
    case 'start':
      return {
        path: kind === 'echo' ? '/echo' : '/v1/verifications',
        body: JSON.stringify({
          phone: phoneNumber(i),
          consent: { accepted: true, version: 'bench' },
          ...(signals ? { signals: signalsFor(i) } : {}),
        }),
      }
    case 'check': {
      const [id, , code] = supply[i] ?? ['none', '', '']
      return { path: `/v1/verifications/${id}/check`, body: JSON.stringify({ code }) }
    }
    case 'peer-send':
      return {
        path: '/api/auth/phone-number/send-otp',
        body: JSON.stringify({ phoneNumber: phoneNumber(i) }),
      }
    case 'peer-verify': {
      const [, phoneNumber, code] = supply[i] ?? ['', '', '']
      return {
        path: '/api/auth/phone-number/verify',
        body: JSON.stringify({ phoneNumber, code }),
      }
    }
  }
}

async function run(spec: LoadSpec): Promise<LoadResult> {
  const supply: Supply = spec.supplyFile
    ? (JSON.parse(readFileSync(spec.supplyFile, 'utf8')) as Supply)
    : []
  const limited = spec.kind === 'check' || spec.kind === 'peer-verify'
  let next = limited ? 0 : spec.offset
  let exhausted = false

  /**
   * Open loop at `spec.rate`: request i is due at start + i / rate and goes out then on a free
   * keep-alive connection (a new one when all are busy; see ./paced-client.ts); its latency runs
   * from when it was due (or from when it left, if a timer woke early), so a server that falls
   * behind shows it (no coordinated omission).
   */
  async function pacedPhase(seconds: number) {
    const rate = spec.rate ?? 1
    const latencies: number[] = []
    let errors = 0
    let firstError = ''
    let sent = 0
    const urls = spec.targets.map((target) => new URL(target))
    const pools = urls.map((url) => new ConnectionPool(url.hostname, Number(url.port)))
    const started = performance.now()
    const total = Math.floor(seconds * rate)
    let issued = 0
    let answered = 0
    /** Set once every request has gone out; resolves once each has its answer. */
    let allSent = false
    let allAnswered = () => {}
    const whenAllAnswered = new Promise<void>((resolve) => {
      allAnswered = resolve
    })
    const onAnswer = (request: PacedRequest) => (answer: Answer | Error) => {
      if (answer instanceof Error) {
        errors++
        firstError ||= answer.message
      } else {
        latencies.push(answer.at - request.from)
        sent++
        if (answer.status !== spec.expect) {
          errors++
          firstError ||= `HTTP ${answer.status}`
        }
      }
      if (++answered === issued && allSent) allAnswered()
    }
    for (let k = 0; k < total; k++) {
      const due = started + (k * 1000) / rate
      // Sent when due; the requests due by the time the timer wakes go out together. A request
      // sent late counts from when it was due (the lateness is part of its wait); a timer may
      // also wake a little early (libuv's clock is in whole, cached milliseconds), and such a
      // request counts from when it left, never from a moment after.
      const wait = due - performance.now()
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
      const i = next++
      if (limited && i >= supply.length) {
        exhausted = true
        break
      }
      const target = k % spec.targets.length
      const url = urls[target] as URL
      const { path, body } = bodyFor(spec.kind, i, supply, spec.signals)
      const bytes = requestBytes(
        url.host,
        path,
        {
          ...spec.headers,
          'content-type': 'application/json',
          'x-forwarded-for': clientIp(limited ? spec.offset + i : i),
        },
        body,
      )
      const request: PacedRequest = { bytes, from: Math.min(due, performance.now()) }
      issued++
      ;(pools[target] as ConnectionPool).send(request, onAnswer(request))
    }
    allSent = true
    if (answered === issued) allAnswered()
    await whenAllAnswered
    for (const pool of pools) pool.close()
    const elapsed = (performance.now() - started) / 1000
    latencies.sort((a, b) => a - b)
    return {
      sent,
      errors,
      firstError,
      elapsed,
      p50: quantileOf(latencies, 0.5),
      p99: quantileOf(latencies, 0.99),
      latencyBuckets: bucketsOf(latencies),
      measured: true,
    }
  }

  async function phase(seconds: number, measured: boolean) {
    if (spec.paced && spec.rate) return pacedPhase(seconds)
    const latencies: number[] = []
    let errors = 0
    let firstError = ''
    let sent = 0
    const instances: autocannon.Instance[] = []
    const started = performance.now()
    const perTarget = Math.max(1, Math.floor(spec.connections / spec.targets.length))
    const runs = spec.targets.map(
      (url) =>
        new Promise<void>((resolve, reject) => {
          const instance = autocannon(
            {
              url,
              connections: perTarget,
              duration: seconds,
              ...(spec.amount && measured
                ? { amount: Math.ceil(spec.amount / spec.targets.length) }
                : {}),
              ...(spec.rate
                ? { overallRate: Math.max(1, Math.round(spec.rate / spec.targets.length)) }
                : {}),
              timeout: 10,
              requests: [
                {
                  method: 'POST',
                  setupRequest: (request) => {
                    const i = next++
                    if (limited && i >= supply.length) {
                      exhausted = true
                      for (const other of instances) other.stop()
                    }
                    const { path, body } = bodyFor(spec.kind, i, supply, spec.signals)
                    return {
                      ...request,
                      path,
                      body,
                      headers: {
                        ...spec.headers,
                        'content-type': 'application/json',
                        'x-forwarded-for': clientIp(limited ? spec.offset + i : i),
                      },
                    }
                  },
                },
              ],
            },
            (error) => (error ? reject(error) : resolve()),
          )
          instances.push(instance)
          instance.on('response', (_client, statusCode, _bytes, responseTime) => {
            // Requests sent after the supply ran out carry no real id: not part of the figures.
            if (exhausted && statusCode !== spec.expect) return
            sent++
            latencies.push(responseTime)
            if (statusCode !== spec.expect) {
              errors++
              firstError ||= `HTTP ${statusCode}`
            }
          })
          instance.on('reqError', (error: Error) => {
            errors++
            firstError ||= error.message
          })
        }),
    )
    await Promise.all(runs)
    const elapsed = (performance.now() - started) / 1000
    latencies.sort((a, b) => a - b)
    return {
      sent,
      errors,
      firstError,
      elapsed,
      p50: quantileOf(latencies, 0.5),
      p99: quantileOf(latencies, 0.99),
      latencyBuckets: bucketsOf(latencies),
      measured,
    }
  }

  let warmupRequests = 0
  if (spec.warmupSeconds > 0) warmupRequests = (await phase(spec.warmupSeconds, false)).sent
  const measured = await phase(spec.durationSeconds, true)
  return {
    requests: measured.sent,
    errors: measured.errors,
    firstError: measured.firstError,
    seconds: measured.elapsed,
    perSecond: measured.sent / measured.elapsed,
    p50: measured.p50,
    p99: measured.p99,
    latencyBuckets: measured.latencyBuckets,
    warmupRequests,
    exhausted,
  }
}

const spec = JSON.parse(process.argv[2] ?? '{}') as LoadSpec
const result = await run(spec)
process.stdout.write(`${JSON.stringify(result)}\n`)
