/**
 * `pnpm textgate` as an operator's script meets it: wrong arguments, a mistyped project id, a
 * database it cannot reach. Each says what is wrong with a non-zero exit code and no stack
 * trace, and with `--json` stdout is JSON whatever happened.
 */
import { writeFileSync } from 'node:fs'
import Database from 'better-sqlite3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cli, createProject, type Env, spawning, tempDir } from '../support/processes'

// Each test's time limit is sized to the commands it runs (spawning(n)): each is a process.
describe('pnpm textgate on bad input', () => {
  const dir = tempDir('tg-cli-')
  const env: Env = {
    DATABASE_URL: `sqlite:${dir.path}/textgate.db`,
    TEXTGATE_DATA_DIR: dir.path,
    TEXTGATE_SECRET: 'cli-test-secret-that-is-at-least-32-bytes',
  }
  let projectId = ''
  beforeAll(() => {
    projectId = createProject(env, 'CLI shop', ['https://shop.example']).projectId
  }, spawning(1))
  afterAll(() => dir.remove())

  /** Runs with --json: stdout must be JSON, stderr must hold no stack trace. */
  function json(args: string[], extraEnv: Env = {}) {
    const result = cli([...args, '--json'], { ...env, ...extraEnv })
    expect(result.stderr, args.join(' ')).not.toMatch(/^\s+at /m)
    let body: unknown
    expect(
      () => {
        body = JSON.parse(result.stdout)
      },
      `${args.join(' ')}: stdout ${JSON.stringify(result.stdout)}`,
    ).not.toThrow()
    return { ...result, body: body as { error?: { code: string; message: string } } }
  }

  it('refuses a project id that names no project, and changes nothing', {
    timeout: spawning(9),
  }, () => {
    const missing = 'prj_doesnotexist000000000000'
    for (const args of [
      ['fraud', 'block', '--project', missing, '--prefix', '+4479112'],
      ['fraud', 'lists', '--project', missing],
      ['fraud', 'events', '--project', missing],
      ['webhooks', 'list', '--project', missing],
      ['registrations', 'show', '--project', missing],
      ['erase', '--phone', '+447400123456', '--project', missing],
      ['audit', 'verify', '--project', missing],
    ]) {
      const result = json(args)
      expect(result.status, args.join(' ')).not.toBe(0)
      expect(result.body.error?.message, args.join(' ')).toBe(`no project ${missing}`)
      expect(result.stderr).toContain(`no project ${missing}`)
    }
    // The block entry was not added for a project that does not exist.
    const lists = json(['fraud', 'lists', '--project', '*'])
    expect(lists.status, lists.stderr).toBe(0)
    expect(lists.body).toEqual([])
    // '*' still means every project where the command takes it.
    expect(json(['audit', 'verify', '--project', '*']).status).toBe(0)
  })

  it('answers bad arguments with a usage error, as JSON on stdout with --json', {
    timeout: spawning(8),
  }, () => {
    for (const args of [
      ['keys', 'list', '--project', projectId, '--bogus'],
      ['fraud', 'summary', '--project'],
      ['fraud', 'events', '--project', projectId, '--decision', 'sometimes'],
      ['webhooks'],
      ['webhooks', 'list', '--project', projectId, '--bogus'],
      ['nonsense'],
    ]) {
      const result = json(args)
      expect(result.status, `${args.join(' ')}: ${result.stderr}`).toBe(2)
      expect(result.body.error?.code).toBe('usage')
      expect(result.stderr).toContain(result.body.error?.message.split('\n')[0])
    }
    // A country code of the right shape that is no country (UK for GB) would refuse every
    // number the project is sent.
    const uk = json(
      ['projects', 'create', '--name', 'UK shop', '--origin', 'https://uk.example'].concat([
        '--country',
        'UK',
      ]),
    )
    expect(uk.status).toBe(1)
    expect(uk.body.error?.message).toBe(
      '"UK" is not an ISO 3166-1 alpha-2 country code (the United Kingdom is GB)',
    )
    // A success is JSON as before.
    const keys = json(['keys', 'list', '--project', projectId])
    expect(keys.status, keys.stderr).toBe(0)
    expect(Array.isArray(keys.body)).toBe(true)
  })

  it('takes only countries that are countries, wherever a command takes one', {
    timeout: spawning(5),
  }, () => {
    const message = '"UK" is not an ISO 3166-1 alpha-2 country code (the United Kingdom is GB)'
    const settings = `${dir.path}/fraud-settings.json`
    writeFileSync(settings, JSON.stringify({ spend: { costs: { UK: 0.04 } } }))
    for (const [args, status] of [
      [['fraud', 'block', '--project', projectId, '--country', 'UK'], 2],
      [['fraud', 'settings', '--project', projectId, '--file', settings], 1],
      [['erase', '--phone', '07400 123456', '--country', 'UK', '--project', projectId], 2],
    ] as const) {
      const result = json([...args])
      expect([args.join(' '), result.status]).toEqual([args.join(' '), status])
      expect(result.body.error?.message).toContain(message)
    }
    // Nothing was added or saved.
    expect(json(['fraud', 'lists', '--project', projectId]).body).toEqual([])
    const saved = json(['fraud', 'settings', '--project', projectId]).body as {
      spend?: { costs?: object }
    }
    expect(saved.spend?.costs).toEqual({})
  })

  it("sets, shows and resets a project's IP allowlist: the way back into a console it shuts out", {
    timeout: spawning(6),
  }, () => {
    const allowlist = (...args: string[]) =>
      json(['projects', 'ip-allowlist', '--project', projectId, ...args])
    const set = allowlist('--ip', '203.0.113.0/24, 2001:db8::/32')
    expect(set.status, set.stderr).toBe(0)
    expect(set.body).toMatchObject({ ipAllowlist: ['203.0.113.0/24', '2001:db8::/32'] })
    const bad = allowlist('--ip', '10.0.0.0/8,nope')
    expect(bad.status).toBe(2)
    expect(bad.body.error?.message).toBe('"nope" is not an IP address or CIDR range')
    expect(allowlist().body).toMatchObject({
      ipAllowlist: ['203.0.113.0/24', '2001:db8::/32'],
      changed: false,
    })
    expect(allowlist('--reset').body).toMatchObject({ ipAllowlist: [], changed: true })
    expect(allowlist().body).toMatchObject({ ipAllowlist: [] })
    // Each change is an audit row of the project: its chain still checks out.
    const verified = json(['audit', 'verify', '--project', projectId])
    expect(verified.status, verified.stderr).toBe(0)
  })

  it('names a file it cannot read or parse', { timeout: spawning(2) }, () => {
    const bad = `${dir.path}/templates.json`
    writeFileSync(bad, '{ "en": ')
    const unreadable = json(['templates', 'set', '--project', projectId, '--file', `${bad}.nope`])
    expect(unreadable.status).not.toBe(0)
    expect(unreadable.body.error?.message).toBe(`cannot read ${bad}.nope: no such file`)
    const invalid = json(['templates', 'set', '--project', projectId, '--file', bad])
    expect(invalid.status).not.toBe(0)
    expect(invalid.body.error?.message).toMatch(`${bad} is not valid JSON`)
  })

  it('stops at once, naming the folder and why, when the database folder cannot be made', {
    timeout: spawning(3),
  }, () => {
    // Node's recursive mkdir spun for ever here (/proc answers ENOENT, its parent EEXIST).
    const database = 'sqlite:/proc/textgate-test/db.sqlite'
    const message = `cannot create /proc/textgate-test, the folder of the SQLite database ${database}: /proc cannot hold folders (ENOENT)`
    for (const command of [['migrate'], ['keys', 'list', '--project', projectId]]) {
      const result = json(command, { DATABASE_URL: database })
      expect([command[0], result.status]).toEqual([command[0], 1])
      expect(result.body.error?.message).toBe(message)
    }
    const serve = cli(['serve'], { ...env, DATABASE_URL: database, PORT: '0' })
    expect(serve.status).toBe(1)
    expect(serve.stderr).toContain(message)
  })

  it('says so when the database cannot be reached, without its password', {
    timeout: spawning(1),
  }, () => {
    const result = json(['keys', 'list', '--project', projectId], {
      DATABASE_URL: 'postgres://ops:hunter22@127.0.0.1:1/textgate',
    })
    expect(result.status).toBe(1)
    expect(result.body.error?.message).toMatch(
      /^cannot reach the database at postgres:\/\/127\.0\.0\.1:1\/textgate: /,
    )
    expect(`${result.stdout}${result.stderr}`).not.toContain('hunter22')
  })
})

/**
 * Every change an operator makes from the command line is in the keyed audit log, as the same
 * change from the console (or, where the console has none, the secret-key API) is: the same
 * action, target and before/after, the command line as the actor, no secret in the row.
 */
describe('pnpm textgate changes in the audit log', () => {
  const dir = tempDir('tg-cli-audit-')
  const env: Env = {
    DATABASE_URL: `sqlite:${dir.path}/textgate.db`,
    TEXTGATE_DATA_DIR: dir.path,
    TEXTGATE_SECRET: 'cli-audit-test-secret-that-is-at-least-32-bytes',
  }
  let projectId = ''
  beforeAll(() => {
    projectId = createProject(env, 'Audited shop', ['https://audited.example']).projectId
    newRows()
  }, spawning(1))
  afterAll(() => dir.remove())

  interface Row {
    project_id: string
    actor_type: string
    actor_label: string
    action: string
    target: string | null
    before: unknown
    after: unknown
  }
  let seen = 0
  /** Everything written to the audit log since the last call. */
  function newRows(): (Row & { raw: string })[] {
    const file = new Database(`${dir.path}/textgate.db`, { readonly: true })
    try {
      const rows = file
        .prepare(
          'select rowid, project_id, actor_type, actor_label, action, target, before, after from audit_log where rowid > ? order by rowid',
        )
        .all(seen) as (Row & { rowid: number; before: string | null; after: string | null })[]
      seen = rows.at(-1)?.rowid ?? seen
      return rows.map(({ rowid: _, ...row }) => ({
        ...row,
        raw: JSON.stringify(row),
        before: row.before === null ? null : JSON.parse(row.before),
        after: row.after === null ? null : JSON.parse(row.after),
      }))
    } finally {
      file.close()
    }
  }
  /** Runs a command that changes something; its one audit row. */
  function change(args: string[]) {
    const result = cli([...args, '--json'], env)
    expect(result.status, `${args.join(' ')}: ${result.stderr}`).toBe(0)
    const rows = newRows()
    expect(
      rows.map((r) => r.action),
      args.join(' '),
    ).toHaveLength(1)
    const row = rows[0]!
    expect(row).toMatchObject({ actor_type: 'cli', actor_label: 'cli' })
    return { body: JSON.parse(result.stdout) as Record<string, unknown>, row }
  }

  it("projects create: project.create in the new project's chain, the keys by prefix only", {
    timeout: spawning(1),
  }, () => {
    const { body, row } = change([
      'projects',
      'create',
      '--name',
      'Another shop',
      '--origin',
      'https://another.example',
      '--country',
      'GB',
    ])
    expect(row).toMatchObject({
      project_id: body.projectId,
      action: 'project.create',
      target: body.projectId,
      before: null,
      after: {
        name: 'Another shop',
        allowedOrigins: ['https://another.example'],
        allowedCountries: ['GB'],
        codeLength: 6,
        keys: { mode: 'test', publishable: expect.stringMatching(/^pk_test_/) },
      },
    })
    expect(row.raw).not.toContain(body.secretKey)
    expect(row.raw).not.toContain(body.publishableKey)
  })

  it('keys create and revoke: keys.create (prefixes, never the keys) and keys.revoke', {
    timeout: spawning(3),
  }, () => {
    const { body, row } = change(['keys', 'create', '--project', projectId, '--live'])
    expect(row).toMatchObject({
      project_id: projectId,
      action: 'keys.create',
      target: projectId,
      after: {
        mode: 'live',
        publishable: expect.stringMatching(/^pk_live_/),
        secret: expect.stringMatching(/^sk_live_/),
      },
    })
    expect(row.raw).not.toContain(body.secretKey)
    const keys = JSON.parse(cli(['keys', 'list', '--project', projectId, '--json'], env).stdout)
    const live = (keys as { id: string; kind: string; mode: string }[]).find(
      (k) => k.kind === 'secret' && k.mode === 'live',
    )!
    const revoked = change(['keys', 'revoke', '--project', projectId, '--id', live.id]).row
    expect(revoked).toMatchObject({
      project_id: projectId,
      action: 'keys.revoke',
      target: live.id,
      before: { id: live.id, revokedAt: null },
      after: { id: live.id, revokedAt: expect.any(String) },
    })
  })

  it('fraud block, allow, remove and settings: fraud.list.add, fraud.list.remove, fraud.settings', {
    timeout: spawning(7),
  }, () => {
    const { body: entry, row } = change([
      'fraud',
      'block',
      '--project',
      projectId,
      '--prefix',
      '+4479112',
      '--note',
      'pumping',
    ])
    expect(row).toMatchObject({
      project_id: projectId,
      action: 'fraud.list.add',
      target: entry.id,
      after: { list: 'block', kind: 'prefix', value: '+4479112', note: 'pumping' },
    })
    // An entry for every project is the server's: its chain.
    const every = change(['fraud', 'allow', '--project', '*', '--ip', '203.0.113.7']).row
    expect(every).toMatchObject({
      project_id: '*',
      action: 'fraud.list.add',
      after: { list: 'allow', kind: 'ip', value: '203.0.113.7', projectId: '*' },
    })
    expect(
      change(['fraud', 'remove', '--project', projectId, '--id', entry.id as string]).row,
    ).toMatchObject({
      project_id: projectId,
      action: 'fraud.list.remove',
      target: entry.id,
      before: { id: entry.id, value: '+4479112' },
      after: null,
    })
    const file = `${dir.path}/fraud.json`
    writeFileSync(file, JSON.stringify({ velocity: { mode: 'shadow' } }))
    expect(change(['fraud', 'settings', '--project', projectId, '--file', file]).row).toMatchObject(
      {
        project_id: projectId,
        action: 'fraud.settings',
        target: projectId,
        before: { velocity: { mode: 'enforce' } },
        after: { velocity: { mode: 'shadow' } },
      },
    )
    // A number is a person's: the row keeps it masked with a keyed digest, as the console's do,
    // so an erasure by number leaves it nowhere (the row is append-only).
    const phone = change(['fraud', 'block', '--project', projectId, '--phone', '+447400123456'])
    expect(phone.body).toMatchObject({ value: '+447400123456' })
    expect(phone.row).toMatchObject({
      action: 'fraud.list.add',
      after: {
        kind: 'phone',
        value: '+44 ••••••••56',
        valueHmac: expect.stringMatching(/^hmac-sha256:[0-9a-f]{64}$/),
      },
    })
    expect(phone.row.raw).not.toContain('7400123456')
    const phoneRemoved = change([
      'fraud',
      'remove',
      '--project',
      projectId,
      '--id',
      phone.body.id as string,
    ])
    expect(phoneRemoved.row.raw).not.toContain('7400123456')
    expect(phoneRemoved.row.before).toMatchObject({
      valueHmac: (phone.row.after as { valueHmac: string }).valueHmac,
    })
    // Reading changes nothing and writes no row.
    expect(cli(['fraud', 'settings', '--project', projectId], env).status).toBe(0)
    expect(newRows()).toEqual([])
  })

  it('templates set and registrations set: templates.update and registrations.update', {
    timeout: spawning(3),
  }, () => {
    const templates = `${dir.path}/templates.json`
    writeFileSync(templates, JSON.stringify({ fr: '{code} est votre code' }))
    expect(
      change(['templates', 'set', '--project', projectId, '--file', templates]).row,
    ).toMatchObject({
      project_id: projectId,
      action: 'templates.update',
      target: projectId,
      before: null,
      after: { fr: '{code} est votre code' },
    })
    expect(change(['templates', 'set', '--project', projectId, '--reset']).row).toMatchObject({
      action: 'templates.update',
      before: { fr: '{code} est votre code' },
      after: null,
    })
    const registrations = `${dir.path}/registrations.json`
    writeFileSync(registrations, JSON.stringify({ signName: 'GoodShop' }))
    expect(
      change(['registrations', 'set', '--project', projectId, '--file', registrations]).row,
    ).toMatchObject({
      project_id: projectId,
      action: 'registrations.update',
      target: projectId,
      before: null,
      after: { signName: 'GoodShop' },
    })
  })

  it("erase: as the API's erasure, with its counts and never the number", {
    timeout: spawning(2),
  }, () => {
    const { body, row } = change(['erase', '--phone', '+447400123456', '--project', projectId])
    expect(row).toMatchObject({
      project_id: projectId,
      action: 'POST /v1/erasures',
      target: '/v1/erasures',
      after: { id: body.id, rows: body.rows },
    })
    expect(row.raw).not.toMatch(/7400123456|740012|123456/)
    expect(change(['erase', '--phone', '+447400123456', '--project', '*']).row.project_id).toBe('*')
  })

  it("webhooks create, disable, enable, rotate-secret, replay, delete: as the API's calls, never a secret", {
    timeout: spawning(8),
  }, () => {
    const created = change([
      'webhooks',
      'create',
      '--project',
      projectId,
      '--url',
      'http://127.0.0.1:9/hooks',
    ])
    const id = created.body.id as string
    expect(created.body.secret).toMatch(/^whsec_/)
    expect(created.row).toMatchObject({
      project_id: projectId,
      action: 'POST /v1/webhooks/endpoints',
      target: '/v1/webhooks/endpoints',
      after: { id, url: 'http://127.0.0.1:9/hooks', mode: 'test', enabled: true },
    })
    expect(created.row.raw).not.toContain(created.body.secret)
    const endpoint = ['--project', projectId, '--endpoint', id]
    expect(change(['webhooks', 'disable', ...endpoint]).row).toMatchObject({
      action: `PATCH /v1/webhooks/endpoints/${id}`,
      target: `/v1/webhooks/endpoints/${id}`,
      before: { enabled: true },
      after: { enabled: false, disabledReason: 'manual' },
    })
    expect(change(['webhooks', 'enable', ...endpoint]).row).toMatchObject({
      action: `PATCH /v1/webhooks/endpoints/${id}`,
      before: { enabled: false },
      after: { enabled: true },
    })
    const rotated = change(['webhooks', 'rotate-secret', ...endpoint])
    expect(rotated.row).toMatchObject({
      action: `POST /v1/webhooks/endpoints/${id}/rotate-secret`,
      after: { previousSecretExpiresAt: expect.any(String) },
    })
    expect(rotated.row.raw).not.toContain(rotated.body.secret)
    // Rotated again within that overlap: both earlier secrets sign, each until its own end, and
    // the list says so (never a secret in the audit row).
    const again = change(['webhooks', 'rotate-secret', ...endpoint, '--keep-hours', '1'])
    expect(again.body.previousSecrets).toHaveLength(2)
    expect(again.row).toMatchObject({
      after: {
        previousSecrets: [{ expiresAt: expect.any(String) }, { expiresAt: expect.any(String) }],
      },
    })
    for (const secret of [rotated.body.secret, again.body.secret]) {
      expect(again.row.raw).not.toContain(secret)
    }
    const listed = cli(['webhooks', 'list', '--project', projectId], env)
    expect(listed.stdout).toMatch(/2 earlier secrets also sign: until \S+ \(newest\), until \S+/)
    expect(change(['webhooks', 'replay', ...endpoint]).row).toMatchObject({
      action: `POST /v1/webhooks/endpoints/${id}/replay`,
      after: { replayed: 0 },
    })
    expect(change(['webhooks', 'delete', ...endpoint]).row).toMatchObject({
      action: `DELETE /v1/webhooks/endpoints/${id}`,
      before: { id, url: 'http://127.0.0.1:9/hooks' },
      after: null,
    })
  })

  it('leaves every chain intact', { timeout: spawning(1) }, () => {
    const verified = cli(['audit', 'verify', '--json'], env)
    expect(verified.status, verified.stdout).toBe(0)
    expect(JSON.parse(verified.stdout)).toMatchObject({ ok: true })
  })
})
