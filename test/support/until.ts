/**
 * Waiting for something a process does: a condition polled every 50 ms up to a deadline.
 * @module
 */

/**
 * Polls `check` every 50 ms until it holds (true) or `timeoutMs` has passed (false): the caller
 * says what a timeout means, e.g. `expect(await until(() => done, 20_000)).toBe(true)`.
 */
export async function until(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) return false
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return true
}
