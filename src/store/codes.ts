/**
 * Authorization codes this server issued. Redemption is exactly-once through one conditional
 * UPDATE (`… WHERE used_at IS NULL`) inside the transaction that issues the tokens (DESIGN "Data").
 */
import type { Kysely } from 'kysely';
import type { AuthCodesTable, Database } from './schema.js';

/** Rows from before migration 006 (and tests) may leave out what the account page added. */
type AccountColumns = 'client_name' | 'client_logo' | 'proof_fresh';
export type CodeRow = Omit<AuthCodesTable, AccountColumns> & Partial<Pick<AuthCodesTable, AccountColumns>>;

export async function insertCode(db: Kysely<Database>, row: CodeRow): Promise<void> {
  await db.insertInto('auth_codes').values(row).execute();
}

export async function findCode(db: Kysely<Database>, codeHash: string): Promise<CodeRow | undefined> {
  return db.selectFrom('auth_codes').selectAll().where('code_hash', '=', codeHash).executeTakeFirst();
}

/** Marks the code used; true only for the one caller that got there first. */
export async function consumeCode(
  db: Kysely<Database>,
  codeHash: string,
  use: { at: number; by: 'authorize' | 'token'; grantId: string | null },
): Promise<boolean> {
  const result = await db
    .updateTable('auth_codes')
    .set({ used_at: use.at, used_by: use.by, grant_id: use.grantId })
    .where('code_hash', '=', codeHash)
    .where('used_at', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}
