/** Resource servers that may call `/introspect` (RFC 7662 §2.1 requires the caller be authorized). */
import type { Kysely } from 'kysely';
import type { MaybePromise } from '../maybe-promise.js';
import { digestBytes } from '../tokens/secrets.js';
import { now, type Store } from './db.js';
import type { Database } from './schema.js';

export interface ResourceServer {
  id: string;
  name: string;
  createdAt: number;
  lastUsedAt: number | null;
}

export async function insertResourceServer(
  db: Kysely<Database>,
  row: { id: string; name: string; secretHash: string },
): Promise<void> {
  await db
    .insertInto('resource_servers')
    .values({
      id: row.id,
      name: row.name,
      secret_hash: row.secretHash,
      created_at: now(),
      last_used_at: null,
    })
    .execute();
}

export async function touchResourceServer(db: Kysely<Database>, id: string, at: number): Promise<void> {
  await db.updateTable('resource_servers').set({ last_used_at: at }).where('id', '=', id).execute();
}

export async function listResourceServers(db: Kysely<Database>): Promise<ResourceServer[]> {
  const rows = await db
    .selectFrom('resource_servers')
    .select(['id', 'name', 'created_at', 'last_used_at'])
    .orderBy('name')
    .execute();
  return rows.map((r) => ({ id: r.id, name: r.name, createdAt: r.created_at, lastUsedAt: r.last_used_at }));
}

export async function deleteResourceServer(db: Kysely<Database>, name: string): Promise<boolean> {
  const result = await db.deleteFrom('resource_servers').where('name', '=', name).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

type CredentialRecord = Pick<
  Database['resource_servers'],
  'id' | 'name' | 'secret_hash' | 'created_at' | 'last_used_at'
>;
const CREDENTIAL_BY_ID =
  'SELECT id, name, secret_hash, created_at, last_used_at FROM resource_servers WHERE id = ?';

export interface ResourceServerCredential {
  server: ResourceServer;
  /** The stored SHA-256 of the secret as bytes; undefined if the column does not hold one. */
  secretDigest: Buffer | undefined;
}

const toCredential = (row: CredentialRecord): ResourceServerCredential => ({
  server: { id: row.id, name: row.name, createdAt: row.created_at, lastUsedAt: row.last_used_at },
  secretDigest: digestBytes(row.secret_hash),
});

/**
 * The row and stored secret digest for an id; the caller compares in constant time
 * (`matchesDigest`). Cached like token lookups (store/read-cache.ts), so the result is shared:
 * read-only.
 */
export function findResourceServerCredential(
  store: Store,
  id: string,
): MaybePromise<Readonly<ResourceServerCredential> | undefined> {
  return store.hotQuery('resource_server_by_id', CREDENTIAL_BY_ID, [id], {
    cached: true,
    tables: ['resource_servers'],
    untracked: ['resource_servers.last_used_at'],
    map: toCredential,
  });
}
