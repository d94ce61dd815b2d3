/**
 * `pnpm textgate audit verify`: recomputes the audit log's hash chains and names the first broken
 * link (exit code 1 when there is one).
 * @module
 */
import { verifyAuditChain } from '../../audit'
import { type Command, requireProject, settings, withStorage } from '../command'

export const auditVerifyCommand: Command = {
  name: 'audit verify',
  usage: `  audit verify [--project ID]   check the audit log's hash chains; names the first broken link`,
  async run({ values, out }) {
    const report = await withStorage(settings(), async ({ db }) => {
      // '*' is the chain of what belongs to no project (operators, settings).
      if (values.project !== undefined) {
        await requireProject(db, values.project, { everyProject: true })
      }
      return verifyAuditChain(db, { projectId: values.project })
    })
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
