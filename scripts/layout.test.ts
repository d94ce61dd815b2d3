import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { describe, expect, it } from 'vitest'

/**
 * Where test support lives, checked over the whole tree (it drifted once: test/ imported the
 * OpenAPI contract checker from inside server/src by a relative path):
 * - test/ reaches a package through its entry (`@textgate/server/…`), never by a relative path
 *   into a package's src/;
 * - no package's src/ holds test support (fakes, harnesses, `*.testing.ts`, shared cases): the
 *   server's is in server/testing/, test/'s own in test/support/. Tests themselves stay beside
 *   the code they test.
 */

const ROOT = join(import.meta.dirname, '..')
const PACKAGES = ['server', 'shared', 'store', 'demo', 'widget']

function filesUnder(folder: string): string[] {
  return readdirSync(join(ROOT, folder), { recursive: true, withFileTypes: true })
    .filter(
      (entry) => entry.isFile() && !join(entry.parentPath, entry.name).includes('node_modules'),
    )
    .map((entry) => relative(ROOT, join(entry.parentPath, entry.name)))
}

/** Relative import specifiers in `source` (static, dynamic and re-exports). */
function relativeImports(source: string): string[] {
  const found: string[] = []
  for (const match of source.matchAll(/(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g)) {
    found.push(match[1] as string)
  }
  return found
}

describe('layout', () => {
  it("test/ imports packages through their entries, not by a path into a package's src/", () => {
    const offenders: string[] = []
    for (const file of filesUnder('test').filter((f) => /\.(ts|mjs|js)$/.test(f))) {
      for (const specifier of relativeImports(readFileSync(join(ROOT, file), 'utf8'))) {
        const target = relative(ROOT, join(ROOT, file, '..', specifier))
        if (PACKAGES.some((name) => target.startsWith(`${name}/src/`))) {
          offenders.push(`${file} imports ${specifier}`)
        }
      }
    }
    expect(offenders).toEqual([])
  })

  it('keeps test support out of the packages’ src/', () => {
    const support =
      /(^|[/.-])(fake|fakes|harness|stub|mock|mocks|fixture|fixtures|testing)([/.-]|$)|\.case\.ts$/i
    const offenders = PACKAGES.flatMap((name) => filesUnder(`${name}/src`)).filter(
      (file) => !/\.test\.ts$/.test(file) && support.test(file.replace(/^[^/]+\/src\//, '')),
    )
    expect(offenders).toEqual([])
  })

  it('finds what it looks for (the checks above are not vacuous)', () => {
    expect(relativeImports("import { a } from '../../server/src/x'")).toEqual([
      '../../server/src/x',
    ])
    expect(relativeImports("const m = await import('./y.js')")).toEqual(['./y.js'])
    expect(filesUnder('test').length).toBeGreaterThan(20)
    expect(filesUnder('server/src').length).toBeGreaterThan(100)
  })
})
