/**
 * Ending a storage thread (the WAL checkpointer's, the SQLite writer's): it was asked to stop,
 * and is terminated if it has not ended in time.
 * @module
 */
import type { Worker } from 'node:worker_threads'

/** Waits for `ended` (the thread's exit); terminates `worker` if that takes over `timeoutMs`. */
export async function awaitThreadEnd(
  worker: Worker,
  ended: Promise<void>,
  timeoutMs: number,
): Promise<void> {
  const timer = setTimeout(() => void worker.terminate(), timeoutMs)
  try {
    await ended
  } finally {
    clearTimeout(timer)
  }
}
