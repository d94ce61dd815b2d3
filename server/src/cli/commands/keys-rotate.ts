/**
 * `pnpm textgate keys rotate`: sign new tokens with a new key; the old public key stays in the
 * JWKS until its tokens have expired.
 * @module
 */
import { deriveSecrets } from '../../secrets'
import { createTokenService } from '../../tokens'
import { type Command, settings, withStorage } from '../command'

export const keysRotateCommand: Command = {
  name: 'keys rotate',
  usage: `  keys rotate                   sign new tokens with a new key (old public keys stay
                                in the JWKS until their tokens have expired)`,
  async run({ out }) {
    const config = settings()
    const rotated = await withStorage(config, async ({ db }) => {
      const tokens = createTokenService({
        db,
        encryptionKey: deriveSecrets(config.secret).encryptionKey,
        issuer: config.publicUrl,
      })
      await tokens.ensureSigningKey()
      return tokens.rotate()
    })
    out.print(
      `now signing with ${rotated.kid}; ${rotated.retiredKid ?? 'no key'} retired (still in the JWKS until its tokens expire)`,
      rotated,
    )
  },
}
