/**
 * The account page's rows (PROTOCOL §13): account sessions (a hashed random id per browser, 12 hours,
 * SECURITY D7), the sign-in log (one row per successful sign-in, 90 days), and the `session_identities`
 * rows of one `me` ("the browsers signed in as this site"). Every query here is scoped by `me` or by a
 * hashed id, so nothing of another person's site can be read or ended through it. Purged by purge.ts (R6).
 */
import type { Kysely } from 'kysely';
import type { AccountSessionsTable, Database, SigninLogTable } from './schema.js';

export type AccountSessionRow = AccountSessionsTable;
export type SigninLogRow = SigninLogTable;

export async function insertAccountSession(db: Kysely<Database>, row: AccountSessionRow): Promise<void> {
  await db.insertInto('account_sessions').values(row).execute();
}

/** The live session with this id hash, if any. */
export async function findAccountSession(
  db: Kysely<Database>,
  idHash: string,
  at: number,
): Promise<AccountSessionRow | undefined> {
  return db
    .selectFrom('account_sessions')
    .selectAll()
    .where('id_hash', '=', idHash)
    .where('expires_at', '>', at)
    .executeTakeFirst();
}

export async function deleteAccountSession(db: Kysely<Database>, idHash: string): Promise<void> {
  await db.deleteFrom('account_sessions').where('id_hash', '=', idHash).execute();
}

/** Ends every account session of one `me` ("Sign out everywhere"); returns how many. */
export async function deleteAccountSessionsForMe(db: Kysely<Database>, me: string): Promise<number> {
  const result = await db.deleteFrom('account_sessions').where('me', '=', me).executeTakeFirst();
  return Number(result.numDeletedRows);
}

export async function insertSigninLog(db: Kysely<Database>, row: SigninLogRow): Promise<void> {
  await db.insertInto('signin_log').values(row).execute();
}

/** One `me`'s sign-ins since `since`, newest first. */
export async function listSigninLog(
  db: Kysely<Database>,
  me: string,
  since: number,
  limit: number,
): Promise<SigninLogRow[]> {
  return db
    .selectFrom('signin_log')
    .selectAll()
    .where('me', '=', me)
    .where('created_at', '>=', since)
    .orderBy('created_at', 'desc')
    .orderBy('id')
    .limit(limit)
    .execute();
}

export interface BrowserIdentityRow {
  method: string;
  authenticatedAt: number;
  expiresAt: number;
}

/** The live `session_identities` rows of one `me` (without their session hashes), newest first. */
export async function listIdentitiesForMe(
  db: Kysely<Database>,
  me: string,
  at: number,
): Promise<BrowserIdentityRow[]> {
  const rows = await db
    .selectFrom('session_identities')
    .select(['method', 'authenticated_at', 'expires_at'])
    .where('me', '=', me)
    .where('expires_at', '>', at)
    .orderBy('authenticated_at', 'desc')
    .limit(200)
    .execute();
  return rows.map((r) => ({
    method: r.method,
    authenticatedAt: Number(r.authenticated_at),
    expiresAt: Number(r.expires_at),
  }));
}

/** Forgets `me` in every browser: no "Continue as" for it anywhere; returns how many rows. */
export async function deleteIdentitiesForMe(db: Kysely<Database>, me: string): Promise<number> {
  const result = await db.deleteFrom('session_identities').where('me', '=', me).executeTakeFirst();
  return Number(result.numDeletedRows);
}
