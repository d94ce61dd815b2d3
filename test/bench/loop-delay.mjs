/**
 * Preloaded into a benchmarked server (`--import`, plain JavaScript since it loads before tsx) when BENCH_LOOP_DELAY_FILE is set: samples the
 * event loop's delay (perf_hooks, 1 ms resolution) and appends one JSON line a second to that file
 * — `{ at, p50, p99, max, stalls }`, in ms, `stalls` being the samples over 10 ms — so the bench
 * can tell a slow request from a blocked loop. Not part of the server.
 * @module
 */
import { appendFileSync } from 'node:fs'
import { monitorEventLoopDelay } from 'node:perf_hooks'

const file = process.env.BENCH_LOOP_DELAY_FILE
if (file) {
  const histogram = monitorEventLoopDelay({ resolution: 1 })
  histogram.enable()
  const ms = (ns) => Math.round(ns / 10_000) / 100
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
      })}\n`,
    )
    histogram.reset()
  }, 1000)
  timer.unref()
}
