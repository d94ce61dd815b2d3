/**
 * CPU time of processes on this machine, from Linux /proc, for the benches' "CPU per request"
 * figures.
 * @module
 */
import { readdirSync, readFileSync } from 'node:fs'

/** CPU time (user + system) a process has used so far, in ms (Linux /proc, clock ticks of 10 ms). */
export function cpuMs(pid: number | undefined): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) * 10
}

/**
 * CPU time (ms) this machine's PostgreSQL processes have used so far, or undefined when none run
 * here (a remote database). A backend that exits takes its time with it: the pool's connections
 * live through a row, so a row's difference is the database's work for it.
 */
export function localPostgresCpuMs(): number | undefined {
  let total = 0
  let found = false
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() !== 'postgres') continue
      total += cpuMs(Number(entry))
      found = true
    } catch {
      // The process ended meanwhile.
    }
  }
  return found ? total : undefined
}

/** A thread's time so far (Linux /proc schedstat): on a CPU, and runnable but waiting for one (ns). */
export interface ThreadTime {
  tid: number
  cpuNs: number
  waitNs: number
}

/** Every thread of `pid` with its time so far, or an empty list when /proc does not say. */
export function threadTimes(pid: number | undefined): ThreadTime[] {
  const threads: ThreadTime[] = []
  let tids: string[]
  try {
    tids = readdirSync(`/proc/${pid}/task`)
  } catch {
    return threads
  }
  for (const tid of tids) {
    try {
      const [cpu, wait] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')
      threads.push({ tid: Number(tid), cpuNs: Number(cpu), waitNs: Number(wait) })
    } catch {
      // The thread ended meanwhile.
    }
  }
  return threads
}

/** This machine's CPU time so far (/proc/stat, clock ticks): busy and in all, every core summed. */
export function machineTicks(): { busy: number; total: number; steal: number } {
  const fields = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '')
    .trim()
    .split(/\s+/)
    .slice(1, 9)
    .map(Number)
  const total = fields.reduce((sum, n) => sum + n, 0)
  // idle and iowait
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0)
  // steal: time the hypervisor gave this machine's virtual CPUs to something else while they had
  // work to run (counted in busy)
  return { busy: total - idle, total, steal: fields[7] ?? 0 }
}

/**
 * The share of this machine's CPU time the hypervisor took (steal) between two
 * {@link machineTicks} readings: work that was ready to run and did not.
 */
export const stealShare = (
  before: { total: number; steal: number },
  after: { total: number; steal: number },
) => (after.steal - before.steal) / Math.max(1, after.total - before.total)

/**
 * Where a process's threads spent a stretch of time, from two {@link threadTimes} readings
 * `seconds` apart: for its main thread (the serving thread: tid = pid) and its busiest other
 * thread, the shares of the stretch on a CPU and waiting for one; the rest of the main thread's
 * time it had nothing to run. `machine`: the share of all cores busy over the same stretch.
 */
export function threadShares(
  pid: number,
  before: ThreadTime[],
  after: ThreadTime[],
  seconds: number,
): {
  main: { cpu: number; waiting: number }
  busiestOther?: { cpu: number; waiting: number }
  others: number
} {
  const ns = seconds * 1e9
  const was = new Map(before.map((t) => [t.tid, t]))
  const used = after.map((t) => ({
    tid: t.tid,
    cpu: (t.cpuNs - (was.get(t.tid)?.cpuNs ?? 0)) / ns,
    waiting: (t.waitNs - (was.get(t.tid)?.waitNs ?? 0)) / ns,
  }))
  const main = used.find((t) => t.tid === pid) ?? { cpu: 0, waiting: 0 }
  const rest = used.filter((t) => t.tid !== pid).sort((a, b) => b.cpu - a.cpu)
  const busiest = rest[0]
  return {
    main: { cpu: main.cpu, waiting: main.waiting },
    ...(busiest ? { busiestOther: { cpu: busiest.cpu, waiting: busiest.waiting } } : {}),
    others: rest.slice(1).reduce((sum, t) => sum + t.cpu, 0),
  }
}
