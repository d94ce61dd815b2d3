#!/usr/bin/env node
// The custom elements manifest (custom-elements.json) is generated from the element's JSDoc by
// @custom-elements-manifest/analyzer and committed, so editors and docs see the element's API.
//
// `node scripts/manifest.mjs --write` regenerates it. `--check` (the test run) fails when the
// committed file differs from a fresh analysis, or when a part used in the element's template
// (`part="…"`) is not documented with @csspart, or a documented part is never used.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const widget = join(dirname(fileURLToPath(import.meta.url)), '..')
const committedPath = join(widget, 'custom-elements.json')
const write = process.argv.includes('--write')

const outdir = write ? widget : mkdtempSync(join(tmpdir(), 'tg-cem-'))
const run = spawnSync(
  join(widget, 'node_modules', '.bin', 'cem'),
  // cem joins --outdir to its working directory: it must be relative.
  ['analyze', '--outdir', relative(widget, outdir) || '.', '--quiet'],
  { cwd: widget, encoding: 'utf8' },
)
if (run.status !== 0) {
  console.error(`cem analyze failed:\n${run.stdout}${run.stderr}`)
  process.exit(1)
}
const fresh = readFileSync(join(outdir, 'custom-elements.json'), 'utf8')
if (!write) rmSync(outdir, { recursive: true, force: true })

const problems = []
let committed = ''
try {
  committed = readFileSync(committedPath, 'utf8')
} catch {
  problems.push('widget/custom-elements.json is missing')
}
if (!write && committed && committed !== fresh) {
  problems.push('widget/custom-elements.json is out of date with the element’s JSDoc')
}

// Parts in the template: every static name in a part="…" attribute of the widget's sources (the
// element, its step renders and its country picker, whose parts it forwards with exportparts).
const sourceFiles = (dir) =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return sourceFiles(path)
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.styles.ts') ? [path] : []
  })
const sources = sourceFiles(join(widget, 'src')).map((path) => readFileSync(path, 'utf8'))
const partsIn = (source) =>
  [...source.matchAll(/\spart="([^"$]+)"/g)].flatMap((m) => m[1].trim().split(/\s+/))
const used = new Set(sources.flatMap(partsIn))
// The picker's parts reach the page only if <textgate-verify> forwards each of them.
const picker = readFileSync(
  join(widget, 'src', 'country-picker', 'textgate-country-picker.ts'),
  'utf8',
)
const forwarded = new Set(
  (picker.match(/PICKER_PARTS =\s*'([^']+)'/)?.[1] ?? '').split(/,\s*/).filter(Boolean),
)
for (const name of new Set(partsIn(picker))) {
  if (!forwarded.has(name))
    problems.push(`picker part "${name}" is not in PICKER_PARTS (exportparts)`)
}
const manifest = JSON.parse(fresh)
const element = manifest.modules
  .flatMap((m) => m.declarations ?? [])
  .find((d) => d.tagName === 'textgate-verify')
if (!element) problems.push('the manifest does not declare <textgate-verify>')
const documented = new Set((element?.cssParts ?? []).map((p) => p.name))
for (const name of used) {
  if (!documented.has(name)) problems.push(`part "${name}" is used but has no @csspart`)
}
for (const name of documented) {
  if (!used.has(name)) problems.push(`@csspart "${name}" is documented but never used`)
}
if (used.size === 0) problems.push('found no part="…" in the element’s template')

if (problems.length) {
  for (const problem of problems) console.error(`✗ ${problem}`)
  console.error(
    'Fix the JSDoc of src/textgate-verify.ts, then: node widget/scripts/manifest.mjs --write',
  )
  process.exit(1)
}
console.log(
  write
    ? `wrote widget/custom-elements.json (${documented.size} parts)`
    : `custom-elements.json is current; all ${used.size} parts of the template are documented`,
)
