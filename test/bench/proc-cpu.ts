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
