import { type Kysely, sql } from 'kysely'

// Frozen: never import application code here. Delivery reports find their message by the
// carrier's id, which a message gets only once it is sent. Indexing the messages not yet sent
// (carrier_message_id null) put every new message into the index and moved it again when sent:
// on SQLite two index pages written per text, one of them a random page. Now only sent
// messages are in it. Lookups by `carrier_message_id = ?` use it as before.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('messages_carrier_message').execute()
  await db.schema
    .createIndex('messages_carrier_message')
    .on('messages')
    .columns(['carrier', 'carrier_message_id'])
    .where(sql.ref('carrier_message_id'), 'is not', null)
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('messages_carrier_message').execute()
  await db.schema
    .createIndex('messages_carrier_message')
    .on('messages')
    .columns(['carrier', 'carrier_message_id'])
    .execute()
}
