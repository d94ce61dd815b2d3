#!/usr/bin/env node
// `pnpm pack:all`: builds the three packages a store installs and packs each with `npm pack`.
//   @textgate/widget  the element for bundlers (ESM, lit as a dependency) and the script-tag
//                     build (dist/widget.js, everything inside), types, custom-elements.json
//   @textgate/store   verifyPhoneToken, the redeem client, the webhook verifier (WebCrypto and
//                     fetch only: Node, Deno, Bun, edge runtimes), types
//   @textgate/server  the server and its CLI as built JS: `npx textgate serve`
// The workspace packages point at TypeScript sources and at each other (`workspace:*`), which
// npm cannot install; so each package is staged in dist/packages/<name>/ with a manifest of its
// own (built files, real dependencies only) and packed from there into dist/tarballs/.
// Prints each tarball's packed and unpacked size; `--json` prints them as JSON instead.
import { spawnSync } from 'node:child_process'
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { rollup } from 'rollup'
import { dts } from 'rollup-plugin-dts'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const out = join(root, 'dist')
const staged = (name) => join(out, 'packages', name)
const tarballs = join(out, 'tarballs')
const json = process.argv.includes('--json')
const say = (line) => json || console.log(`[pack] ${line}`)
const manifest = (pkg) => JSON.parse(readFileSync(join(root, pkg, 'package.json'), 'utf8'))
const version = manifest('.').version ?? manifest('server').version

function run(command, args, cwd, env = process.env) {
  const result = spawnSync(command, args, { cwd, env, encoding: 'utf8', stdio: 'pipe' })
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} failed:\n${result.stdout}${result.stderr}`)
  }
  return result.stdout
}

/** Only the named dependencies, with the workspace's version ranges. */
function pick(pkg, names) {
  const { dependencies = {}, devDependencies = {} } = manifest(pkg)
  return Object.fromEntries(
    names.map((name) => {
      const range = dependencies[name] ?? devDependencies[name]
      if (!range || range.startsWith('workspace:'))
        throw new Error(`${pkg}: no version for ${name}`)
      return [name, range]
    }),
  )
}

/** One .d.ts for an entry, with @textgate/shared's types inlined (it is not published). */
async function bundleTypes(input, file, external) {
  const bundle = await rollup({
    input,
    external: (id) => external.some((name) => id === name || id.startsWith(`${name}/`)),
    plugins: [dts({ respectExternal: true, tsconfig: join(root, 'tsconfig.json') })],
  })
  await bundle.write({ file, format: 'es' })
  await bundle.close()
}

function writeManifest(name, fields) {
  const common = {
    version,
    type: 'module',
    engines: manifest('.').engines,
    repository: manifest('.').repository,
  }
  writeFileSync(
    join(staged(name), 'package.json'),
    `${JSON.stringify({ name: `@textgate/${name}`, ...common, ...fields }, null, 2)}\n`,
  )
}

async function store() {
  const dir = staged('store')
  const external = ['jose', 'valibot']
  await build({
    entryPoints: [join(root, 'store/src/index.ts')],
    outfile: join(dir, 'dist/index.js'),
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    external,
    legalComments: 'none',
  })
  await bundleTypes(join(root, 'store/src/index.ts'), join(dir, 'dist/index.d.ts'), external)
  cpSync(join(root, 'store/README.md'), join(dir, 'README.md'))
  writeManifest('store', {
    description: manifest('store').description,
    sideEffects: false,
    exports: { '.': { types: './dist/index.d.ts', default: './dist/index.js' } },
    files: ['dist'],
    dependencies: pick('store', external),
  })
}

/**
 * Builds with vite into dist/build/<name>, never into the workspace's widget/dist or
 * server/console/dist: a server under test elsewhere may be serving those right now.
 */
function viteBuild(pkg, name, args = []) {
  const outDir = join(out, 'build', name)
  run(
    join(root, pkg, 'node_modules/.bin/vite'),
    ['build', '--outDir', outDir, '--emptyOutDir', '--logLevel', 'warn', ...args],
    join(root, pkg),
    // A package is a production build whoever runs this: under a test runner (NODE_ENV=test)
    // Vite would otherwise bundle Lit's development build.
    { ...process.env, NODE_ENV: 'production' },
  )
  return outDir
}

async function widget() {
  const dir = staged('widget')
  const cwd = join(root, 'widget')
  const script = viteBuild('widget', 'widget')
  const module = viteBuild('widget', 'widget-module', ['--mode', 'module'])
  // The script-tag build, as the server serves it: everything inside, chunks beside it. Each
  // build's widget.licenses.txt (the licences of the third-party code it bundles, which its
  // entry's banner names) travels beside its entry.
  cpSync(join(script, 'widget.js'), join(dir, 'dist/widget.js'))
  cpSync(join(script, 'widget.licenses.txt'), join(dir, 'dist/widget.licenses.txt'))
  cpSync(join(script, 'chunks'), join(dir, 'dist/chunks'), { recursive: true })
  cpSync(join(module, 'index.js'), join(dir, 'dist/module/index.js'))
  cpSync(join(module, 'widget.licenses.txt'), join(dir, 'dist/module/widget.licenses.txt'))
  cpSync(join(module, 'chunks'), join(dir, 'dist/module/chunks'), { recursive: true })
  await bundleTypes(join(cwd, 'src/index.ts'), join(dir, 'dist/module/index.d.ts'), ['lit'])
  cpSync(join(cwd, 'custom-elements.json'), join(dir, 'custom-elements.json'))
  cpSync(join(cwd, 'README.md'), join(dir, 'README.md'))
  writeManifest('widget', {
    description:
      'The <textgate-verify> phone verification element: for bundlers, or as one script tag.',
    // Importing the package defines the elements.
    sideEffects: true,
    exports: {
      '.': { types: './dist/module/index.d.ts', default: './dist/module/index.js' },
      './widget.js': './dist/widget.js',
      './widget.licenses.txt': './dist/widget.licenses.txt',
      './custom-elements.json': './custom-elements.json',
      './package.json': './package.json',
    },
    types: './dist/module/index.d.ts',
    customElements: 'custom-elements.json',
    files: ['dist', 'custom-elements.json'],
    dependencies: pick('widget', ['lit']),
  })
}

async function server() {
  const dir = staged('server')
  const { dependencies } = manifest('server')
  // libphonenumber-js goes inside the bundle: the workspace patches it (patches/: its pattern
  // matcher keeps its compiled RegExps), and an install from the registry would not be patched.
  const external = Object.keys(dependencies).filter(
    (name) => !name.startsWith('@textgate/') && name !== 'libphonenumber-js',
  )
  // lib/cli/ is two levels deep, as server/src/server.ts and server/src/console/static.ts are
  // below the repository's widget/ and server/console/: their `new URL('../../…')` defaults
  // then find widget/dist and console/dist inside the package.
  await build({
    entryPoints: [join(root, 'server/src/cli/main.ts')],
    outfile: join(dir, 'lib/cli/textgate.js'),
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    external,
    banner: { js: '#!/usr/bin/env node' },
    legalComments: 'none',
  })
  // The WAL checkpoint thread's and the SQLite writer thread's files, which the bundle starts
  // by their URLs beside itself.
  for (const thread of ['checkpoint-worker.mjs', 'writer-worker.mjs']) {
    cpSync(join(root, 'server/src/storage', thread), join(dir, 'lib/cli', thread))
  }
  cpSync(viteBuild('server/console', 'console'), join(dir, 'console/dist'), { recursive: true })
  const script = join(out, 'build', 'widget')
  cpSync(join(script, 'widget.js'), join(dir, 'widget/dist/widget.js'))
  // Served at /widget.licenses.txt, as widget.js's banner says.
  cpSync(join(script, 'widget.licenses.txt'), join(dir, 'widget/dist/widget.licenses.txt'))
  cpSync(join(script, 'chunks'), join(dir, 'widget/dist/chunks'), { recursive: true })
  cpSync(join(root, 'server/README.md'), join(dir, 'README.md'))
  // The licenses of what the bundle carries inside it (libphonenumber-js: MIT, its metadata
  // Apache-2.0): they travel with the copy.
  const fromServer = createRequire(join(root, 'server/package.json'))
  const bundled = dirname(fromServer.resolve('libphonenumber-js/package.json'))
  for (const file of ['LICENSE', 'LICENSE.Apache']) {
    cpSync(join(bundled, file), join(dir, 'lib/cli/third-party/libphonenumber-js', file))
  }
  writeManifest('server', {
    description: manifest('.').description,
    bin: { textgate: './lib/cli/textgate.js' },
    files: ['lib', 'console/dist', 'widget/dist'],
    // pino-pretty: `serve` pretty-prints its log on a terminal outside production.
    dependencies: { ...pick('server', external), ...pick('server', ['pino-pretty']) },
  })
}

rmSync(out, { recursive: true, force: true })
mkdirSync(tarballs, { recursive: true })
const packed = []
for (const [name, make] of [
  ['store', store],
  ['widget', widget],
  ['server', server],
]) {
  say(`building @textgate/${name}…`)
  await make()
  const [info] = JSON.parse(
    run('npm', ['pack', '--json', '--pack-destination', tarballs], staged(name)),
  )
  const entry = {
    name: info.name,
    file: join(tarballs, info.filename),
    packedBytes: info.size,
    unpackedBytes: info.unpackedSize,
    files: info.entryCount,
  }
  packed.push(entry)
  say(
    `${entry.name}: ${(entry.packedBytes / 1024).toFixed(1)} kB packed, ${(entry.unpackedBytes / 1024).toFixed(1)} kB unpacked, ${entry.files} files`,
  )
}
if (json) console.log(JSON.stringify(packed, null, 2))
