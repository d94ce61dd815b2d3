#!/usr/bin/env node
// `pnpm test`: every check the project has, in order, with one summary line at the end.
// Lint and types, the widget build, server/shared/demo/end-to-end suites (vitest, real SQLite
// and — when TEXTGATE_TEST_POSTGRES_URL is set — real PostgreSQL), and the widget's suite in a
// real Chromium (web-test-runner).
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const bin = (name, pkg = '') => join(root, pkg, 'node_modules', '.bin', name)
const tmp = join(root, 'test', '.tmp')
rmSync(tmp, { recursive: true, force: true })
mkdirSync(tmp, { recursive: true })

function findChromium() {
  if (process.env.CHROME_PATH && existsSync(process.env.CHROME_PATH)) return process.env.CHROME_PATH
  for (const name of ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable']) {
    const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).stdout.trim()
    if (found) return found
  }
  const isRoot = process.getuid?.() === 0
  if (isRoot && spawnSync('sh', ['-c', 'command -v apt-get']).status === 0) {
    console.log('Chromium is missing: installing Debian’s chromium package…')
    spawnSync('sh', ['-c', 'apt-get update -qq && apt-get install -y -qq chromium'], {
      stdio: 'inherit',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    })
    const found = spawnSync('sh', ['-c', 'command -v chromium'], { encoding: 'utf8' }).stdout.trim()
    if (found) return found
  }
  console.error(
    'The browser tests need Chromium. Install it (Debian/Ubuntu: apt-get install chromium) or set CHROME_PATH.',
  )
  process.exit(1)
}

const env = {
  ...process.env,
  CHROME_PATH: findChromium(),
  FORCE_COLOR: process.env.FORCE_COLOR ?? '1',
}

function run(label, command, args, options = {}) {
  console.log(`\n── ${label} ${'─'.repeat(Math.max(0, 70 - label.length))}`)
  return new Promise((resolve) => {
    let output = ''
    const child = spawn(command, args, {
      cwd: options.cwd ?? root,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    child.stdout.on('data', (chunk) => {
      output += chunk
      process.stdout.write(chunk)
    })
    child.stderr.on('data', (chunk) => {
      output += chunk
      process.stderr.write(chunk)
    })
    child.on('close', (code) => resolve({ ok: code === 0, output }))
  })
}

const ESC = String.fromCharCode(27)
const strip = (text) => text.replaceAll(new RegExp(`${ESC}\\[[0-9;]*m`, 'g'), '')
let passed = 0
let failed = 0
let skipped = 0
const failures = []

const steps = [
  ['lint (biome)', bin('biome'), ['check', '.']],
  ['types (tsc)', bin('tsc'), ['--noEmit', '-p', '.']],
  [
    'widget phone metadata is current (scripts/metadata.mjs --check)',
    process.execPath,
    [join(root, 'widget', 'scripts', 'metadata.mjs'), '--check'],
  ],
  [
    'widget custom elements manifest is current and lists every part (scripts/manifest.mjs --check)',
    process.execPath,
    [join(root, 'widget', 'scripts', 'manifest.mjs'), '--check'],
  ],
  [
    'widget build (vite)',
    bin('vite', 'widget'),
    ['build', '--logLevel', 'warn'],
    { cwd: join(root, 'widget') },
  ],
  [
    'operator console build (vite)',
    bin('vite', 'server/console'),
    ['build', '--logLevel', 'warn'],
    { cwd: join(root, 'server', 'console') },
  ],
  [
    'widget size: what the flow loads, gzip, against the budget (scripts/size.mjs)',
    process.execPath,
    [join(root, 'widget', 'scripts', 'size.mjs')],
  ],
]
for (const [label, command, args, options] of steps) {
  const { ok } = await run(label, command, args, options)
  if (!ok) failures.push(label)
}

const vitestReport = join(tmp, 'vitest.json')
const vitest = await run('server, shared, demo and end-to-end suites (vitest)', bin('vitest'), [
  'run',
  '--reporter=default',
  '--reporter=json',
  `--outputFile.json=${vitestReport}`,
])
if (existsSync(vitestReport)) {
  const report = JSON.parse(readFileSync(vitestReport, 'utf8'))
  passed += report.numPassedTests
  failed += report.numFailedTests
  skipped += report.numPendingTests + (report.numTodoTests ?? 0)
}
if (!vitest.ok) failures.push('vitest')

const wtr = await run(
  'widget suite in Chromium (web-test-runner)',
  bin('web-test-runner', 'widget'),
  [],
  {
    cwd: join(root, 'widget'),
  },
)
const counts = [...strip(wtr.output).matchAll(/(\d+) passed, (\d+) failed/g)].at(-1)
if (counts) {
  passed += Number(counts[1])
  failed += Number(counts[2])
}
if (!wtr.ok || !counts) failures.push('web-test-runner')

console.log(`\n${'─'.repeat(74)}`)
console.log(
  process.env.TEXTGATE_TEST_POSTGRES_URL
    ? 'storage suites ran on SQLite and PostgreSQL'
    : 'storage suites ran on SQLite only (set TEXTGATE_TEST_POSTGRES_URL=postgres://… to add PostgreSQL)',
)
console.log(
  process.env.TEXTGATE_TEST_REDIS_URL
    ? 'fraud counters ran on the database and on Redis'
    : 'fraud counters ran on the database only (set TEXTGATE_TEST_REDIS_URL=redis://… to add Redis)',
)
if (failures.length) console.log(`failed steps: ${failures.join(', ')}`)
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`)
process.exit(failures.length || failed ? 1 : 0)
