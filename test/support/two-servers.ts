/**
 * Two real Textgate servers on one database, for the tests of what must hold across processes
 * (key revocation and rotation, the fraud guard's counters, the verification API's limits).
 * @module
 */
import { join } from 'node:path'
import type { DialectName } from '@textgate/server/storage'
import { createTestStorage, type TestStorage } from '@textgate/server/testing/storage'
import { type Env, type StartedTextgate, startTextgate, TEST_SECRET, tempDir } from './processes'

export interface TwoServers {
  /** The two servers, both on {@link TwoServers.databaseUrl}. */
  servers: StartedTextgate[]
  databaseUrl: string
  /** The leased PostgreSQL database on `postgres`; on `sqlite`, none (the file is in `dir`). */
  storage: TestStorage | undefined
  /** A folder of the test's own: the SQLite file (shared.db), and room for a test's files. */
  dir: string
  /** What a CLI command needs to work on the shared database. */
  cliEnv: Env
  /** Stops both servers, gives the database back and removes the folder. */
  close(): Promise<void>
}

/**
 * Starts two servers on one new database of `dialect`: a PostgreSQL database of its own, or a
 * SQLite file in a new folder. One after the other: the first migrates the database, the second
 * finds it ready. `env` goes to both (e.g. TRUST_PROXY, REDIS_URL).
 *
 * @example
 * const pair = await startTwoServers('postgres', { TRUST_PROXY: '1' })
 * for (const server of pair.servers) await fetch(`${server.url}/healthz`)
 * await pair.close()
 */
export async function startTwoServers(
  dialect: DialectName,
  env: Env = {},
  dirPrefix = 'tg-two-',
): Promise<TwoServers> {
  const dir = tempDir(dirPrefix)
  const servers: StartedTextgate[] = []
  let storage: TestStorage | undefined
  const close = async () => {
    await Promise.all(servers.map((server) => server.close()))
    await storage?.dispose()
    dir.remove()
  }
  try {
    storage = dialect === 'postgres' ? await createTestStorage('postgres') : undefined
    const databaseUrl = storage?.url ?? `sqlite:${join(dir.path, 'shared.db')}`
    servers.push(await startTextgate({ databaseUrl, env }))
    servers.push(await startTextgate({ databaseUrl, env }))
    return {
      servers,
      databaseUrl,
      storage,
      dir: dir.path,
      cliEnv: { DATABASE_URL: databaseUrl, TEXTGATE_SECRET: TEST_SECRET },
      close,
    }
  } catch (error) {
    await close()
    throw error
  }
}
