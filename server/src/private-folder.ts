/**
 * Folders that hold the database and the generated secret: created owner-only, and refused at
 * once with the path and the reason when they cannot be.
 * @module
 */
import { chmodSync, existsSync, mkdirSync } from 'node:fs'
import { dirname, resolve } from 'node:path'

/**
 * Creates `dir` and each missing folder above it, 0700 whatever the umask (folders that exist
 * are left as they are), one level at a time. Node's `mkdirSync(dir, { recursive: true })`
 * never returns when a parent exists but cannot hold folders and mkdir answers ENOENT (a path
 * under /proc, a symbolic link to nowhere): it makes the parent (EEXIST), tries the child again
 * (ENOENT), and so on for ever. Here each folder is made once; a failure throws an Error that
 * names `purpose`, the folder and the system's reason.
 * @example
 * makePrivateFolder('./data', 'the SQLite database')
 */
export function makePrivateFolder(dir: string, purpose: string): void {
  const missing: string[] = []
  for (let path = resolve(dir); !existsSync(path); path = dirname(path)) {
    missing.unshift(path)
    if (dirname(path) === path) break
  }
  for (const path of missing) {
    try {
      mkdirSync(path, { mode: 0o700 })
      chmodSync(path, 0o700)
    } catch (error) {
      throw new Error(`cannot create ${path}, the folder of ${purpose}: ${reason(error, path)}`)
    }
  }
}

/** The system's words for a failed mkdir, without Node's repetition of the call and path. */
function reason(error: unknown, path: string): string {
  const { code, message } = error as NodeJS.ErrnoException
  // Its parent was there a moment ago (or was just made): it is one that holds no folders.
  if (code === 'ENOENT' && existsSync(dirname(path))) {
    return `${dirname(path)} cannot hold folders (ENOENT)`
  }
  const words = /^\w+: ([^,]+)/.exec(message ?? '')?.[1]
  return words && code ? `${words} (${code})` : String(message ?? error)
}
