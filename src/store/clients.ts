/**
 * Client rows (PROTOCOL §6): the cache of good client_id documents and the operator's client policy
 * (`latchkey clients allow|deny|remove|list`).
 *
 * Policy is config-free on purpose: a single 'allow' row turns the deployment into allow-list mode
 * (only allowed clients may sign in), and a 'deny' row always refuses its client. An operator can
 * therefore go from "anyone" to "only my apps" with one command and back by removing the rows.
 */
import type { Kysely } from 'kysely';
import { validateClientId } from '../indieauth/urls.js';
import { now, type Store } from './db.js';
import type { Database } from './schema.js';

export type ClientDecision = 'allow' | 'deny';

export interface ClientPolicyRow {
  clientId: string;
  decision: ClientDecision;
  createdAt: number;
}

// ---------------------------------------------------------------------------------------------------
// Cache of client_id documents

/** The cached `ClientInfo` JSON for a client_id, when there is one that has not expired at `at`. */
export async function findCachedClientInfo(
  db: Kysely<Database>,
  clientId: string,
  at: number,
): Promise<string | undefined> {
  const row = await db
    .selectFrom('client_cache')
    .select('info')
    .where('client_id', '=', clientId)
    .where('expires_at', '>', at)
    .executeTakeFirst();
  return row?.info;
}

/** Stores (or replaces) the cached document of a client_id. Only call this with good documents. */
export async function putCachedClientInfo(
  db: Kysely<Database>,
  row: { clientId: string; info: string; fetchedAt: number; expiresAt: number },
): Promise<void> {
  await db
    .insertInto('client_cache')
    .values({
      client_id: row.clientId,
      info: row.info,
      fetched_at: row.fetchedAt,
      expires_at: row.expiresAt,
    })
    .onConflict((oc) =>
      oc.column('client_id').doUpdateSet({
        info: row.info,
        fetched_at: row.fetchedAt,
        expires_at: row.expiresAt,
      }),
    )
    .execute();
}

/** Deletes cached documents that expired before `at`; returns how many. */
export async function purgeClientCache(db: Kysely<Database>, at: number): Promise<number> {
  const result = await db.deleteFrom('client_cache').where('expires_at', '<=', at).executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** Forgets one client's cached document, so the next sign-in fetches it again. */
export async function forgetCachedClientInfo(db: Kysely<Database>, clientId: string): Promise<boolean> {
  const result = await db.deleteFrom('client_cache').where('client_id', '=', clientId).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

// ---------------------------------------------------------------------------------------------------
// Operator policy

/**
 * The form a client_id is kept in: `validateClientId`'s canonical URL, so `https://App.example` and
 * `https://app.example/` name one policy row. Invalid values are kept as given (they match nothing
 * a valid request can send, and the CLI refuses them before they get here).
 */
export function policyKey(clientId: string): string {
  const check = validateClientId(clientId);
  return check.ok ? check.url : clientId;
}

/**
 * Records the operator's decision for a client, replacing an earlier one. Returns the previous
 * decision, if any, so the CLI can say what changed.
 */
export async function setClientPolicy(
  db: Kysely<Database>,
  clientId: string,
  decision: ClientDecision,
  at: number = now(),
): Promise<ClientDecision | undefined> {
  const key = policyKey(clientId);
  const previous = await db
    .selectFrom('client_policy')
    .select('decision')
    .where('client_id', '=', key)
    .executeTakeFirst();
  await db
    .insertInto('client_policy')
    .values({ client_id: key, decision, created_at: at })
    .onConflict((oc) => oc.column('client_id').doUpdateSet({ decision, created_at: at }))
    .execute();
  return previous?.decision;
}

/** Removes the operator's decision for a client; false when there was none. */
export async function removeClientPolicy(db: Kysely<Database>, clientId: string): Promise<boolean> {
  const result = await db
    .deleteFrom('client_policy')
    .where('client_id', '=', policyKey(clientId))
    .executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

export async function listClientPolicies(db: Kysely<Database>): Promise<ClientPolicyRow[]> {
  const rows = await db
    .selectFrom('client_policy')
    .select(['client_id', 'decision', 'created_at'])
    .orderBy('decision')
    .orderBy('client_id')
    .execute();
  return rows.map((r) => ({ clientId: r.client_id, decision: r.decision, createdAt: r.created_at }));
}

/** True when at least one client is allowed, i.e. the deployment is in allow-list mode. */
export async function allowListMode(db: Kysely<Database>): Promise<boolean> {
  const row = await db
    .selectFrom('client_policy')
    .select('client_id')
    .where('decision', '=', 'allow')
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

/** The operator's explicit decision for one client, or 'default' when there is none. */
export async function clientPolicy(store: Store, clientId: string): Promise<ClientDecision | 'default'> {
  const row = await store.db
    .selectFrom('client_policy')
    .select('decision')
    .where('client_id', '=', policyKey(clientId))
    .executeTakeFirst();
  return row?.decision ?? 'default';
}
