/**
 * For the tests of the builds' licence notices (scripts/vite-licenses.ts), the widget's and the
 * console's: a production `vite build` into a folder of the test's own, and a reader of the
 * notices file it writes.
 * @module
 */
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'

/**
 * Runs `vite build` in `packageDir` into `outDir`, as a release builds it: without vitest's
 * NODE_ENV=test, which would make Vite bundle Lit's development variant.
 */
export function viteBuild(packageDir: string, outDir: string, args: string[] = []): string {
  const result = spawnSync(
    join(packageDir, 'node_modules/.bin/vite'),
    ['build', '--outDir', outDir, '--emptyOutDir', '--logLevel', 'warn', ...args],
    { cwd: packageDir, encoding: 'utf8', env: { ...process.env, NODE_ENV: undefined } },
  )
  if (result.status !== 0) throw new Error(`vite build failed:\n${result.stdout}${result.stderr}`)
  return outDir
}

/** The notices file's sections: package name → its licence id and the text under it. */
export function noticeSections(notices: string): Map<string, { license: string; text: string }> {
  const parts = notices.split(/^={78}\n/m).slice(1)
  return new Map(
    parts.map((part) => {
      const [, name, license] = part.match(/^(\S+) \S+\nLicense: (.+)\n/) ?? []
      return [name ?? part.slice(0, 40), { license: license ?? '', text: part }]
    }),
  )
}
