import { esbuildPlugin } from '@web/dev-server-esbuild'
import { chromeLauncher } from '@web/test-runner-chrome'

// Debian's Chromium; nothing downloads a browser of its own.
export default {
  files: 'test/**/*.test.ts',
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
