/**
 * `pnpm textgate keys withdraw --kid KID [--rotate]`: a compromised signing key out of the JWKS
 * at once (not after its tokens expire, as `keys rotate` keeps it): redeem refuses its tokens at
 * once, store servers when their JWKS cache fetches again. The key that signs now is withdrawn
 * with --rotate, which makes its successor in the same step, or alone while a rotation waits (the
 * next key, already published, signs at once). The next key withdrawn cancels the rotation.
 * Audited; logged to stderr as `signing_key.withdrawn`.
 * @module
 */
import { pino } from 'pino'
import { appendAudit, GLOBAL_CHAIN } from '../../audit'
import { deriveSecrets } from '../../secrets'
import { createTokenService, SigningKeyError, signingKeyWithdrawn } from '../../tokens'
import { CLI_ACTOR, type Command, settings, UsageError, withStorage } from '../command'

export const keysWithdrawCommand: Command = {
  name: 'keys withdraw',
  usage: `  keys withdraw --kid KID [--rotate]
                                withdraw a compromised signing key now: out of the JWKS, its
                                tokens refused; the key that signs now needs --rotate (a new
                                key made in the same step) unless a next key is waiting (it
                                signs at once); the next key withdrawn cancels the rotation`,
  async run({ values, out }) {
    const { kid, rotate } = values
    if (!kid) {
      throw new UsageError('keys withdraw needs --kid KID (the kids are in /.well-known/jwks.json)')
    }
    const config = settings()
    const secrets = deriveSecrets(config.secret)
    // The log line goes to stderr: stdout is the command's answer (--json).
    const logger = pino({ level: 'info', base: { service: 'textgate' } }, pino.destination(2))
    const result = await withStorage(config, async ({ db }) => {
      const tokens = createTokenService({
        db,
        encryptionKey: secrets.encryptionKey,
        issuer: config.publicUrl,
      })
      try {
        const withdrawn = await tokens.withdraw(kid, { rotate })
        await appendAudit(db, secrets.auditKey, {
          projectId: GLOBAL_CHAIN,
          actor: CLI_ACTOR,
          action: 'signing_key.withdraw',
          target: kid,
          after: {
            withdrawn: withdrawn.withdrawn,
            newKid: withdrawn.newKid,
            currentKid: withdrawn.currentKid,
          },
        })
        return withdrawn
      } catch (error) {
        if (!(error instanceof SigningKeyError)) throw error
        if (error.code === 'not_found') throw new Error(`no signing key ${kid}`)
        if (error.code === 'changed') {
          throw new Error(
            `other rotations or withdrawals kept making new signing keys at the same moment: ${kid} was not withdrawn; run keys withdraw again`,
          )
        }
        throw new UsageError(
          `${kid} signs every token now: withdraw it with --rotate, which makes a new key in the same step`,
        )
      }
    })
    if (result.withdrawn) signingKeyWithdrawn(logger, result, 'cli')
    out.print(
      result.withdrawn
        ? [
            `withdrew ${kid}: out of the JWKS now, its tokens refused`,
            `now signing with ${result.currentKid}${result.newKid ? ' (new)' : ''}`,
            'Store servers drop it at their next JWKS fetch (verifyPhoneToken: within 5 minutes,',
            'at once on the first token of a new key). Purge any cache in front of the JWKS.',
          ].join('\n')
        : `${kid} was already withdrawn at ${result.key.withdrawnAt}`,
      result,
    )
  },
}
