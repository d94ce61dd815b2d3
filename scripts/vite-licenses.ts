/**
 * The licences of the third-party code inside the browser bundles Textgate ships: the widget
 * (widget.js and its chunks carry Lit, BSD-3-Clause, and libphonenumber-js, MIT, its metadata
 * Apache-2.0) and the operator console (Lit, @simplewebauthn/browser, uPlot, uqr). Each of those
 * licences asks that its notice go with every copy: a store that puts widget.js on its pages
 * redistributes them, and so does the server package, which carries both builds. The minifier
 * keeps no comments of theirs, so this Vite plugin writes the notices itself: it lists the
 * packages whose modules are really in the output (entry and chunks, not what the source merely
 * depends on), reads each one's licence files from its installed folder, emits them in one
 * plain-text file beside the entry, and puts a short legal banner at the top of the entry naming
 * that file by a relative URL. A bundled package without a licence file stops the build, so a new
 * dependency cannot slip in without its notice. Both builds import it from here
 * (widget/vite.config.ts, server/console/vite.config.ts): one copy of the rules.
 * @module
 */
import { readdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, posix } from 'node:path'
import { normalizePath, type Plugin } from 'vite'

/**
 * Licence and notice files as packages ship them: LICENSE, LICENSE.md, LICENCE.txt,
 * LICENSE.Apache, LICENSE-MIT, COPYING, NOTICE…
 */
const LICENSE_FILE = /^(licen[cs]e|copying|notice)([.-][\w.-]+)?$/i

export interface DerivedModules {
  /** Absolute folder of modules generated from a package's files (not under node_modules). */
  dir: string
  /** The package they come from, resolved from that folder. */
  from: string
  /** What they are and how they were made, written under the package in the notices file. */
  note: string
}

export interface LicensesOptions {
  /**
   * The notices file, relative to the output folder; beside the entry (`widget.licenses.txt`,
   * or `assets/console.licenses.txt` when the entry is under assets/), so that one relative URL
   * in the entry's banner finds it wherever the folder is served or installed.
   */
  fileName: string
  /** Who bundles, the banner's first words and the build's name in its errors. */
  product: string
  /** Generated modules that count as a package's code (the package's licence covers them too). */
  derived?: DerivedModules[]
}

interface BundledPackage {
  name: string
  version: string
  license: string
  /** Each licence file's name and text. */
  files: [string, string][]
  notes: string[]
}

/** The installed folder of the package a module id belongs to, when it is under node_modules. */
function packageRoot(id: string): string | undefined {
  const path = id.split('?')[0]!.replaceAll('\\', '/')
  const at = path.lastIndexOf('/node_modules/')
  if (at < 0) return undefined
  const start = at + '/node_modules/'.length
  const segments = path.slice(start).split('/')
  const name = segments[0]?.startsWith('@') ? segments.slice(0, 2).join('/') : segments[0]
  return `${path.slice(0, start)}${name}`
}

interface Manifest {
  name: string
  version: string
  license?: string | { type: string }
  licenses?: { type: string }[]
}

function licenseId({ license, licenses }: Manifest): string {
  if (typeof license === 'string') return license
  if (license?.type) return license.type
  if (licenses?.length) return licenses.map((entry) => entry.type).join(' OR ')
  return 'not stated in its package.json'
}

/** By name, then version; by code unit, as the locale must not change the file. */
const byNameAndVersion = (a: BundledPackage, b: BundledPackage) =>
  a.name === b.name ? compare(a.version, b.version) : compare(a.name, b.name)
const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)

/** The banner's list: packages grouped by licence id, both in a fixed order. */
function bannerList(packages: BundledPackage[]): string {
  const groups = new Map<string, string[]>()
  for (const pkg of packages)
    groups.set(pkg.license, [...(groups.get(pkg.license) ?? []), pkg.name])
  return [...groups.keys()]
    .sort()
    .map((license) => `${[...new Set(groups.get(license))].join(', ')} (${license})`)
    .join('; ')
}

/** Where `to` is from the folder of `from`, both relative to the output folder: `./x`, `../x`. */
function relativeUrl(from: string, to: string): string {
  const path = posix.relative(posix.dirname(from), to)
  return path.startsWith('../') ? path : `./${path}`
}

function noticesText(product: string, entry: string, packages: BundledPackage[]): string {
  const rule = '='.repeat(78)
  const sections = packages.map((pkg) =>
    [
      rule,
      `${pkg.name} ${pkg.version}`,
      `License: ${pkg.license}`,
      ...pkg.notes,
      ...pkg.files.map(([file, text]) => `\n--- ${file} ---\n\n${text}`),
    ].join('\n'),
  )
  return `${product}: the third-party software in ${entry} and the chunks it loads, with the
licence texts each package ships. ${packages.length} package(s), sorted by name.

${sections.join('\n\n')}\n`
}

/**
 * @example
 * defineConfig({ plugins: [licenses({ fileName: 'widget.licenses.txt', product: 'Textgate widget' })] })
 */
export function licenses({ fileName, product, derived = [] }: LicensesOptions): Plugin {
  return {
    name: 'textgate-licenses',
    apply: 'build',
    // After minification, which would move or drop the banner.
    enforce: 'post',
    generateBundle(_options, bundle) {
      const roots = new Map<string, Set<string>>()
      const chunks = Object.values(bundle).flatMap((file) => (file.type === 'chunk' ? [file] : []))
      for (const chunk of chunks) {
        for (const id of chunk.moduleIds) {
          // Virtual modules (`\0…`) are the bundler's own helpers, not a package's code.
          if (id.startsWith('\0')) continue
          const root = packageRoot(id)
          if (root) {
            roots.set(root, roots.get(root) ?? new Set())
            continue
          }
          const source = derived.find((d) => id.startsWith(`${normalizePath(d.dir)}/`))
          if (source) {
            const manifest = createRequire(id).resolve(`${source.from}/package.json`)
            const notes = roots.get(dirname(manifest)) ?? new Set()
            roots.set(dirname(manifest), notes.add(source.note))
          }
        }
      }

      const packages = [...roots].map(([root, notes]): BundledPackage => {
        const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as Manifest
        const files = readdirSync(root)
          .filter((file) => LICENSE_FILE.test(file))
          .sort()
          .map((file): [string, string] => [
            file,
            `${readFileSync(join(root, file), 'utf8').replace(/\r\n?/g, '\n').trimEnd()}\n`,
          ])
        if (!files.length) {
          this.error(
            `[textgate] [licenses] ${manifest.name}@${manifest.version} is bundled into the ${product} build, but its folder has no licence file (LICENSE, LICENSE.md, COPYING…): ${root}. Its licence must ship with the build: find its text before bundling it.`,
          )
        }
        return {
          name: manifest.name,
          version: manifest.version,
          license: licenseId(manifest),
          files,
          notes: [...notes].sort(),
        }
      })
      packages.sort(byNameAndVersion)
      if (!packages.length) return

      const entries = chunks.filter((chunk) => chunk.isEntry)
      for (const entry of entries) {
        // A relative URL: it finds the notices wherever the output folder is served or installed.
        const said = `${product}. Bundles ${bannerList(packages)}. Licence texts: ${relativeUrl(entry.fileName, fileName)}`
        entry.code = `/*! ${said.replaceAll('*/', '*\\/')} */\n${entry.code}`
      }
      // The notices name the entry as seen from beside them.
      const entry = entries[0]
        ? posix.relative(posix.dirname(fileName), entries[0].fileName)
        : 'the entry'
      this.emitFile({ type: 'asset', fileName, source: noticesText(product, entry, packages) })
    },
  }
}
