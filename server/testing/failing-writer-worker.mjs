/**
 * A SQLite writer thread that dies on its first batch (see writer-thread.test.ts): it says it is
 * ready as the real one does, then ends with an error code instead of answering.
 * @module
 */
import { parentPort } from 'node:worker_threads'

const port = /** @type {import('node:worker_threads').MessagePort} */ (parentPort)
port.on('message', (message) => {
  if (message === 'stop') port.close()
  else process.exit(3)
})
port.postMessage('ready')
