#!/usr/bin/env node
// `pnpm start`: everything a newcomer needs, in one terminal.
//   1. builds the widget and the operator console (vite) so the server can serve them,
//   2. creates the demo project and its test keys on first run (./data/demo-project.json, 0600),
//      and the demo project's owner in the console (a one-time setup link until it is used),
//   3. starts the Textgate server (SQLite in ./data, sandbox carrier) and the demo store,
//   4. prints the URLs, and stops both on Ctrl-C (or when either one dies).
// Settings: PORT (Textgate, 8787), DEMO_PORT (demo store, 3000); everything else as in the README.
import { spawn, spawnSync } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const tsx = join(root, 'node_modules', '.bin', 'tsx')
const vite = join(root, 'widget', 'node_modules', '.bin', 'vite')
const cli = join(root, 'server', 'src', 'cli', 'main.ts')
const dataDir = join(root, 'data')
const projectFile = join(dataDir, 'demo-project.json')

const port = Number(process.env.PORT ?? 8787)
const demoPort = Number(process.env.DEMO_PORT ?? 3000)
const textgateUrl = process.env.PUBLIC_URL ?? `http://localhost:${port}`
const storeUrl = `http://localhost:${demoPort}`

const say = (line) => console.log(`\x1b[1m[start]\x1b[0m ${line}`)
const fail = (line) => {
  console.error(`\x1b[31m[start]\x1b[0m ${line}`)
  process.exit(1)
}

mkdirSync(dataDir, { recursive: true })

say('building the widget…')
const build = spawnSync(vite, ['build', '--logLevel', 'warn'], {
  cwd: join(root, 'widget'),
  stdio: 'inherit',
})
if (build.status !== 0) fail('the widget did not build (see above)')
say('building the operator console…')
const consoleBuild = spawnSync(
  join(root, 'server', 'console', 'node_modules', '.bin', 'vite'),
  ['build', '--logLevel', 'warn'],
  { cwd: join(root, 'server', 'console'), stdio: 'inherit' },
)
if (consoleBuild.status !== 0) fail('the console did not build (see above)')

if (!existsSync(projectFile)) {
  const origins = [storeUrl, `http://127.0.0.1:${demoPort}`]
  say(`creating the demo project (allowed origins ${origins.join(', ')})…`)
  const created = spawnSync(
    tsx,
    [
      cli,
      'projects',
      'create',
      '--name',
      'Demo store',
      ...origins.flatMap((o) => ['--origin', o]),
      '--json',
    ],
    { cwd: root, encoding: 'utf8', env: { ...process.env, LOG_LEVEL: 'warn' } },
  )
  if (created.status !== 0) fail(`could not create the demo project:\n${created.stderr}`)
  writeFileSync(projectFile, created.stdout, { mode: 0o600 })
  chmodSync(projectFile, 0o600)
} else {
  say(`using the demo project in ${projectFile}`)
}
const project = JSON.parse(readFileSync(projectFile, 'utf8'))

// The demo project's owner in the console: created once; until its setup link is used, every
// start prints a fresh one (the link is the only way in: a password and an authenticator app).
const DEMO_OWNER = 'owner@demo-store.example'
const cliEnv = { ...process.env, LOG_LEVEL: 'warn', PUBLIC_URL: textgateUrl }
const runCli = (args) =>
  spawnSync(tsx, [cli, ...args, '--json'], { cwd: root, encoding: 'utf8', env: cliEnv })
const listed = runCli(['operators', 'list'])
if (listed.status !== 0) fail(`could not list console operators:\n${listed.stderr}`)
const owner = JSON.parse(listed.stdout).operators.find((o) => o.email === DEMO_OWNER)
let ownerLogin
if (owner?.setUp) {
  ownerLogin = `log in as ${DEMO_OWNER} with the password and authenticator you set up`
} else {
  const made = owner
    ? runCli(['operators', 'link', '--email', DEMO_OWNER])
    : runCli([
        'operators',
        'create',
        '--email',
        DEMO_OWNER,
        '--role',
        'owner',
        '--project',
        project.projectId,
      ])
  if (made.status !== 0) fail(`could not set up the demo owner:\n${made.stderr}`)
  ownerLogin = `${DEMO_OWNER}: open ${JSON.parse(made.stdout).setupUrl}\n                    (one use: choose a password, add the authenticator app)`
}

const children = []
let stopping = false

function launch(name, colour, args, env) {
  const child = spawn(tsx, args, {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const prefix = `\x1b[${colour}m${name.padEnd(8)}\x1b[0m│ `
  for (const stream of [child.stdout, child.stderr]) {
    let pending = ''
    stream.on('data', (chunk) => {
      pending += chunk
      const lines = pending.split('\n')
      pending = lines.pop() ?? ''
      for (const line of lines) process.stdout.write(`${prefix}${line}\n`)
    })
  }
  child.on('exit', (code, signal) => {
    if (!stopping) {
      console.error(`${prefix}exited (${signal ?? code}); stopping everything`)
      stop(1)
    }
  })
  children.push(child)
  return child
}

function stop(code = 0) {
  if (stopping) return
  stopping = true
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM')
  const timer = setTimeout(() => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL')
    process.exit(code)
  }, 8_000)
  Promise.all(
    children.map((c) => (c.exitCode !== null ? null : new Promise((r) => c.once('exit', r)))),
  ).then(() => {
    clearTimeout(timer)
    process.exit(code)
  })
}
process.once('SIGINT', () => stop(0))
process.once('SIGTERM', () => stop(0))

launch('textgate', '36', [cli, 'serve'], {
  PORT: String(port),
  PUBLIC_URL: textgateUrl,
  LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
})
launch('store', '35', [join(root, 'demo', 'src', 'store-server.ts')], {
  TEXTGATE_URL: `http://127.0.0.1:${port}`,
  TEXTGATE_PUBLIC_URL: textgateUrl,
  DEMO_PORT: String(demoPort),
  DEMO_PROJECT_FILE: projectFile,
  DEMO_DB_PATH: join(dataDir, 'demo-store.db'),
})

async function waitFor(url) {
  const deadline = Date.now() + 60_000
  while (Date.now() < deadline && !stopping) {
    try {
      if ((await fetch(url)).ok) return true
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 200))
  }
  return false
}

const ready =
  (await waitFor(`http://127.0.0.1:${port}/healthz`)) &&
  (await waitFor(`http://127.0.0.1:${demoPort}/`))
if (!ready) {
  if (!stopping) console.error('[start] the servers did not come up within 60 s')
  stop(1)
} else {
  console.log(`
  \x1b[1mTextgate is running.\x1b[0m

    Demo store      ${storeUrl}          ← open this, register with a test number
    Sandbox inbox   ${storeUrl}/sandbox?to=+447400123123
    Textgate API    ${textgateUrl}       (widget at /widget.js, keys at /.well-known/jwks.json)
    Console         ${textgateUrl}/console
      demo owner    ${ownerLogin}
    Project         ${project.projectId}  (test keys in ${projectFile})

  Test keys send no real SMS: the code shows up in the sandbox inbox. Ctrl-C stops everything.
`)
}
