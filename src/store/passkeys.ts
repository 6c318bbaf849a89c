/**
 * Passkey rows and WebAuthn challenges (PROTOCOL §13, SECURITY E9). Every passkey query is scoped by
 * `me`; a challenge is taken once, atomically, only by the session or attempt it was issued to.
 */
import type { Kysely } from 'kysely';
import type { Database, PasskeysTable, WebauthnChallengesTable } from './schema.js';

export type PasskeyRow = PasskeysTable;

export async function insertPasskey(db: Kysely<Database>, row: PasskeyRow): Promise<void> {
  await db.insertInto('passkeys').values(row).execute();
}

export async function listPasskeys(db: Kysely<Database>, me: string): Promise<PasskeyRow[]> {
  return db
    .selectFrom('passkeys')
    .selectAll()
    .where('me', '=', me)
    .orderBy('created_at')
    .orderBy('id')
    .limit(100)
    .execute();
}

export async function findPasskey(
  db: Kysely<Database>,
  me: string,
  id: string,
): Promise<PasskeyRow | undefined> {
  return db.selectFrom('passkeys').selectAll().where('me', '=', me).where('id', '=', id).executeTakeFirst();
}

export async function renamePasskey(
  db: Kysely<Database>,
  me: string,
  id: string,
  name: string,
): Promise<boolean> {
  const result = await db
    .updateTable('passkeys')
    .set({ name })
    .where('me', '=', me)
    .where('id', '=', id)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

export async function deletePasskey(db: Kysely<Database>, me: string, id: string): Promise<boolean> {
  const result = await db.deleteFrom('passkeys').where('me', '=', me).where('id', '=', id).executeTakeFirst();
  return Number(result.numDeletedRows) === 1;
}

export async function markPasskeyUsed(
  db: Kysely<Database>,
  me: string,
  id: string,
  counter: number,
  at: number,
): Promise<void> {
  // The counter only moves forward, also when two sign-ins race (WebAuthn §6.1.1 signCount).
  await db
    .updateTable('passkeys')
    .set((eb) => ({
      counter: eb.case().when('counter', '<', counter).then(counter).else(eb.ref('counter')).end(),
      last_used_at: at,
    }))
    .where('me', '=', me)
    .where('id', '=', id)
    .execute();
}

export async function insertChallenge(db: Kysely<Database>, row: WebauthnChallengesTable): Promise<void> {
  await db.insertInto('webauthn_challenges').values(row).execute();
}

/** Takes a challenge once: true only for its kind, binding and `me`, unexpired and unused. */
export async function takeChallenge(
  db: Kysely<Database>,
  where: { hash: string; kind: WebauthnChallengesTable['kind']; binding: string; me: string },
  at: number,
): Promise<boolean> {
  const result = await db
    .updateTable('webauthn_challenges')
    .set({ used_at: at })
    .where('challenge_hash', '=', where.hash)
    .where('kind', '=', where.kind)
    .where('binding', '=', where.binding)
    .where('me', '=', where.me)
    .where('used_at', 'is', null)
    .where('expires_at', '>', at)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}
