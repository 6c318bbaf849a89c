/**
 * Rows of the sign-in core (PROTOCOL §9): attempts, step tokens, session identities, email codes and
 * rate-limit windows. Every "exactly once" here is one conditional UPDATE … RETURNING, never a
 * read-then-write, so concurrent requests on any instance cannot both win (SECURITY F7, F9).
 */
import type { Kysely } from 'kysely';
import type {
  Database,
  EmailCodesTable,
  SessionIdentitiesTable,
  SigninAttemptsTable,
  SigninStepsTable,
} from './schema.js';

export type AttemptRow = SigninAttemptsTable;
export type IdentityRow = SessionIdentitiesTable;
export type EmailCodeRow = EmailCodesTable;

export async function insertAttempt(db: Kysely<Database>, row: AttemptRow): Promise<void> {
  await db.insertInto('signin_attempts').values(row).execute();
}

export async function findAttempt(db: Kysely<Database>, id: string): Promise<AttemptRow | undefined> {
  return db.selectFrom('signin_attempts').selectAll().where('id', '=', id).executeTakeFirst();
}

/**
 * Moves an attempt forward only from one of `from` (an explicit transition); false when another
 * request moved it first or it expired.
 */
export async function transitionAttempt(
  db: Kysely<Database>,
  id: string,
  from: readonly string[],
  patch: Partial<Omit<AttemptRow, 'id' | 'created_at'>>,
  at: number,
): Promise<boolean> {
  const result = await db
    .updateTable('signin_attempts')
    .set({ ...patch, updated_at: at })
    .where('id', '=', id)
    .where('state', 'in', [...from])
    .where('expires_at', '>', at)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** Re-binds a session's attempts to its new id after the session id rotates at sign-in. */
export async function rebindAttempts(db: Kysely<Database>, from: string, to: string): Promise<void> {
  await db
    .updateTable('signin_attempts')
    .set({ session_hash: to })
    .where('session_hash', '=', from)
    .execute();
  await db
    .updateTable('signin_steps')
    .set({ session_hash: to })
    .where('session_hash', '=', from)
    .where('used_at', 'is', null)
    .execute();
}

export async function insertStep(db: Kysely<Database>, row: SigninStepsTable): Promise<void> {
  await db.insertInto('signin_steps').values(row).execute();
}

/**
 * Uses a step token: the one caller whose token hash, kind and session all match, unexpired and
 * unused, gets the attempt id; everyone else gets undefined.
 */
export async function consumeStep(
  db: Kysely<Database>,
  step: { tokenHash: string; kind: string; sessionHash: string },
  at: number,
): Promise<string | undefined> {
  const row = await db
    .updateTable('signin_steps')
    .set({ used_at: at })
    .where('token_hash', '=', step.tokenHash)
    .where('kind', '=', step.kind)
    .where('session_hash', '=', step.sessionHash)
    .where('used_at', 'is', null)
    .where('expires_at', '>', at)
    .returning('attempt_id')
    .executeTakeFirst();
  return row?.attempt_id;
}

export async function upsertIdentity(db: Kysely<Database>, row: IdentityRow): Promise<void> {
  await db
    .insertInto('session_identities')
    .values(row)
    .onConflict((oc) =>
      oc.columns(['session_hash', 'me']).doUpdateSet({
        method: row.method,
        profile: row.profile,
        authenticated_at: row.authenticated_at,
        expires_at: row.expires_at,
      }),
    )
    .execute();
}

export async function listIdentities(
  db: Kysely<Database>,
  sessionHash: string,
  at: number,
): Promise<IdentityRow[]> {
  return db
    .selectFrom('session_identities')
    .selectAll()
    .where('session_hash', '=', sessionHash)
    .where('expires_at', '>', at)
    .orderBy('authenticated_at', 'desc')
    .execute();
}

/** Moves a session's identities to a new session id (the id rotates at every sign-in, PROTOCOL §9). */
export async function moveIdentities(db: Kysely<Database>, from: string, to: string): Promise<void> {
  const rows = await db
    .selectFrom('session_identities')
    .selectAll()
    .where('session_hash', '=', from)
    .execute();
  for (const row of rows) await upsertIdentity(db, { ...row, session_hash: to });
  await db.deleteFrom('session_identities').where('session_hash', '=', from).execute();
}

export async function forgetIdentities(db: Kysely<Database>, sessionHash: string): Promise<void> {
  await db.deleteFrom('session_identities').where('session_hash', '=', sessionHash).execute();
}

/** One code per attempt: sending again replaces the code and resets the tries. */
export async function putEmailCode(db: Kysely<Database>, row: EmailCodeRow): Promise<void> {
  await db
    .insertInto('email_codes')
    .values(row)
    .onConflict((oc) =>
      oc.column('attempt_id').doUpdateSet({
        code_hash: row.code_hash,
        address: row.address,
        tries: row.tries,
        created_at: row.created_at,
        expires_at: row.expires_at,
        used_at: null,
      }),
    )
    .execute();
}

export async function findEmailCode(
  db: Kysely<Database>,
  attemptId: string,
): Promise<EmailCodeRow | undefined> {
  return db.selectFrom('email_codes').selectAll().where('attempt_id', '=', attemptId).executeTakeFirst();
}

/**
 * Counts one guess before it is compared (SECURITY F7): the conditional increment is the limit, so
 * 50 concurrent guesses cannot get more than `maxTries` comparisons. Undefined when no try is left.
 */
export async function takeEmailTry(
  db: Kysely<Database>,
  attemptId: string,
  maxTries: number,
  at: number,
): Promise<EmailCodeRow | undefined> {
  return db
    .updateTable('email_codes')
    .set((eb) => ({ tries: eb('tries', '+', 1) }))
    .where('attempt_id', '=', attemptId)
    .where('tries', '<', maxTries)
    .where('used_at', 'is', null)
    .where('expires_at', '>', at)
    .returningAll()
    .executeTakeFirst();
}

/** Marks the code used; true only for the first caller (reuse refused, SECURITY F7). */
export async function useEmailCode(db: Kysely<Database>, attemptId: string, at: number): Promise<boolean> {
  const result = await db
    .updateTable('email_codes')
    .set({ used_at: at })
    .where('attempt_id', '=', attemptId)
    .where('used_at', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/**
 * Counts a hit in a fixed window and returns the hits so far, the new one included (SECURITY R5). One
 * upsert statement, so concurrent hits from several instances are all counted.
 */
export async function hitRateLimit(
  db: Kysely<Database>,
  key: string,
  windowSeconds: number,
  at: number,
): Promise<number> {
  const windowStart = at - (at % windowSeconds);
  const row = await db
    .insertInto('rate_limits')
    .values({ key, window_start: windowStart, hits: 1, expires_at: windowStart + windowSeconds })
    .onConflict((oc) =>
      oc.column('key').doUpdateSet((eb) => ({
        hits: eb
          .case()
          .when('rate_limits.window_start', '=', windowStart)
          .then(eb('rate_limits.hits', '+', 1))
          .else(1)
          .end(),
        window_start: windowStart,
        expires_at: windowStart + windowSeconds,
      })),
    )
    .returning('hits')
    .executeTakeFirstOrThrow();
  return Number(row.hits);
}
