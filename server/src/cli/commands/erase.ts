/**
 * `pnpm textgate erase --phone N [--country XX] (--project ID | --project '*') [--include-lists]`:
 * erasure by number (GDPR Art. 17). Prints how many rows of each table were removed or masked,
 * never the number. Audited as the API's erasure is (`POST /v1/erasures`), with the erasure's id
 * and counts, never the number.
 * @module
 */
import { countryCode, notACountry } from '@textgate/shared'
import { GLOBAL_CHAIN } from '../../audit'
import { ApiError } from '../../http/errors'
import { parsePhoneAnyType } from '../../phone'
import { eraseNumber } from '../../privacy/erasure'
import {
  auditChange,
  type Command,
  requireProject,
  settings,
  UsageError,
  withStorage,
} from '../command'

export const eraseCommand: Command = {
  name: 'erase',
  usage: `  erase --phone N [--country XX] --project ID|'*' [--include-lists]
                                erase a number from every record (GDPR Art. 17); block/allow
                                entries for it only with --include-lists`,
  async run({ values, out }) {
    const { phone, project } = values
    if (!phone) throw new UsageError('erase needs --phone (E.164, or national with --country)')
    if (!project) throw new UsageError("erase needs --project ID (or '*' for every project)")
    const given = values.country?.[0]
    const country = given === undefined ? undefined : countryCode(given)
    // UK for GB would otherwise read as "national numbers need --country".
    if (given !== undefined && !country) throw new UsageError(notACountry(given))
    let e164: string
    try {
      e164 = parsePhoneAnyType(phone, country).e164
    } catch (error) {
      if (error instanceof ApiError && error.details.reason === 'extension') {
        throw new UsageError(`--phone ${phone}: ${error.message}`)
      }
      throw new UsageError(
        `--phone ${phone} is not a valid number (national numbers need --country)`,
      )
    }
    const config = settings()
    const erased = await withStorage(config, async (storage) => {
      // A mistyped project would erase nothing and still report the erasure done.
      await requireProject(storage.db, project, { everyProject: true })
      const done = await eraseNumber(storage, {
        phone: e164,
        projectId: project,
        includeLists: values['include-lists'],
        requestedBy: 'cli',
      })
      await auditChange(storage.db, config, {
        projectId: project === '*' ? GLOBAL_CHAIN : project,
        action: 'POST /v1/erasures',
        target: '/v1/erasures',
        after: { id: done.id, includeLists: values['include-lists'], rows: done.rows },
      })
      return done
    })
    const lines = Object.entries(erased.rows).map(([table, n]) => `  ${table}: ${n}`)
    out.print([`erasure ${erased.id} done`, ...lines].join('\n'), erased)
  },
}
