/**
 * Live-mode helpers for process tests: a server whose routing file sends through a carrier, a
 * project with live keys written straight into a running server's database (as `projects
 * create` + `keys create --live` do, without two more process starts), and the two calls every
 * live test makes.
 * @module
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createApiKey, createProject } from '@textgate/server/projects'
import { openStorage } from '@textgate/server/storage'
import { type Env, type StartedTextgate, startTextgate, tempDir } from './processes'

export interface LiveKeys {
  publishable: string
  secret: string
}

/** `countries`: the project's allowed countries (absent: every country). */
export async function createLiveProject(
  databaseUrl: string,
  origin: string,
  countries?: string[],
): Promise<LiveKeys> {
  const storage = openStorage(databaseUrl)
  try {
    const { project } = await createProject(storage.db, {
      name: 'Live shop',
      origins: [origin],
      ...(countries ? { countries } : {}),
    })
    return {
      publishable: await createApiKey(storage.db, project.id, 'publishable', 'live'),
      secret: await createApiKey(storage.db, project.id, 'secret', 'live'),
    }
  } finally {
    await storage.close()
  }
}

/** POST /v1/verifications with the live publishable key, as the widget on `origin` would. */
export function startLive(url: string, keys: LiveKeys, origin: string, phone: string) {
  return fetch(`${url}/v1/verifications`, {
    method: 'POST',
    headers: {
      Authorization: `Bearer ${keys.publishable}`,
      'Content-Type': 'application/json',
      Origin: origin,
    },
    body: JSON.stringify({ phone, consent: { accepted: true } }),
  })
}

export interface LiveTextgate {
  server: StartedTextgate
  keys: LiveKeys
  /** Stops the server and removes the routing file's folder. */
  close(): Promise<void>
}

/**
 * Starts Textgate with `routes` as its routing file (TEXTGATE_ROUTES_FILE) and `env`, and a live
 * project whose only origin is `origin`.
 *
 * @example
 * const live = await startLiveTextgate({ carriers: [smppEntry], projects }, {}, ORIGIN)
 * await startLive(live.server.url, live.keys, ORIGIN, '+447400321321')
 */
export async function startLiveTextgate(
  routes: object,
  env: Env,
  origin: string,
): Promise<LiveTextgate> {
  const dir = tempDir('tg-routes-')
  let server: StartedTextgate | undefined
  try {
    const routesFile = join(dir.path, 'routes.json')
    writeFileSync(routesFile, JSON.stringify(routes))
    server = await startTextgate({ env: { TEXTGATE_ROUTES_FILE: routesFile, ...env } })
    const started = server
    const keys = await createLiveProject(String(server.env.DATABASE_URL), origin)
    return {
      server,
      keys,
      async close() {
        await started.close()
        dir.remove()
      },
    }
  } catch (error) {
    await server?.close()
    dir.remove()
    throw error
  }
}

export interface LiveMessage {
  status: string
  carrier: string | null
  deliveredAt: string | null
}

/** The texts of verification `id`, as GET /v1/verifications/{id} gives them. */
export async function liveMessages(
  url: string,
  keys: LiveKeys,
  id: string,
): Promise<LiveMessage[]> {
  const res = await fetch(`${url}/v1/verifications/${id}`, {
    headers: { Authorization: `Bearer ${keys.secret}` },
  })
  if (res.status !== 200) throw new Error(`GET /v1/verifications/${id}: ${res.status}`)
  return ((await res.json()) as { messages: LiveMessage[] }).messages
}
