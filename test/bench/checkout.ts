/**
 * Another revision's server beside this checkout's, for before/after figures from one run.
 * @module
 */
import { execSync } from 'node:child_process'
import { symlinkSync } from 'node:fs'
import { join } from 'node:path'
import { ROOT, tempDir } from '../support/processes'

/**
 * The CLI of another revision's server, checked out in a temporary folder outside the repository
 * (so no test runner finds its tests) with this checkout's installed packages (patched ones
 * included: a patch in patches/ applies to both sides), for before/after rows measured in one
 * run.
 */
export function checkoutBefore(revision: string): { cliPath: string; remove(): void } {
  const dir = tempDir('tg-bench-before-')
  execSync(`git archive ${revision} server package.json tsconfig.json | tar -x -C ${dir.path}`, {
    cwd: ROOT,
  })
  symlinkSync(join(ROOT, 'node_modules'), join(dir.path, 'node_modules'))
  symlinkSync(join(ROOT, 'server/node_modules'), join(dir.path, 'server/node_modules'))
  return { cliPath: join(dir.path, 'server/src/cli/main.ts'), remove: dir.remove }
}
