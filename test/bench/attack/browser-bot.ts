/**
 * Scenario (e)'s attacker: headless Chromium driving the store's real page and the real widget,
 * one fresh browser profile per start (so a fresh device id), automation flags hidden, typing
 * the number key by key after a plausible pause, and replaying a plausible set of interaction
 * signals into the start (whatever the widget itself gathered). It solves the widget's proof of
 * work in the browser; it cannot pass an interactive captcha.
 * @module
 */
import { readdirSync, readFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { type Browser, chromium } from 'playwright-core'
import { CHROMIUM_ARGS, chromiumPath } from '../../support/browser'
import type { Random } from './actors'

export interface BotOutcome {
  status: number
  id?: string
  /** No answer, and not for the guard's reasons: the page or the bot went wrong. */
  stuck?: string
  /** No answer because the bot ran out of time on the guard's proof of work. */
  gaveUp?: string
}

/** How long the bot waits for the widget to let it submit, and then for the start's answer. */
const SUBMIT_WAIT_MS = 20_000
const ANSWER_WAIT_MS = 60_000

export interface BrowserBot {
  /** The store page's origin (allow it in the project). */
  origin: string
  attach(textgateUrl: string, publishableKey: string): void
  /**
   * Status 0 when no answer came: `gaveUp` when the bot was still solving a proof of work,
   * `stuck` otherwise (what the page showed instead).
   */
  start(phone: string, ip: string, random: Random): Promise<BotOutcome>
  /** CPU seconds the browser's processes used so far. */
  cpuSeconds(): number
  close(): Promise<void>
}

/** CPU seconds of every process below this one (utime + stime, and their reaped children's). */
function descendantsCpuSeconds(): number {
  const rootPid = process.pid
  const ticks = 100
  const stats = new Map<number, { ppid: number; cpu: number }>()
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const raw = readFileSync(`/proc/${entry}/stat`, 'utf8')
      const fields = raw.slice(raw.lastIndexOf(')') + 2).split(' ')
      const ppid = Number(fields[1])
      const cpu = Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])
      stats.set(Number(entry), { ppid, cpu })
    } catch {
      // the process ended meanwhile
    }
  }
  let total = 0
  const inTree = (pid: number): boolean => {
    for (let p = pid, depth = 0; p > 1 && depth < 20; depth++) {
      if (p === rootPid) return true
      p = stats.get(p)?.ppid ?? 0
    }
    return false
  }
  for (const [pid, { cpu }] of stats) if (pid !== rootPid && inTree(pid)) total += cpu
  return total / ticks
}

export async function createBrowserBot(): Promise<BrowserBot> {
  let textgateUrl = ''
  let key = ''
  const page: Server = createServer((_req, res) => {
    res.setHeader('Content-Type', 'text/html; charset=utf-8')
    res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Shop</title></head>
<body><form action="/register" method="post">
<textgate-verify publishable-key="${key}" server="${textgateUrl}" name="phone_token" default-country="GB"></textgate-verify>
</form><script type="module" src="${textgateUrl}/widget.js"></script></body></html>`)
  })
  await new Promise<void>((resolve) => page.listen(0, '127.0.0.1', resolve))
  const origin = `http://127.0.0.1:${(page.address() as AddressInfo).port}`
  const browser: Browser = await chromium.launch({
    executablePath: chromiumPath(),
    // A careful bot hides navigator.webdriver.
    args: [...CHROMIUM_ARGS, '--disable-blink-features=AutomationControlled'],
    headless: true,
  })
  // Chromium's processes are this process's descendants (and nothing else here is).
  const startCpu = descendantsCpuSeconds()

  return {
    origin,
    attach(url, publishableKey) {
      textgateUrl = url
      key = publishableKey
    },
    async start(phone, ip, random) {
      // A fresh profile: fresh storage, so a fresh device id every time.
      const context = await browser.newContext({
        userAgent:
          'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
        extraHTTPHeaders: { 'X-Forwarded-For': ip },
      })
      try {
        const tab = await context.newPage()
        await tab.route(`${textgateUrl}/v1/verifications`, async (route) => {
          const request = route.request()
          if (request.method() !== 'POST') return route.continue()
          const body = JSON.parse(request.postData() ?? '{}') as Record<string, unknown>
          const own = (body.signals ?? {}) as Record<string, unknown>
          // Replays what a person's widget would report, over what the widget saw.
          body.signals = {
            ...own,
            deviceId: typeof own.deviceId === 'string' ? own.deviceId : random.id(22),
            shownMs: random.int(5_000, 15_000),
            entry: 'typed',
            keys: phone.length + random.int(0, 3),
            focuses: random.int(1, 3),
            visible: true,
            webdriver: false,
          }
          await route.continue({ postData: JSON.stringify(body) })
        })
        await tab.goto(origin)
        const widget = (part: string) => tab.locator(`textgate-verify [part~="${part}"]`)
        await widget('phone-input').click()
        await widget('phone-input').pressSequentially(phone, { delay: random.int(20, 60) })
        await widget('consent-checkbox').check()
        // The widget solves proof-of-work challenges itself and retries; a captcha it cannot do.
        let timer: NodeJS.Timeout | undefined
        let solving = false
        let posted = 0
        let failed = ''
        const isStart = (r: { url(): string; method(): string }) =>
          r.url() === `${textgateUrl}/v1/verifications` && r.method() === 'POST'
        tab.on('request', (r) => {
          if (isStart(r)) posted++
        })
        tab.on('requestfailed', (r) => {
          if (isStart(r)) failed = r.failure()?.errorText ?? 'failed'
        })
        const shown = () =>
          widget('error')
            .first()
            .textContent({ timeout: 1_000 })
            .catch(() => null)
        const answered = new Promise<BotOutcome>((resolve) => {
          // Still working on a proof of work by then is the bot's cost, not a stuck bot.
          timer = setTimeout(async () => {
            if (solving) return resolve({ status: 0, gaveUp: 'proof of work not solved in time' })
            const said = await shown()
            resolve({
              status: 0,
              stuck: `no answer to the start in ${ANSWER_WAIT_MS / 1000} s (${posted} sent${failed ? `, failed: ${failed}` : ''}; the widget said: ${said || 'nothing'})`,
            })
          }, ANSWER_WAIT_MS)
          tab.on('response', async (r) => {
            if (r.url() !== `${textgateUrl}/v1/verifications` || r.request().method() !== 'POST') {
              return
            }
            const json = (await r.json().catch(() => ({}))) as {
              id?: string
              error?: { captcha?: unknown }
            }
            if (r.status() === 428 && !json.error?.captcha) {
              solving = true
              return
            }
            clearTimeout(timer)
            resolve({ status: r.status(), ...(json.id ? { id: json.id } : {}) })
          })
        })
        try {
          await widget('submit-button').click({ timeout: SUBMIT_WAIT_MS })
        } catch {
          // The widget kept its button disabled (a wait it was told to keep, or a page that
          // never finished loading): no start was sent. Say what it showed.
          clearTimeout(timer)
          const disabled = await widget('submit-button')
            .isDisabled({ timeout: 1_000 })
            .catch(() => null)
          return {
            status: 0,
            stuck: `could not submit (button disabled: ${disabled}); the widget said: ${(await shown()) || 'nothing'}`,
          }
        }
        return await answered
      } finally {
        await context.close()
      }
    },
    cpuSeconds: () => descendantsCpuSeconds() - startCpu,
    async close() {
      await browser.close()
      await new Promise<void>((resolve) => page.close(() => resolve()))
    },
  }
}
