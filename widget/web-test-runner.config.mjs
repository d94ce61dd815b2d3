import { createServer } from 'node:net'
import { esbuildPlugin } from '@web/dev-server-esbuild'
import { chromeLauncher } from '@web/test-runner-chrome'

/** A free loopback port: the fixed default (8000) may be taken by another run on the machine. */
const freePort = () =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })

// Debian's Chromium; nothing downloads a browser of its own.
export default {
  files: 'test/**/*.test.ts',
  hostname: '127.0.0.1',
  port: await freePort(),
  nodeResolve: { exportConditions: ['production'] },
  concurrency: 1,
  plugins: [
    esbuildPlugin({ ts: true, json: true, target: 'es2022', tsconfig: '../tsconfig.json' }),
  ],
  browsers: [
    chromeLauncher({
      launchOptions: {
        executablePath: process.env.CHROME_PATH ?? '/usr/bin/chromium',
        headless: true,
        args: [
          '--headless=new',
          '--no-sandbox',
          '--disable-gpu',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
        ],
      },
    }),
  ],
  testFramework: { config: { timeout: 10000 } },
}
