/**
 * Preloaded into a benchmarked server (`--import`, plain JavaScript since it loads before tsx) when BENCH_LOOP_DELAY_FILE is set: samples the
 * event loop's delay (perf_hooks, 1 ms resolution) and appends one JSON line a second to that file
 * — `{ at, p50, p99, max, stalls, served }`, in ms, `stalls` being the samples over 10 ms and
 * `served` the times from each request's arrival (the `request` event) to its response's last
 * byte handed to the kernel, for every request but GETs (the bench's rows are POSTs) — so the
 * bench can tell a slow request from a blocked loop, and the server's tail from the time spent
 * outside it (socket buffers, the load generator). Not part of the server.
 * @module
 */
import { appendFileSync } from 'node:fs'
import { Server } from 'node:http'
import { monitorEventLoopDelay, performance } from 'node:perf_hooks'

const file = process.env.BENCH_LOOP_DELAY_FILE
if (file) {
  const histogram = monitorEventLoopDelay({ resolution: 1 })
  histogram.enable()
  const ms = (ns) => Math.round(ns / 10_000) / 100

  /** Request-to-finish times of this second, ms. */
  let served = []
  const emit = Server.prototype.emit
  Server.prototype.emit = function timed(event, ...args) {
    const [request, response] = args
    if (event === 'request' && request.method !== 'GET') {
      const began = performance.now()
      response.once('finish', () => {
        served.push(Math.round((performance.now() - began) * 100) / 100)
      })
    }
    return emit.call(this, event, ...args)
  }

  const timer = setInterval(() => {
    // Delay beyond the 1 ms sampling interval is time the loop could not run.
    let stalls = 0
    for (const [percentile, value] of histogram.percentiles) {
      if (value > 11_000_000) {
        stalls = Math.round(((100 - percentile) / 100) * histogram.count)
        break
      }
    }
    appendFileSync(
      file,
      `${JSON.stringify({
        at: Date.now(),
        pid: process.pid,
        count: histogram.count,
        p50: ms(histogram.percentile(50)),
        p99: ms(histogram.percentile(99)),
        max: ms(histogram.max),
        stalls,
        served,
      })}\n`,
    )
    histogram.reset()
    served = []
  }, 1000)
  timer.unref()
}
