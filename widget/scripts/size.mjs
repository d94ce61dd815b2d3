#!/usr/bin/env node
// What a shopper's browser downloads for one verification, from the built widget (dist/, run
// `vite build` first): widget.js (Lit, libphonenumber-js core, the element, its styles, English)
// plus the files it imports statically, one country's phone metadata chunk and one language chunk.
// Each file is gzipped on its own at level 9, as the Textgate server sends it. Fails when the
// worst case (the largest metadata chunk and the largest language chunk) is over the budget.
//
// For comparison, in the same run: intl-tel-input 29.5 with its utils (formatting/validation)
// and its CSS (the flag sprite image not counted), when installed (a devDependency).
//
// `node scripts/size.mjs [--json]`
import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'

export const BUDGET_BYTES = 48_000

const widget = join(dirname(fileURLToPath(import.meta.url)), '..')
const dist = join(widget, 'dist')
const manifestPath = join(dist, '.vite', 'manifest.json')
if (!existsSync(manifestPath)) {
  console.error(`size: ${manifestPath} is missing: build the widget first (vite build)`)
  process.exit(1)
}
const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'))

const measure = (path) => {
  const raw = readFileSync(path)
  return { raw: raw.length, gzip: gzipSync(raw, { level: 9 }).length }
}
const sum = (parts) =>
  parts.reduce((a, b) => ({ raw: a.raw + b.raw, gzip: a.gzip + b.gzip }), { raw: 0, gzip: 0 })

// The entry and everything it imports statically (loaded before the element works).
const entryKey = Object.keys(manifest).find((key) => manifest[key].isEntry)
const staticFiles = new Set()
const visit = (key) => {
  const chunk = manifest[key]
  if (!chunk || staticFiles.has(chunk.file)) return
  staticFiles.add(chunk.file)
  for (const imported of chunk.imports ?? []) visit(imported)
}
visit(entryKey)
const core = sum([...staticFiles].map((file) => measure(join(dist, file))))

function lazy(pattern) {
  const rows = Object.entries(manifest)
    .filter(([key]) => pattern.test(key))
    .map(([key, chunk]) => ({ name: key.match(pattern)[1], ...measure(join(dist, chunk.file)) }))
  rows.sort((a, b) => b.gzip - a.gzip)
  return rows
}
const metadata = lazy(/^src\/phone\/metadata\/(\d+)\.json$/)
const languages = lazy(/^src\/translations\/([\w-]+)\.ts$/)
const byName = (rows, name) => rows.find((row) => row.name === name)
// Alpha-3 codes and common country names: loaded when the shopper first opens the country list.
const aliasChunk = manifest['src/phone/aliases.ts']
const aliases = aliasChunk && { name: 'aliases', ...measure(join(dist, aliasChunk.file)) }

const scenarios = [
  ['worst case: largest metadata + largest language + aliases', metadata[0], languages[0], aliases],
  // The page's default country, then a pasted + number of another: two metadata chunks.
  [
    'two countries: two largest metadata + largest language + aliases',
    metadata[0],
    languages[0],
    aliases,
    metadata[1],
  ],
  ['US shopper, English', byName(metadata, '1'), undefined],
  ['UK shopper, English', byName(metadata, '44'), undefined],
  ['German shopper, German', byName(metadata, '49'), byName(languages, 'de')],
  ['Indian shopper, Hindi', byName(metadata, '91'), byName(languages, 'hi')],
].map(([label, meta, language, extra, otherMeta]) => ({
  label,
  metadata: [meta, otherMeta]
    .filter(Boolean)
    .map((row) => `+${row.name}`)
    .join(' '),
  language: language?.name ?? 'en (built in)',
  ...sum([core, meta, language, extra, otherMeta].filter(Boolean)),
}))

let comparison
try {
  const require = createRequire(join(widget, 'package.json'))
  const base = dirname(require.resolve('intl-tel-input/package.json'))
  const version = JSON.parse(readFileSync(join(base, 'package.json'), 'utf8')).version
  const js = measure(join(base, 'dist/js/intlTelInputWithUtils.min.js'))
  const css = measure(join(base, 'dist/css/intlTelInput.min.css'))
  comparison = { label: `intl-tel-input ${version} with utils + CSS`, ...sum([js, css]) }
} catch {
  comparison = undefined
}

const kb = (bytes) => `${(bytes / 1000).toFixed(1)} kB`
const worst = scenarios.reduce((a, b) => (b.gzip > a.gzip ? b : a))
const ok = worst.gzip <= BUDGET_BYTES

if (process.argv.includes('--json')) {
  console.log(
    JSON.stringify(
      { budget: BUDGET_BYTES, ok, core, scenarios, metadata, languages, comparison },
      null,
      2,
    ),
  )
} else {
  console.log(
    `widget.js + static imports: ${kb(core.raw)} raw, ${kb(core.gzip)} gzip (${staticFiles.size} file(s))`,
  )
  console.log(
    `phone metadata chunks: ${metadata.length}, largest +${metadata[0].name} ${kb(metadata[0].gzip)} gzip, smallest +${metadata.at(-1).name} ${kb(metadata.at(-1).gzip)} gzip`,
  )
  console.log(
    `language chunks: ${languages.length}, largest ${languages[0].name} ${kb(languages[0].gzip)} gzip`,
  )
  for (const row of scenarios) {
    console.log(
      `  ${row.label.padEnd(56)} ${kb(row.raw).padStart(9)} raw ${kb(row.gzip).padStart(8)} gzip  (${row.metadata}, ${row.language})`,
    )
  }
  if (comparison) {
    console.log(
      `  ${comparison.label.padEnd(56)} ${kb(comparison.raw).padStart(9)} raw ${kb(comparison.gzip).padStart(8)} gzip  (ratio ${(worst.gzip / comparison.gzip).toFixed(2)})`,
    )
  }
  console.log(
    `${ok ? 'size ok' : 'size over budget'}: worst case ${kb(worst.gzip)} gzip, budget ${kb(BUDGET_BYTES)}`,
  )
}
process.exit(ok ? 0 : 1)
