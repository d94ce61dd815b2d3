/**
 * `pnpm textgate migrate`: applies pending database migrations.
 * @module
 */
import { migrateToLatest, openStorage, reachDatabase } from '../../storage'
import { type Command, settings } from '../command'

export const migrateCommand: Command = {
  name: 'migrate',
  usage: '  migrate                       apply pending database migrations',
  async run({ out }) {
    const config = settings()
    const storage = openStorage(config.databaseUrl, { walCheckpointer: false })
    try {
      await reachDatabase(storage, config.databaseUrl)
      const applied = await migrateToLatest(storage)
      out.print(applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date', {
        applied,
      })
    } finally {
      await storage.close()
    }
  },
}
