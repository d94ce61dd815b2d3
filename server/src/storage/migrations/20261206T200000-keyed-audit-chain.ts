import type { Kysely } from 'kysely'

// Frozen: never import application code here. The audit log's hash chain is keyed from here on
// (HMAC-SHA256 under a key derived from TEXTGATE_SECRET, see audit/chain.ts). Nothing in the
// schema changes: new rows say their scheme in their hash. A migration has no secret, so the
// chains written before (plain SHA-256) are sealed with a keyed row by whoever applied this
// migration with the secret at hand (the server as it starts, or a CLI command), in that same
// run and only then: a later rewrite of a whole chain as plain SHA-256 is never sealed.
export async function up(_db: Kysely<any>): Promise<void> {}

export async function down(_db: Kysely<any>): Promise<void> {}
