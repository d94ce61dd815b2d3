/**
 * Live-mode helpers for process tests: a project with live keys written straight into a
 * running server's database (as `projects create` + `keys create --live` do, without two more
 * process starts), and the two calls every live test makes.
 * @module
 */
import { createApiKey, createProject } from '@textgate/server/projects'
import { openStorage } from '@textgate/server/storage'

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
