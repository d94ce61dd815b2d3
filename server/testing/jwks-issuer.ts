import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { deriveSecrets } from '../src/secrets'
import type { DialectName } from '../src/storage'
import { createTokenService, type TokenService } from '../src/tokens'
import { createTestStorage, type TestStorage } from './storage'

export interface JwksIssuer {
  storage: TestStorage
  tokens: TokenService
  /** `http://127.0.0.1:<port>`: the JWKS is at `/.well-known/jwks.json`. */
  issuer: string
  server: Server
}

/** The encryption key of the token tests' signing keys. */
export const { encryptionKey: TOKEN_ENCRYPTION_KEY } = deriveSecrets(
  'token-test-secret-that-is-long-enough!',
)

/** A live verification of a UK mobile, as the token tests issue tokens for. */
export const TOKEN_INPUT = {
  projectId: 'prj_a',
  verificationId: 'ver_1',
  mode: 'live' as const,
  phone: '+447400123123',
  consent: { version: 'tos-3', at: Date.parse('2026-11-25T12:00:00Z') },
}

/**
 * A token issuer on a fresh database with its JWKS on loopback, as a store server fetches it.
 * `onFetch` is called for every request (any path; only the JWKS path is answered, with any
 * query string, so a test can give a store's key cache a URL of its own).
 */
export async function startJwksIssuer(
  dialect: DialectName,
  onFetch: () => void,
): Promise<JwksIssuer> {
  const storage = await createTestStorage(dialect)
  let tokens: TokenService | undefined
  const server = createServer(async (req, res) => {
    onFetch()
    const path = new URL(req.url ?? '/', 'http://issuer').pathname
    if (path !== '/.well-known/jwks.json' || !tokens) {
      res.writeHead(404).end()
      return
    }
    res.setHeader('Content-Type', 'application/json')
    res.end(JSON.stringify(await tokens.jwks()))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  tokens = createTokenService({ db: storage.db, encryptionKey: TOKEN_ENCRYPTION_KEY, issuer })
  await tokens.ensureSigningKey()
  return { storage, tokens, issuer, server }
}
