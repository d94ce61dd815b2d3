/**
 * Real processes for cross-package tests: the Textgate CLI and server, the demo store, each
 * on a free loopback port with its own temporary data folder.
 * @module
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { get as httpGet } from 'node:http'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

export const ROOT = resolve(import.meta.dirname, '../..')
const TSX = join(ROOT, 'node_modules/.bin/tsx')
const CLI = join(ROOT, 'server/src/cli/main.ts')
const STORE_ENTRY = join(ROOT, 'demo/src/store-server.ts')

export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => resolvePort(typeof address === 'object' && address ? address.port : 0))
    })
  })
}

export function tempDir(prefix = 'tg-'): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix))
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) }
}

export type Env = Record<string, string | undefined>

/** Longer than any command takes on a loaded machine; then it is stopped (SIGTERM). */
export const CLI_TIMEOUT_MS = 60_000

/**
 * How long a started process may take to answer its ready path before it is taken for hung
 * (and killed, its output in the error): as long as a command may run. A process that exits
 * early fails at once, whatever this is.
 */
export const READY_TIMEOUT_MS = CLI_TIMEOUT_MS

/**
 * What one spawned process (a CLI command, a server start) is given in a test's time limit: a
 * 2-core machine under a load of 6 took 4–5 s a command (tsx compiling and starting a process)
 * and 13 s for a test of two; this is four times that.
 */
const PER_PROCESS_MS = 20_000

/**
 * A test's (or hook's) time limit, sized to the processes it spawns one after another: each
 * gets {@link PER_PROCESS_MS}, and one more hard limit on top, so that a process that hangs
 * fails its test as itself (stopped at {@link CLI_TIMEOUT_MS}, status null, its output in the
 * assertion; or not ready by {@link READY_TIMEOUT_MS}) rather than as a bare timeout. It bounds a
 * failure, not a pass: a test takes what its processes take.
 * @example it('…', { timeout: spawning(5) }, async () => { … five cliAsync calls … })
 */
export function spawning(processes: number): number {
  return CLI_TIMEOUT_MS + processes * PER_PROCESS_MS
}

/** Runs a CLI command to completion. */
export function cli(args: string[], env: Env, cliPath = CLI) {
  const result = spawnSync(TSX, [cliPath, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    // A command that never ends fails its test (status null) rather than hang the suite: this
    // process's own timers cannot fire while it waits.
    timeout: CLI_TIMEOUT_MS,
  })
  return { status: result.status, stdout: result.stdout, stderr: result.stderr }
}

/**
 * Like {@link cli}, without blocking this process's event loop: use it while this process holds
 * keep-alive connections to a server (a blocked loop misses the server closing idle sockets).
 */
export function cliAsync(
  args: string[],
  env: Env,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolveRun) => {
    const child = spawn(TSX, [CLI, ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk) => {
      stdout += chunk
    })
    child.stderr.on('data', (chunk) => {
      stderr += chunk
    })
    child.on('close', (status) => resolveRun({ status, stdout, stderr }))
  })
}

export interface CreatedProject {
  projectId: string
  name: string
  origins: string[]
  publishableKey: string
  secretKey: string
}

function projectsCreateArgs(name: string, origins: string[], fraudSettingsFile?: string) {
  return [
    'projects',
    'create',
    '--name',
    name,
    ...origins.flatMap((o) => ['--origin', o]),
    ...(fraudSettingsFile ? ['--fraud-settings', fraudSettingsFile] : []),
    '--json',
  ]
}

function createdProject(result: { status: number | null; stdout: string; stderr: string }) {
  if (result.status !== 0) throw new Error(`projects create failed: ${result.stderr}`)
  return JSON.parse(result.stdout) as CreatedProject
}

export function createProject(
  env: Env,
  name: string,
  origins: string[],
  fraudSettingsFile?: string,
  /** Another checkout's CLI (the benchmark's before rows). */
  cliPath = CLI,
): CreatedProject {
  return createdProject(cli(projectsCreateArgs(name, origins, fraudSettingsFile), env, cliPath))
}

/**
 * Like {@link createProject}, without blocking this process's event loop (see {@link cliAsync}):
 * for a test that holds connections to running servers.
 */
export async function createProjectAsync(
  env: Env,
  name: string,
  origins: string[],
  fraudSettingsFile?: string,
): Promise<CreatedProject> {
  return createdProject(await cliAsync(projectsCreateArgs(name, origins, fraudSettingsFile), env))
}

export interface Started {
  child: ChildProcess
  url: string
  output: () => string
  stop(signal?: NodeJS.Signals): Promise<number | null>
}

/** Starts a long-running TS entry point and waits until `readyPath` answers 200. */
export async function startProcess(
  entry: string[],
  env: Env,
  port: number,
  readyPath = '/healthz',
  { direct = false, nodeArgs = [] }: { direct?: boolean; nodeArgs?: string[] } = {},
): Promise<Started> {
  // The tsx binary runs the program in a child node process: a signal it cannot relay (SIGKILL)
  // would kill only the wrapper. `direct` runs node itself with tsx's loader, so child.pid is
  // the program and SIGKILL reaches it.
  const [command, args] = direct
    ? [process.execPath, [...nodeArgs, '--import', 'tsx', ...entry]]
    : [TSX, entry]
  const child = spawn(command, args, {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let log = ''
  child.stdout?.on('data', (chunk) => {
    log += chunk
  })
  child.stderr?.on('data', (chunk) => {
    log += chunk
  })
  const exited = new Promise<number | null>((resolveExit) =>
    child.once('exit', (code) => resolveExit(code)),
  )
  const url = `http://127.0.0.1:${port}`
  const deadline = Date.now() + READY_TIMEOUT_MS
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${entry.join(' ')} exited early:\n${log}`)
    if (await answers200(`${url}${readyPath}`)) break
    if (Date.now() > deadline) {
      child.kill('SIGKILL')
      throw new Error(`${entry.join(' ')} did not become ready:\n${log}`)
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  return {
    child,
    url,
    output: () => log,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null) child.kill(signal)
      return exited
    },
  }
}

/**
 * One GET on a connection of its own (no keep-alive pool): polling must not leave idle sockets
 * behind that a later `fetch` could pick up after the server closed them.
 */
function answers200(url: string): Promise<boolean> {
  return new Promise((resolveAnswer) => {
    const req = httpGet(url, { agent: false }, (res) => {
      res.resume()
      resolveAnswer(res.statusCode === 200)
    })
    req.on('error', () => resolveAnswer(false))
    req.setTimeout(2_000, () => req.destroy())
  })
}

export const TEST_SECRET = 'e2e-secret-0123456789-0123456789-0123456789'

/** Starts `pnpm textgate serve` on a fresh SQLite (or `databaseUrl`) in its own data folder. */
export async function startTextgate(
  options: {
    databaseUrl?: string
    env?: Env
    direct?: boolean
    /** Another checkout's CLI (the benchmark's before rows). */
    cliPath?: string
    /** Node flags of a direct process (e.g. --cpu-prof). */
    nodeArgs?: string[]
    /** The host of PUBLIC_URL (WebAuthn needs a name such as localhost, not an address). */
    publicHost?: string
  } = {},
) {
  const dir = tempDir('tg-server-')
  const port = await freePort()
  const env: Env = {
    PORT: String(port),
    PUBLIC_URL: `http://${options.publicHost ?? '127.0.0.1'}:${port}`,
    TEXTGATE_SECRET: TEST_SECRET,
    TEXTGATE_DATA_DIR: dir.path,
    DATABASE_URL: options.databaseUrl ?? `sqlite:${dir.path}/textgate.db`,
    ...options.env,
  }
  const server = await startProcess([options.cliPath ?? CLI, 'serve'], env, port, '/healthz', {
    direct: options.direct,
    ...(options.nodeArgs ? { nodeArgs: options.nodeArgs } : {}),
  })
  return {
    ...server,
    env,
    port,
    async close() {
      const code = await server.stop()
      dir.remove()
      return code
    },
  }
}

export type StartedTextgate = Awaited<ReturnType<typeof startTextgate>>

export interface DemoStore {
  textgate: StartedTextgate
  /** The project the store uses; its only origin is the store's. */
  project: CreatedProject
  store: Started
  /** The store's address, e.g. http://127.0.0.1:41234. */
  url: string
  /** The store's own folder: its project file and store.db, and room for a test's files. */
  dir: string
  /** Stops the store, then Textgate, and removes both folders. */
  close(): Promise<void>
}

/**
 * Starts Textgate on a fresh SQLite and the demo store (demo/src/store-server.ts) in front of
 * it, each on a free loopback port, with a project `projectName` for the store.
 *
 * @example
 * const demo = await startDemoStore('Keyboard store', 'tg-keyboard-')
 * await page.goto(demo.url)
 * await demo.close()
 */
export async function startDemoStore(
  projectName: string,
  dirPrefix = 'tg-store-',
): Promise<DemoStore> {
  const dir = tempDir(dirPrefix)
  let textgate: StartedTextgate | undefined
  try {
    textgate = await startTextgate()
    const storePort = await freePort()
    const url = `http://127.0.0.1:${storePort}`
    const project = createProject(textgate.env, projectName, [url])
    const projectFile = join(dir.path, 'demo-project.json')
    writeFileSync(projectFile, JSON.stringify(project))
    const store = await startProcess(
      [STORE_ENTRY],
      {
        TEXTGATE_URL: textgate.url,
        DEMO_PORT: String(storePort),
        DEMO_PROJECT_FILE: projectFile,
        DEMO_DB_PATH: join(dir.path, 'store.db'),
      },
      storePort,
      '/',
    )
    const started = textgate
    return {
      textgate: started,
      project,
      store,
      url,
      dir: dir.path,
      async close() {
        await store.stop()
        await started.close()
        dir.remove()
      },
    }
  } catch (error) {
    await textgate?.close()
    dir.remove()
    throw error
  }
}

/**
 * Starts `pnpm textgate serve` again with the environment (data folder, port) of an earlier
 * start, as a direct node process: `stop('SIGKILL')` then really kills the server.
 */
export function restartTextgate(env: Env): Promise<Started> {
  return startProcess([CLI, 'serve'], env, Number(env.PORT), '/healthz', { direct: true })
}

/** Verifies `phone` through the public API, as the widget would, and returns the phone token. */
export async function verifyThroughApi(
  textgateUrl: string,
  project: CreatedProject,
  phone: string,
): Promise<string> {
  const origin = project.origins[0] ?? ''
  const headers = {
    Authorization: `Bearer ${project.publishableKey}`,
    'Content-Type': 'application/json',
    Origin: origin,
  }
  const started = await fetch(`${textgateUrl}/v1/verifications`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ phone, consent: { accepted: true, version: 'test' } }),
  })
  if (started.status !== 201) throw new Error(`start failed: ${await started.text()}`)
  const { id } = (await started.json()) as { id: string }
  const code = await sandboxCode(textgateUrl, project, phone)
  const checked = await fetch(`${textgateUrl}/v1/verifications/${id}/check`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ code }),
  })
  if (checked.status !== 200) throw new Error(`check failed: ${await checked.text()}`)
  return ((await checked.json()) as { token: string }).token
}

/** The newest code in `phone`'s sandbox inbox, waiting up to 10 s for one other than `previous`. */
export async function sandboxCode(
  textgateUrl: string,
  project: CreatedProject,
  phone: string,
  previousId?: string,
): Promise<string> {
  const deadline = Date.now() + 10_000
  for (;;) {
    const res = await fetch(`${textgateUrl}/v1/sandbox/messages?to=${encodeURIComponent(phone)}`, {
      headers: { Authorization: `Bearer ${project.secretKey}` },
    })
    const messages = (await res.json()) as { id: string; body: string }[]
    const newest = messages[0]
    if (newest && newest.id !== previousId) {
      const code = /^(\d+)/.exec(newest.body)?.[1]
      if (code) return code
    }
    if (Date.now() > deadline) {
      throw new Error(`no code reached ${phone}: ${await guardSaid(textgateUrl, project, phone)}`)
    }
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** What the fraud guard decided about `phone` (a decoy is answered as sent, and never sent). */
async function guardSaid(textgateUrl: string, project: CreatedProject, phone: string) {
  try {
    const res = await fetch(`${textgateUrl}/v1/fraud/events?limit=500`, {
      headers: { Authorization: `Bearer ${project.secretKey}` },
    })
    const events = (await res.json()) as { phone: string; outcome: string; reasons: string[] }[]
    const about = events.filter((event) => event.phone === phone)
    return about.length
      ? `the guard's events for it: ${JSON.stringify(about)}`
      : `the guard recorded no event for it (${events.length} events in all)`
  } catch (error) {
    return `the guard's events could not be read (${(error as Error).message})`
  }
}

export async function sandboxNumber(
  textgateUrl: string,
  project: CreatedProject,
  country = 'GB',
): Promise<string> {
  const res = await fetch(`${textgateUrl}/v1/sandbox/numbers/random?country=${country}`, {
    headers: { Authorization: `Bearer ${project.secretKey}` },
  })
  if (!res.ok) throw new Error(`no sandbox number: ${await res.text()}`)
  return ((await res.json()) as { phone: string }).phone
}
