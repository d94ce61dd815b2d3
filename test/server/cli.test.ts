/**
 * `pnpm textgate` as an operator's script meets it: wrong arguments, a mistyped project id, a
 * database it cannot reach. Each says what is wrong with a non-zero exit code and no stack
 * trace, and with `--json` stdout is JSON whatever happened.
 */
import { writeFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cli, createProject, type Env, tempDir } from '../support/processes'

describe('pnpm textgate on bad input', { timeout: 60_000 }, () => {
  const dir = tempDir('tg-cli-')
  const env: Env = {
    DATABASE_URL: `sqlite:${dir.path}/textgate.db`,
    TEXTGATE_DATA_DIR: dir.path,
    TEXTGATE_SECRET: 'cli-test-secret-that-is-at-least-32-bytes',
  }
  let projectId = ''
  beforeAll(() => {
    projectId = createProject(env, 'CLI shop', ['https://shop.example']).projectId
  })
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

  it('refuses a project id that names no project, and changes nothing', () => {
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

  it('answers bad arguments with a usage error, as JSON on stdout with --json', () => {
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

  it('takes only countries that are countries, wherever a command takes one', () => {
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

  it("sets, shows and resets a project's IP allowlist: the way back into a console it shuts out", () => {
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

  it('names a file it cannot read or parse', () => {
    const bad = `${dir.path}/templates.json`
    writeFileSync(bad, '{ "en": ')
    const unreadable = json(['templates', 'set', '--project', projectId, '--file', `${bad}.nope`])
    expect(unreadable.status).not.toBe(0)
    expect(unreadable.body.error?.message).toBe(`cannot read ${bad}.nope: no such file`)
    const invalid = json(['templates', 'set', '--project', projectId, '--file', bad])
    expect(invalid.status).not.toBe(0)
    expect(invalid.body.error?.message).toMatch(`${bad} is not valid JSON`)
  })

  it('stops at once, naming the folder and why, when the database folder cannot be made', () => {
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

  it('says so when the database cannot be reached, without its password', () => {
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
