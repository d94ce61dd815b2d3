/**
 * Message status has one owner: only delivery/ creates messages or message parts, or sets their
 * status. (Others may still touch other columns: erasure and retention mask the number.)
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { expect, it } from 'vitest'

const SRC = join(__dirname, '..')
/** An insert into, or an update of, messages or message_parts, up to the statement's end. */
const WRITE = /\.(updateTable|insertInto)\(\s*'(messages|message_parts)'\s*\)([\s\S]*?)\.execute/g

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return entry.name === 'migrations' ? [] : sources(path)
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [path] : []
  })
}

/** Does the file create a message (or part) or set a status? */
function writesStatus(text: string): boolean {
  for (const [, verb, , chain] of text.matchAll(WRITE)) {
    if (verb === 'insertInto' || /\bstatus\b/.test(chain ?? '')) return true
  }
  return false
}

it('no module outside delivery/ creates a message or sets its status', () => {
  const writers = sources(SRC)
    .filter((file) => writesStatus(readFileSync(file, 'utf8')))
    .map((file) => relative(SRC, file))
  expect(writers.filter((file) => !file.startsWith('delivery/'))).toEqual([])
  // The check sees the writes that do exist.
  expect(writers).toEqual(expect.arrayContaining(['delivery/messages.ts', 'delivery/parts.ts']))
})
