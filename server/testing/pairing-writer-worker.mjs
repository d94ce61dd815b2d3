/**
 * A SQLite writer thread for writer-thread.test.ts that commits nothing and answers a batch as
 * soon as the next one arrives, or else 700 ms after it came: batches sent one behind the other
 * are answered together at once, a batch sent only after the one before was answered waits out
 * the delay. So a test can tell, by the answers' timing and order, whether the serving thread
 * sent a batch while another was in the thread.
 * @module
 */
import { parentPort } from 'node:worker_threads'

const DELAY_MS = 700
const port = /** @type {import('node:worker_threads').MessagePort} */ (parentPort)
/** @type {{ id: number, timer: NodeJS.Timeout } | undefined} */
let held
const answerHeld = () => {
  if (!held) return
  clearTimeout(held.timer)
  port.postMessage({ id: held.id })
  held = undefined
}
port.on('message', (message) => {
  if (message === 'stop') {
    answerHeld()
    port.close()
    return
  }
  answerHeld()
  held = { id: message.id, timer: setTimeout(answerHeld, DELAY_MS) }
})
port.postMessage('ready')
