/**
 * `pnpm textgate keys rotate`: sign new tokens with a new key; the old public key stays in the
 * JWKS until its tokens have expired. Audited as the console's rotation is.
 * @module
 */
import { appendAudit, GLOBAL_CHAIN } from '../../audit'
import { deriveSecrets } from '../../secrets'
import { createTokenService, SigningKeyError } from '../../tokens'
import { CLI_ACTOR, type Command, settings, withStorage } from '../command'

export const keysRotateCommand: Command = {
  name: 'keys rotate',
  usage: `  keys rotate                   sign new tokens with a new key (old public keys stay
                                in the JWKS until their tokens have expired)`,
  async run({ out }) {
    const config = settings()
    const secrets = deriveSecrets(config.secret)
    const rotated = await withStorage(config, async ({ db }) => {
      const tokens = createTokenService({
        db,
        encryptionKey: secrets.encryptionKey,
        issuer: config.publicUrl,
      })
      await tokens.ensureSigningKey()
      const done = await tokens.rotate().catch((error) => {
        if (!(error instanceof SigningKeyError && error.code === 'changed')) throw error
        throw new Error(
          `another rotation or withdrawal made a new signing key at the same moment: nothing changed; ${error.currentKid} signs now (run keys rotate again for yet another key)`,
        )
      })
      await appendAudit(db, secrets.auditKey, {
        projectId: GLOBAL_CHAIN,
        actor: CLI_ACTOR,
        action: 'signing_key.rotate',
        target: done.kid,
        before: { kid: done.retiredKid },
        after: { kid: done.kid },
      })
      return done
    })
    out.print(
      `now signing with ${rotated.kid}; ${rotated.retiredKid ?? 'no key'} retired (still in the JWKS until its tokens expire)`,
      rotated,
    )
  },
}
