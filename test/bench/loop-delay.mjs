/**
 * Preloaded into a benchmarked server (`--import`, plain JavaScript since it loads before tsx) when BENCH_LOOP_DELAY_FILE is set: samples the
 * event loop's delay (perf_hooks, 1 ms resolution) and appends one JSON line a second to that file
 * — `{ at, p50, p99, max, stalls, served, memory, gc }`, in ms, `stalls` being the samples over 10 ms and
 * `served` the times from each request's arrival (the `request` event) to its response's last
 * byte handed to the kernel, for every request but GETs (the bench's rows are POSTs), and `gc`, the
 * second's garbage-collection pauses (count, ms in all, longest, how many were mark-compacts), with `memory`, the RSS and JS heap in use at the second's end, bytes, `rusage`, the
 * process's page faults (major: read from disk) and context switches (involuntary: taken off a
 * core) in the second, and `kernel`, CPU ms the kernel's own busiest threads (kdamond,
 * kswapd, kcompactd: memory reclaim and compaction, which take a core from every process) used in
 * it — so the
 * bench can tell a slow request from a blocked loop, and the server's tail from the time spent
 * outside it (socket buffers, the load generator). Not part of the server.
 * @module
 */
import { appendFileSync, readdirSync, readFileSync } from 'node:fs'
import { Server } from 'node:http'
import { constants, monitorEventLoopDelay, PerformanceObserver, performance } from 'node:perf_hooks'

const file = process.env.BENCH_LOOP_DELAY_FILE
if (file) {
  const histogram = monitorEventLoopDelay({ resolution: 1 })
  histogram.enable()
  const ms = (ns) => Math.round(ns / 10_000) / 100

  /** Request-to-finish times of this second, ms. */
  let served = []
  /** Garbage-collection pauses of this second: count, total and longest (ms), and the major ones. */
  let gc = { count: 0, total: 0, max: 0, major: 0 }
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      gc.count++
      gc.total += entry.duration
      gc.max = Math.max(gc.max, entry.duration)
      if (entry.detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) gc.major++
    }
  }).observe({ entryTypes: ['gc'] })
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

  /** Kernel threads that reclaim or compact memory, by pid (Linux; none elsewhere). */
  const kernelThreads = new Map()
  try {
    for (const pid of readdirSync('/proc')) {
      if (!/^\d+$/.test(pid)) continue
      try {
        const name = readFileSync(`/proc/${pid}/comm`, 'utf8').trim()
        if (/^(kdamond|kswapd|kcompactd)/.test(name)) kernelThreads.set(pid, name)
      } catch {}
    }
  } catch {}
  /** CPU ms each kernel thread has used so far (schedstat's first field: ns on a core). */
  const kernelCpu = () => {
    const out = {}
    for (const [pid, name] of kernelThreads) {
      try {
        out[name] = Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6
      } catch {}
    }
    return out
  }
  let lastKernel = kernelCpu()
  let lastUsage = process.resourceUsage()

  const timer = setInterval(() => {
    const usage = process.resourceUsage()
    const kernelNow = kernelCpu()
    const kernel = {}
    for (const [name, used] of Object.entries(kernelNow)) {
      kernel[name] = Math.round((used - (lastKernel[name] ?? used)) * 100) / 100
    }
    const rusage = {
      majorFaults: usage.majorPageFault - lastUsage.majorPageFault,
      minorFaults: usage.minorPageFault - lastUsage.minorPageFault,
      involuntary: usage.involuntaryContextSwitches - lastUsage.involuntaryContextSwitches,
      voluntary: usage.voluntaryContextSwitches - lastUsage.voluntaryContextSwitches,
    }
    lastKernel = kernelNow
    lastUsage = usage
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
        memory: { rss: process.memoryUsage.rss(), heap: process.memoryUsage().heapUsed },
        gc: { count: gc.count, total: ms(gc.total * 1e6), max: ms(gc.max * 1e6), major: gc.major },
        rusage,
        kernel,
      })}\n`,
    )
    histogram.reset()
    served = []
    gc = { count: 0, total: 0, max: 0, major: 0 }
  }, 1000)
  timer.unref()
}
