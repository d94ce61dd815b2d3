/**
 * The demo store's server against a real Textgate process: what it accepts and what it refuses.
 */
import { join } from 'node:path'
import { createStoreApp, openAccounts } from '@textgate/demo/store-server'
import Database from 'better-sqlite3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type CreatedProject,
  createProject,
  sandboxNumber,
  startTextgate,
  tempDir,
  verifyThroughApi,
} from '../support/processes'

const ORIGIN = 'http://store.test'

describe('demo store server', () => {
  let textgate: Awaited<ReturnType<typeof startTextgate>>
  let project: CreatedProject
  let other: CreatedProject
  let store: ReturnType<typeof createStoreApp>
  const dir = tempDir('tg-store-')

  beforeAll(async () => {
    textgate = await startTextgate()
    project = createProject(textgate.env, 'Store', [ORIGIN])
    other = createProject(textgate.env, 'Another store', [ORIGIN])
    store = createStoreApp({
      textgateUrl: textgate.url,
      projectId: project.projectId,
      publishableKey: project.publishableKey,
      secretKey: project.secretKey,
      dbPath: join(dir.path, 'store.db'),
    })
  })

  afterAll(async () => {
    store?.close()
    await textgate?.close()
    dir.remove()
  })

  function register(fields: Record<string, string>) {
    return store.app.request('http://store.test/register', {
      method: 'POST',
      body: new URLSearchParams(fields),
    })
  }

  it('serves the registration page with the widget script and the publishable key', async () => {
    const response = await store.app.request('http://store.test/')
    const html = await response.text()
    expect(response.status).toBe(200)
    expect(html).toContain(`<script type="module" src="${textgate.url}/widget.js"></script>`)
    expect(html).toContain(`publishable-key="${project.publishableKey}"`)
    expect(html).not.toContain(project.secretKey)
    expect(response.headers.get('Content-Security-Policy')).toContain("script-src 'self'")
  })

  it('creates the account from a valid token, answers the same form again with it, refuses another', async () => {
    const phone = await sandboxNumber(textgate.url, project, 'GB')
    const token = await verifyThroughApi(textgate.url, project, phone)
    const fields = { name: 'Ada <Lovelace>', email: 'ada@example.com', phone_token: token }

    const created = await register(fields)
    expect(created.status).toBe(303)
    const welcome = await store.app.request(`http://store.test${created.headers.get('Location')}`)
    const html = await welcome.text()
    expect(html).toContain('Ada &lt;Lovelace&gt;')
    // The welcome page writes the number as people do: +44 7400 123456.
    expect(html.replace(/(\d) (?=\d)/g, '$1')).toContain(phone)
    expect(html).toMatch(/\+44 \d{4} \d{6}/)

    // The same form again (a reload that posts it again): the same account, not an error.
    const again = await register(fields)
    expect(again.status).toBe(303)
    expect(again.headers.get('Location')).toBe(created.headers.get('Location'))
    // The token with other details is a second account from one verification: refused.
    const other = await register({ ...fields, email: 'eve@example.com' })
    expect(other.status).toBe(422)
    expect(await other.text()).toContain('already used')
  })

  it('a form sent twice at once (a double click) makes one account, and both land on it', async () => {
    const phone = await sandboxNumber(textgate.url, project, 'GB')
    const token = await verifyThroughApi(textgate.url, project, phone)
    const fields = { name: 'Katherine', email: 'katherine@example.com', phone_token: token }
    const [first, second] = await Promise.all([register(fields), register(fields)])
    expect([first.status, second.status]).toEqual([303, 303])
    expect(second.headers.get('Location')).toBe(first.headers.get('Location'))
    const accounts = new Database(join(dir.path, 'store.db'), { readonly: true })
    const rows = accounts.prepare('SELECT id FROM accounts WHERE phone = ?').all(phone)
    accounts.close()
    expect(rows).toHaveLength(1)
  })

  it('opens a store database from before accounts kept their token id', () => {
    const path = join(dir.path, 'old-store.db')
    const old = new Database(path)
    old.exec(`CREATE TABLE accounts (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL,
      phone TEXT NOT NULL, phone_verified_at TEXT NOT NULL, created_at TEXT NOT NULL)`)
    old.exec(`INSERT INTO accounts (name, email, phone, phone_verified_at, created_at)
      VALUES ('Ada', 'ada@example.com', '+447400123123', '2026-01-01', '2026-01-01')`)
    old.close()
    const accounts = openAccounts(path)
    expect(accounts.find(1)).toMatchObject({ name: 'Ada', phone_token_id: null })
    const fields = {
      name: 'Grace',
      email: 'grace@example.com',
      phone: '+447400123124',
      phone_verified_at: '2026-01-01',
      marketing_opt_in: 0,
    }
    const id = accounts.create({ ...fields, phone_token_id: 'tok_1' })
    expect(accounts.findByToken('tok_1')?.id).toBe(id)
    // One account per token, whatever the store's code does.
    expect(() => accounts.create({ ...fields, phone_token_id: 'tok_1' })).toThrow(/UNIQUE/)
    accounts.close()
  })

  it('refuses a token made for another project', async () => {
    const phone = await sandboxNumber(textgate.url, other, 'GB')
    const token = await verifyThroughApi(textgate.url, other, phone)
    const response = await register({ name: 'Eve', email: 'eve@example.com', phone_token: token })
    expect(response.status).toBe(422)
    expect(await response.text()).toContain('not made for this store')
  })

  it('refuses a tampered token: a changed phone number breaks the signature', async () => {
    const phone = await sandboxNumber(textgate.url, project, 'US')
    const token = await verifyThroughApi(textgate.url, project, phone)
    const [header, payload, signature] = token.split('.') as [string, string, string]
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString())
    claims.phone_number = '+15005550006'
    const forged = `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${signature}`
    const response = await register({
      name: 'Mallory',
      email: 'm@example.com',
      phone_token: forged,
    })
    expect(response.status).toBe(422)
    expect(await response.text()).toContain('Please verify your phone number')
  })

  it('keeps what the shopper typed when the form comes back with an error', async () => {
    const response = await register({ name: 'Grace', email: 'not-an-email', phone_token: '' })
    const html = await response.text()
    expect(response.status).toBe(422)
    expect(html).toContain('Please enter a valid email address.')
    expect(html).toContain('value="Grace"')
    expect(html).toContain('value="not-an-email"')
  })

  it('refuses a form without a token', async () => {
    const response = await register({ name: 'Grace', email: 'grace@example.com' })
    expect(response.status).toBe(422)
    expect(await response.text()).toContain('Please verify your phone number')
  })
})
