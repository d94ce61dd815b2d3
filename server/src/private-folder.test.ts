import { mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { makePrivateFolder } from './private-folder'

describe('makePrivateFolder', () => {
  const root = mkdtempSync(join(tmpdir(), 'tg-folder-'))
  afterAll(() => rmSync(root, { recursive: true, force: true }))

  it('creates each missing folder owner-only, whatever the umask, and leaves existing ones be', () => {
    mkdirSync(join(root, 'shared'), { mode: 0o755 })
    const before = process.umask(0o022)
    try {
      makePrivateFolder(join(root, 'shared', 'a', 'b'), 'the test')
    } finally {
      process.umask(before)
    }
    for (const path of ['shared/a', 'shared/a/b']) {
      expect([path, statSync(join(root, path)).mode & 0o777]).toEqual([path, 0o700])
    }
    expect(statSync(join(root, 'shared')).mode & 0o777).toBe(0o755)
    // Again: nothing to do.
    makePrivateFolder(join(root, 'shared', 'a', 'b'), 'the test')
  })

  // Node's recursive mkdir spins for ever on these (nodejs mkdirp: ENOENT, parent EEXIST, …).
  it.skipIf(!statSync('/proc', { throwIfNoEntry: false })?.isDirectory())(
    'refuses a folder under /proc at once, naming it and why',
    () => {
      expect(() => makePrivateFolder('/proc/textgate-test/db', 'the SQLite database')).toThrow(
        'cannot create /proc/textgate-test, the folder of the SQLite database: /proc cannot hold folders (ENOENT)',
      )
    },
  )

  it('refuses a symbolic link to nowhere and a file in the way', () => {
    const dangling = join(root, 'dangling')
    symlinkSync(join(root, 'nowhere'), dangling)
    expect(() => makePrivateFolder(join(dangling, 'data'), 'the test')).toThrow(
      `cannot create ${dangling}, the folder of the test: file already exists (EEXIST)`,
    )
    const file = join(root, 'file')
    writeFileSync(file, '')
    expect(() => makePrivateFolder(join(file, 'data'), 'the test')).toThrow(
      `cannot create ${join(file, 'data')}, the folder of the test: not a directory (ENOTDIR)`,
    )
  })
})
