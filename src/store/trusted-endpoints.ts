/** The operator's list of authorization endpoints trusted in Mintoken mode (PROTOCOL §10). */
import type { Kysely } from 'kysely';
import { now } from './db.js';
import type { Database } from './schema.js';

export async function addTrustedEndpoint(db: Kysely<Database>, url: string): Promise<boolean> {
  const result = await db
    .insertInto('trusted_endpoints')
    .values({ url, created_at: now() })
    .onConflict((oc) => oc.column('url').doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
}

export async function removeTrustedEndpoint(db: Kysely<Database>, url: string): Promise<boolean> {
  const result = await db.deleteFrom('trusted_endpoints').where('url', '=', url).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

export async function listTrustedEndpoints(db: Kysely<Database>): Promise<string[]> {
  const rows = await db.selectFrom('trusted_endpoints').select('url').orderBy('url').execute();
  return rows.map((r) => r.url);
}

export async function isTrustedEndpoint(db: Kysely<Database>, url: string): Promise<boolean> {
  const row = await db
    .selectFrom('trusted_endpoints')
    .select('url')
    .where('url', '=', url)
    .executeTakeFirst();
  return row !== undefined;
}

/** Whether the operator trusts any endpoint at all: without one, no outside code can be exchanged. */
export async function hasTrustedEndpoints(db: Kysely<Database>): Promise<boolean> {
  const row = await db.selectFrom('trusted_endpoints').select('url').limit(1).executeTakeFirst();
  return row !== undefined;
}
