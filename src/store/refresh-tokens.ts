/**
 * Refresh tokens (PROTOCOL §10): rotate on use; a rotated token used again revokes its grant.
 */
import type { Kysely } from 'kysely';
import type { Database, RefreshTokensTable } from './schema.js';

export type RefreshTokenRow = RefreshTokensTable;

export async function insertRefreshToken(db: Kysely<Database>, row: RefreshTokenRow): Promise<void> {
  await db.insertInto('refresh_tokens').values(row).execute();
}

export async function findRefreshTokenByHash(
  db: Kysely<Database>,
  tokenHash: string,
): Promise<RefreshTokenRow | undefined> {
  return db.selectFrom('refresh_tokens').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
}

/** Marks the token rotated; true only for the one caller that got there first (SECURITY D5). */
export async function rotateRefreshToken(db: Kysely<Database>, id: string, at: number): Promise<boolean> {
  const result = await db
    .updateTable('refresh_tokens')
    .set({ rotated_at: at })
    .where('id', '=', id)
    .where('rotated_at', 'is', null)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}
