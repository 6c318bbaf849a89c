/**
 * Grants and access tokens. Verification is the hot path: one indexed lookup by token hash
 * (DESIGN "Fast where it matters"); revoking a grant marks its tokens too, so the lookup never joins.
 */
import type { Kysely } from 'kysely';
import type { MaybePromise } from '../maybe-promise.js';
import { POLICY_VERSION_KEY } from './clients.js';
import type { Store } from './db.js';
import { revokeGrants } from './grants.js';
import type { Database } from './schema.js';

export interface GrantRow {
  id: string;
  me: string;
  clientId: string;
  scope: string;
  source: 'mintoken' | 'code';
  authorizationEndpoint: string | null;
  createdAt: number;
  /** JSON of the profile proven at sign-in, for `/userinfo` (codes issued here only). */
  profile?: string | null;
  /** The client's name and https logo at grant time, for the account page (PROTOCOL §13). */
  clientName?: string | null;
  clientLogo?: string | null;
  /** How the person proved their site for this grant (email, github, passkey…). */
  authMethod?: string | null;
}

export interface AccessTokenRow {
  id: string;
  tokenHash: string;
  grantId: string;
  me: string;
  clientId: string;
  scope: string;
  createdAt: number;
  expiresAt: number;
  lastUsedAt: number | null;
  revokedAt: number | null;
}

export async function insertGrant(db: Kysely<Database>, grant: GrantRow): Promise<void> {
  await db
    .insertInto('grants')
    .values({
      id: grant.id,
      me: grant.me,
      client_id: grant.clientId,
      scope: grant.scope,
      source: grant.source,
      authorization_endpoint: grant.authorizationEndpoint,
      created_at: grant.createdAt,
      revoked_at: null,
      profile: grant.profile ?? null,
      client_name: grant.clientName ?? null,
      client_logo: grant.clientLogo ?? null,
      auth_method: grant.authMethod ?? null,
    })
    .execute();
}

export async function insertAccessToken(db: Kysely<Database>, token: AccessTokenRow): Promise<void> {
  await db
    .insertInto('access_tokens')
    .values({
      id: token.id,
      token_hash: token.tokenHash,
      grant_id: token.grantId,
      me: token.me,
      client_id: token.clientId,
      scope: token.scope,
      created_at: token.createdAt,
      expires_at: token.expiresAt,
      last_used_at: token.lastUsedAt,
      revoked_at: token.revokedAt,
    })
    .execute();
}

const tokenColumns = [
  'id',
  'token_hash',
  'grant_id',
  'me',
  'client_id',
  'scope',
  'created_at',
  'expires_at',
  'last_used_at',
  'revoked_at',
] as const;

type TokenRecord = Pick<Database['access_tokens'], (typeof tokenColumns)[number]>;

function toRow(r: TokenRecord): AccessTokenRow {
  return {
    id: r.id,
    tokenHash: r.token_hash,
    grantId: r.grant_id,
    me: r.me,
    clientId: r.client_id,
    scope: r.scope,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    lastUsedAt: r.last_used_at,
    revokedAt: r.revoked_at,
  };
}

/** A token as verification finds it, with the client-policy stamp read in the same statement. */
export interface FoundAccessToken extends AccessTokenRow {
  /** `settings.client_policy_version` at the time of the lookup; null before any policy change. */
  policyVersion: string | null;
}

// The scalar subquery reads one primary-key row of the tiny settings table, so the policy stamp
// costs no extra round trip (SECURITY A10, D4).
const TOKEN_BY_HASH = `SELECT ${tokenColumns.join(', ')}, (SELECT value FROM settings WHERE key = '${POLICY_VERSION_KEY}') AS policy_version FROM access_tokens WHERE token_hash = ?`;

const toFound = (r: TokenRecord & { policy_version: string | null }): FoundAccessToken => ({
  ...toRow(r),
  policyVersion: r.policy_version,
});

/**
 * The hot path: one indexed lookup by hash, as a prepared statement; on SQLite answered from memory
 * while nothing was written since (store/read-cache.ts keeps D4), synchronously. The row is shared
 * between lookups: read-only.
 */
export function findAccessTokenByHash(
  store: Store,
  tokenHash: string,
): MaybePromise<Readonly<FoundAccessToken> | undefined> {
  return store.hotQuery('access_token_by_hash', TOKEN_BY_HASH, [tokenHash], {
    cached: true,
    // `grants` too: its rows are the tokens' foreign-key parents.
    tables: ['access_tokens', 'settings', 'grants'],
    untracked: ['access_tokens.last_used_at'],
    map: toFound,
  });
}

/** Records use at most once per `granularity` seconds, keeping verification mostly read-only. */
export async function touchAccessToken(db: Kysely<Database>, id: string, at: number): Promise<void> {
  await db.updateTable('access_tokens').set({ last_used_at: at }).where('id', '=', id).execute();
}

/** Revokes one token, found by its hash or its id; false when it was unknown or already revoked. */
export async function revokeAccessToken(
  db: Kysely<Database>,
  which: { tokenHash: string } | { id: string },
  at: number,
): Promise<boolean> {
  const [column, value] =
    'id' in which ? (['id', which.id] as const) : (['token_hash', which.tokenHash] as const);
  const result = await db
    .updateTable('access_tokens')
    .set({ revoked_at: at })
    .where(column, '=', value)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

/**
 * Revokes a grant and every access and refresh token issued under it. Services revoke through
 * `tokens/grants.ts` (one transaction per revoke, SECURITY D9); this is the same SQL for one grant.
 */
export async function revokeGrant(db: Kysely<Database>, grantId: string, at: number): Promise<void> {
  await revokeGrants(db, [grantId], at);
}

export async function listAccessTokens(
  db: Kysely<Database>,
  filter: { me?: string; activeAt?: number; limit?: number },
): Promise<AccessTokenRow[]> {
  let query = db
    .selectFrom('access_tokens')
    .select(tokenColumns)
    .orderBy('created_at', 'desc')
    .limit(filter.limit ?? 200);
  if (filter.me) query = query.where('me', '=', filter.me);
  if (filter.activeAt !== undefined) {
    query = query.where('revoked_at', 'is', null).where('expires_at', '>', filter.activeAt);
  }
  return (await query.execute()).map(toRow);
}

/**
 * Marks an external code as used. Returns false when it was used before: the insert and the
 * primary key make this exactly-once even across instances.
 */
export async function recordRedeemedCode(
  db: Kysely<Database>,
  row: { codeHash: string; grantId: string; expiresAt: number },
): Promise<boolean> {
  const result = await db
    .insertInto('redeemed_codes')
    .values({ code_hash: row.codeHash, grant_id: row.grantId, expires_at: row.expiresAt })
    .onConflict((oc) => oc.column('code_hash').doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
}

export async function findRedeemedCode(
  db: Kysely<Database>,
  codeHash: string,
): Promise<{ grantId: string } | undefined> {
  const row = await db
    .selectFrom('redeemed_codes')
    .select('grant_id')
    .where('code_hash', '=', codeHash)
    .executeTakeFirst();
  return row && { grantId: row.grant_id };
}

/** The profile stored with a token's grant (PROTOCOL §10 `/userinfo`). */
export async function findGrantProfile(db: Kysely<Database>, tokenId: string): Promise<string | null> {
  const row = await db
    .selectFrom('access_tokens')
    .innerJoin('grants', 'grants.id', 'access_tokens.grant_id')
    .select('grants.profile')
    .where('access_tokens.id', '=', tokenId)
    .executeTakeFirst();
  return row?.profile ?? null;
}
