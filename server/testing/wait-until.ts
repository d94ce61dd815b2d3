/**
 * Waiting in a test for something asynchronous to have happened (a PDU answered, a receipt
 * delivered), polled every 10 ms.
 * @module
 */

/**
 * Resolves once `check` holds; throws "condition not met in time" after `timeoutMs`.
 *
 * @example
 * await waitUntil(() => smsc.submitted.length === 1)
 */
export async function waitUntil(check: () => boolean, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}
