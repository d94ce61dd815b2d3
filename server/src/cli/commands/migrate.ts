/**
 * `pnpm textgate migrate`: applies pending database migrations.
 * @module
 */
import { sealAfterMigrations } from '../../audit'
import { deriveSecrets } from '../../secrets'
import { migrateToLatest, openStorage, reachDatabase } from '../../storage'
import { type Command, settings } from '../command'

export const migrateCommand: Command = {
  name: 'migrate',
  usage: `  migrate                       apply pending database migrations (at the upgrade to keyed
                                audit chains, seal the older chains with a keyed row)`,
  async run({ out }) {
    const config = settings()
    const storage = openStorage(config.databaseUrl, { walCheckpointer: false })
    try {
      await reachDatabase(storage, config.databaseUrl)
      const applied = await migrateToLatest(storage)
      // At the upgrade to keyed audit chains, the older chains get a keyed row that seals them.
      const sealed = await sealAfterMigrations(
        storage.db,
        deriveSecrets(config.secret).auditKey,
        applied,
      )
      const human = [
        applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date',
        ...(sealed.length ? [`audit chains sealed with a keyed row: ${sealed.join(', ')}`] : []),
      ]
      out.print(human.join('\n'), { applied, sealedAuditChains: sealed })
    } finally {
      await storage.close()
    }
  },
}
