/**
 * Grants as a whole (PROTOCOL §13, §14; SECURITY D9): what an account page or `latchkey grants list`
 * shows, and revoking many grants with their access and refresh tokens. Only `tokens/grants.ts`
 * calls the revoking functions, inside its transactions.
 */
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

export interface GrantSummaryRow {
  id: string;
  me: string;
  clientId: string;
  scope: string;
  source: string;
  /** The client's name and https logo as recorded at grant time (remote text, SECURITY E7). */
  clientName: string | null;
  clientLogo: string | null;
  authMethod: string | null;
  createdAt: number;
  revokedAt: number | null;
  /** Most recent `last_used_at` of its access tokens. */
  lastUsedAt: number | null;
  /** Latest expiry among its usable access and refresh tokens; null when none is usable. */
  expiresAt: number | null;
  /** Usable (unrevoked, unexpired) access tokens. */
  accessTokens: number;
  /** Usable (unrevoked, unrotated, unexpired) refresh tokens. */
  refreshTokens: number;
}

export interface GrantQuery {
  id?: string;
  me?: string;
  clientId?: string;
  /** Counts and "live" are judged at this time. */
  at: number;
  /** Only grants that are unrevoked and hold a usable token. */
  liveOnly: boolean;
  limit?: number;
}

/** Grants newest first, with their token counts, last use and expiry. */
export async function listGrantSummaries(db: Kysely<Database>, q: GrantQuery): Promise<GrantSummaryRow[]> {
  let query = db
    .selectFrom('grants as g')
    .select([
      'g.id',
      'g.me',
      'g.client_id',
      'g.scope',
      'g.source',
      'g.client_name',
      'g.client_logo',
      'g.auth_method',
      'g.created_at',
      'g.revoked_at',
    ])
    .select((eb) => [
      eb
        .selectFrom('access_tokens as a')
        .select((s) => s.fn.countAll<number>().as('n'))
        .whereRef('a.grant_id', '=', 'g.id')
        .where('a.revoked_at', 'is', null)
        .where('a.expires_at', '>', q.at)
        .as('access_count'),
      eb
        .selectFrom('access_tokens as a')
        .select((s) => s.fn.max('a.expires_at').as('x'))
        .whereRef('a.grant_id', '=', 'g.id')
        .where('a.revoked_at', 'is', null)
        .where('a.expires_at', '>', q.at)
        .as('access_expires'),
      eb
        .selectFrom('access_tokens as a')
        .select((s) => s.fn.max('a.last_used_at').as('x'))
        .whereRef('a.grant_id', '=', 'g.id')
        .as('last_used'),
      eb
        .selectFrom('refresh_tokens as r')
        .select((s) => s.fn.countAll<number>().as('n'))
        .whereRef('r.grant_id', '=', 'g.id')
        .where('r.revoked_at', 'is', null)
        .where('r.rotated_at', 'is', null)
        .where('r.expires_at', '>', q.at)
        .as('refresh_count'),
      eb
        .selectFrom('refresh_tokens as r')
        .select((s) => s.fn.max('r.expires_at').as('x'))
        .whereRef('r.grant_id', '=', 'g.id')
        .where('r.revoked_at', 'is', null)
        .where('r.rotated_at', 'is', null)
        .where('r.expires_at', '>', q.at)
        .as('refresh_expires'),
    ])
    .orderBy('g.created_at', 'desc')
    .orderBy('g.id')
    .limit(q.limit ?? 200);
  if (q.id !== undefined) query = query.where('g.id', '=', q.id);
  if (q.me !== undefined) query = query.where('g.me', '=', q.me);
  if (q.clientId !== undefined) query = query.where('g.client_id', '=', q.clientId);
  if (q.liveOnly) {
    query = query
      .where('g.revoked_at', 'is', null)
      .where((eb) =>
        eb.or([
          eb.exists(
            eb
              .selectFrom('access_tokens as a')
              .select('a.id')
              .whereRef('a.grant_id', '=', 'g.id')
              .where('a.revoked_at', 'is', null)
              .where('a.expires_at', '>', q.at),
          ),
          eb.exists(
            eb
              .selectFrom('refresh_tokens as r')
              .select('r.id')
              .whereRef('r.grant_id', '=', 'g.id')
              .where('r.revoked_at', 'is', null)
              .where('r.rotated_at', 'is', null)
              .where('r.expires_at', '>', q.at),
          ),
        ]),
      );
  }
  const rows = await query.execute();
  return rows.map((r) => {
    const expiries = [r.access_expires, r.refresh_expires].filter((x): x is number => x != null);
    return {
      id: r.id,
      me: r.me,
      clientId: r.client_id,
      scope: r.scope,
      source: r.source,
      clientName: r.client_name,
      clientLogo: r.client_logo,
      authMethod: r.auth_method,
      createdAt: r.created_at,
      revokedAt: r.revoked_at,
      lastUsedAt: r.last_used == null ? null : Number(r.last_used),
      expiresAt: expiries.length > 0 ? Math.max(...expiries.map(Number)) : null,
      accessTokens: Number(r.access_count ?? 0),
      refreshTokens: Number(r.refresh_count ?? 0),
    };
  });
}

/** Which unrevoked grants a revocation covers. */
export type GrantSelector =
  | { id: string }
  | { me: string }
  | { clientIds: readonly string[] }
  | { accessTokenId: string };

/** Ids of the unrevoked grants the selector names. */
export async function findUnrevokedGrantIds(db: Kysely<Database>, which: GrantSelector): Promise<string[]> {
  let query = db.selectFrom('grants').select('id').where('revoked_at', 'is', null);
  if ('id' in which) query = query.where('id', '=', which.id);
  else if ('me' in which) query = query.where('me', '=', which.me);
  else if ('clientIds' in which) {
    if (which.clientIds.length === 0) return [];
    query = query.where('client_id', 'in', which.clientIds);
  } else {
    query = query.where(
      'id',
      'in',
      db.selectFrom('access_tokens').select('grant_id').where('id', '=', which.accessTokenId),
    );
  }
  return (await query.execute()).map((r) => r.id);
}

/** The distinct client_ids holding an unrevoked grant (for rules matched in code, SECURITY A10). */
export async function clientIdsWithUnrevokedGrants(db: Kysely<Database>): Promise<string[]> {
  const rows = await db
    .selectFrom('grants')
    .select('client_id')
    .distinct()
    .where('revoked_at', 'is', null)
    .execute();
  return rows.map((r) => r.client_id);
}

/**
 * Marks the grants and every access and refresh token under them revoked. Call it inside one
 * transaction, so a grant never ends half-way (SECURITY D9, R1).
 */
export async function revokeGrants(
  db: Kysely<Database>,
  grantIds: readonly string[],
  at: number,
): Promise<void> {
  for (let i = 0; i < grantIds.length; i += CHUNK) {
    const ids = grantIds.slice(i, i + CHUNK);
    await db
      .updateTable('grants')
      .set({ revoked_at: at })
      .where('id', 'in', ids)
      .where('revoked_at', 'is', null)
      .execute();
    for (const table of ['access_tokens', 'refresh_tokens'] as const) {
      await db
        .updateTable(table)
        .set({ revoked_at: at })
        .where('grant_id', 'in', ids)
        .where('revoked_at', 'is', null)
        .execute();
    }
  }
}

/** Bound on `IN (…)` lists; far below SQLite's and PostgreSQL's parameter limits. */
const CHUNK = 500;
