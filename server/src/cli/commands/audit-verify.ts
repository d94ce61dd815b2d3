/**
 * `pnpm textgate audit verify`: recomputes the audit log's hash chains (keyed with
 * TEXTGATE_SECRET), says which scheme each chain uses and names the first broken link (exit
 * code 1 when there is one).
 * @module
 */
import { type ChainSummary, verifyAuditChain } from '../../audit'
import { deriveSecrets } from '../../secrets'
import { type Command, requireProject, settings, withStorage } from '../command'

const SCHEMES: Record<ChainSummary['scheme'], string> = {
  'hmac-sha256': 'keyed (HMAC-SHA256)',
  'sha256+hmac-sha256': 'keyed (HMAC-SHA256), sealing older unkeyed SHA-256 rows',
  sha256: 'UNKEYED (plain SHA-256, anyone can recompute it)',
  empty: 'no entries',
}

const REASONS: Record<string, string> = {
  unkeyed_chain:
    'unkeyed chain: no keyed row seals it (the server seals chains from before keyed hashes as it starts, as does `textgate migrate`; after that, an unkeyed chain was rewritten)',
  unkeyed_row: 'unkeyed row after keyed ones (rewritten without the secret)',
}

function describe(chain: ChainSummary): string {
  const unkeyed =
    chain.scheme === 'sha256+hmac-sha256'
      ? ` (${chain.unkeyedRows} unkeyed, sealed ${new Date(chain.sealedAt ?? 0).toISOString()})`
      : ''
  return `  ${chain.projectId}: ${chain.rows} entries${unkeyed}, ${SCHEMES[chain.scheme]}`
}

export const auditVerifyCommand: Command = {
  name: 'audit verify',
  usage: `  audit verify [--project ID]   check the audit log's keyed hash chains; names each chain's
                                scheme and the first broken link`,
  async run({ values, out }) {
    const config = settings()
    const { auditKey } = deriveSecrets(config.secret)
    const report = await withStorage(config, async ({ db }) => {
      // '*' is the chain of what belongs to no project (operators, settings).
      if (values.project !== undefined) {
        await requireProject(db, values.project, { everyProject: true })
      }
      return verifyAuditChain(db, auditKey, { projectId: values.project })
    })
    const chains = report.chainSchemes.map(describe)
    if (report.ok) {
      out.print(
        [`audit log intact: ${report.rows} entries in ${report.chains} chains`, ...chains].join(
          '\n',
        ),
        report,
      )
      return
    }
    const b = report.broken!
    out.print(
      [
        `audit log BROKEN in chain ${b.projectId} at entry #${b.seq}${b.id ? ` (${b.id})` : ''}: ${REASONS[b.reason] ?? b.reason.replaceAll('_', ' ')}`,
        ...chains,
      ].join('\n'),
      report,
    )
    process.exitCode = 1
  },
}
