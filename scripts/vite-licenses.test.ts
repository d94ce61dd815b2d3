/**
 * The licences plugin (./vite-licenses.ts) on small builds of its own, in memory: what it does
 * whatever the product. The widget's and the console's real builds are checked beside them
 * (widget/scripts/licenses.test.ts, server/console/licenses.test.ts).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { build, type Rolldown } from 'vite'
import { afterAll, describe, expect, it } from 'vitest'
import { licenses } from './vite-licenses.ts'

const root = mkdtempSync(join(tmpdir(), 'tg-vite-licenses-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))

const pkg = join(root, 'node_modules', 'greeter')
mkdirSync(pkg, { recursive: true })
writeFileSync(join(pkg, 'package.json'), '{ "name": "greeter", "version": "1.0.0" }\n')
writeFileSync(join(pkg, 'index.js'), 'export const greeting = "hello"\n')
writeFileSync(join(root, 'entry.js'), 'import { greeting } from "greeter"\nconsole.log(greeting)\n')

/** Builds entry.js with the plugin, without writing: the output files by name. */
async function bundle(fileName: string, assetsDir?: string) {
  const built = await build({
    root,
    configFile: false,
    logLevel: 'silent',
    plugins: [licenses({ fileName, product: 'X' })],
    build: {
      write: false,
      rollupOptions: {
        input: join(root, 'entry.js'),
        output: assetsDir ? { entryFileNames: `${assetsDir}/[name]-[hash].js` } : {},
      },
    },
  })
  const outputs = (Array.isArray(built) ? built : [built]).flatMap((b) =>
    'output' in b ? b.output : [],
  )
  return new Map<string, Rolldown.OutputChunk | Rolldown.OutputAsset>(
    outputs.map((file) => [file.fileName, file]),
  )
}

describe('the licences plugin', () => {
  it('stops the build when a bundled package has no licence file, and ships it once there is one', async () => {
    rmSync(join(pkg, 'LICENSE'), { force: true })
    await expect(bundle('x.licenses.txt')).rejects.toThrow(
      /greeter@1\.0\.0 is bundled into the X build, but its folder has no licence file/,
    )
    writeFileSync(join(pkg, 'LICENSE'), 'Greeter fixture licence\n')
    const notices = (await bundle('x.licenses.txt')).get('x.licenses.txt')
    expect(notices?.type === 'asset' && String(notices.source)).toContain(
      'greeter 1.0.0\nLicense: not stated in its package.json\n\n--- LICENSE ---\n\nGreeter fixture licence\n',
    )
  })

  it('names the notices by a URL relative to the entry, wherever the two sit in the output', async () => {
    writeFileSync(join(pkg, 'LICENSE'), 'Greeter fixture licence\n')
    const output = await bundle('assets/x.licenses.txt', 'assets')
    const entry = [...output.values()].find((file) => file.type === 'chunk' && file.isEntry)
    expect(entry?.fileName).toMatch(/^assets\/entry-[\w-]+\.js$/)
    const code = entry?.type === 'chunk' ? entry.code : ''
    // Beside each other under assets/: `./x.licenses.txt`, not `./assets/x.licenses.txt`.
    expect(code.slice(0, code.indexOf('\n'))).toBe(
      '/*! X. Bundles greeter (not stated in its package.json). Licence texts: ./x.licenses.txt */',
    )
    const notices = output.get('assets/x.licenses.txt')
    const text = notices?.type === 'asset' ? String(notices.source) : ''
    expect(text).toMatch(/^X: the third-party software in entry-[\w-]+\.js and the chunks it loads/)
  })
})
