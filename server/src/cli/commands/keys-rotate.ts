/**
 * `pnpm textgate keys rotate [--publish-first]`: a new signing key that signs new tokens at once
 * (the store's verifier fetches the JWKS again on a `kid` it does not know), or with
 * --publish-first one published in the JWKS at once and signing once caches of the JWKS have had
 * time to fetch it (its max-age and a minute; every server process switches by itself then),
 * for a JWKS behind a CDN. The old public key stays in the JWKS until its tokens have expired.
 * Audited as the console's rotation is.
 * @module
 */
import { appendAudit, GLOBAL_CHAIN } from '../../audit'
import { deriveSecrets } from '../../secrets'
import { createTokenService, JWKS_MAX_AGE_SECONDS, SigningKeyError } from '../../tokens'
import { CLI_ACTOR, type Command, settings, withStorage } from '../command'

export const keysRotateCommand: Command = {
  name: 'keys rotate',
  usage: `  keys rotate [--publish-first] a new signing key, signing at once; with --publish-first
                                in the JWKS now and signing in 6 minutes (the JWKS's max-age
                                and a minute), for a JWKS behind a CDN (old public keys stay
                                in the JWKS until their tokens have expired)`,
  async run({ values, out }) {
    // At once unless asked to publish first (--now, the old spelling of the default, is taken).
    const immediate = !values['publish-first']
    const config = settings()
    const secrets = deriveSecrets(config.secret)
    const rotated = await withStorage(config, async ({ db }) => {
      const tokens = createTokenService({
        db,
        encryptionKey: secrets.encryptionKey,
        issuer: config.publicUrl,
      })
      await tokens.ensureSigningKey()
      const done = await tokens.rotate({ now: immediate }).catch((error) => {
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
        before: { kid: done.retiredKid, nextKid: done.replacedNextKid },
        after: { kid: done.kid, signsFrom: done.signsFrom },
      })
      return done
    })
    const replaced = rotated.replacedNextKid
      ? `\n${rotated.replacedNextKid}, the next key until now, ${immediate ? 'never signs' : `signs until ${rotated.signsFrom}`}`
      : ''
    out.print(
      immediate
        ? `now signing with ${rotated.kid}; ${rotated.retiredKid ?? 'no key'} retired (still in the JWKS until its tokens expire)${replaced}`
        : [
            `${rotated.kid} is in the JWKS now and signs from ${rotated.signsFrom}, when caches of the JWKS`,
            `(max-age ${JWKS_MAX_AGE_SECONDS} s) have it; every server switches by itself then.`,
            `${rotated.retiredKid ?? 'no key'} signs until then, and stays in the JWKS until its tokens expire.${replaced}`,
            'keys rotate without --publish-first switches at once; keys withdraw --kid the next key cancels it.',
          ].join('\n'),
      rotated,
    )
  },
}
