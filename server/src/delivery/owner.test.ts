/** Message status has one owner: only delivery/ writes the messages and message_parts tables. */
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { expect, it } from 'vitest'

const SRC = join(__dirname, '..')
const WRITES = /\.(updateTable|insertInto)\(\s*'(messages|message_parts)'/

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return entry.name === 'migrations' ? [] : sources(path)
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [path] : []
  })
}

it('no module outside delivery/ writes a message or a message part', () => {
  const writers = sources(SRC)
    .filter((file) => WRITES.test(readFileSync(file, 'utf8')))
    .map((file) => relative(SRC, file))
  expect(writers.filter((file) => !file.startsWith('delivery/'))).toEqual([])
  // The check sees the writes that do exist.
  expect(writers).toEqual(expect.arrayContaining(['delivery/messages.ts', 'delivery/parts.ts']))
})
