/**
 * `pnpm textgate audit verify`: recomputes the audit log's hash chains and names the first broken
 * link (exit code 1 when there is one).
 * @module
 */
import { verifyAuditChain } from '../../audit'
import { type Command, settings, withStorage } from '../command'

export const auditVerifyCommand: Command = {
  name: 'audit verify',
  usage: `  audit verify [--project ID]   check the audit log's hash chains; names the first broken link`,
  async run({ values, out }) {
    const report = await withStorage(settings(), ({ db }) =>
      verifyAuditChain(db, { projectId: values.project }),
    )
    if (report.ok) {
      out.print(`audit log intact: ${report.rows} entries in ${report.chains} chains`, report)
      return
    }
    const b = report.broken!
    out.print(
      `audit log BROKEN in chain ${b.projectId} at entry #${b.seq}${b.id ? ` (${b.id})` : ''}: ${b.reason.replaceAll('_', ' ')}`,
      report,
    )
    process.exitCode = 1
  },
}
