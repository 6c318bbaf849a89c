/**
 * Client rows (PROTOCOL §6): the cache of good client_id documents and the operator's client policy
 * (`latchkey clients allow|deny|remove|list`).
 *
 * Policy is config-free on purpose: a single 'allow' row turns the deployment into allow-list mode
 * (only allowed clients may sign in), and a 'deny' row always refuses what it covers. An operator can
 * therefore go from "anyone" to "only my apps" with one command and back by removing the rows. Rows
 * hold rules (origin + path prefix, `indieauth/client-rules.ts`); deciding is `client-policy.ts`'s.
 */
import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { type ClientDecision, parseClientRule } from '../indieauth/client-rules.js';
import { now, type Store } from './db.js';
import type { Database } from './schema.js';

export type { ClientDecision };

export interface ClientPolicyRow {
  /** The rule's canonical key (`https://a.example/app/`); the column is still named client_id. */
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

/** Forgets one client's cached document, so the next sign-in fetches it again. */
export async function forgetCachedClientInfo(db: Kysely<Database>, clientId: string): Promise<boolean> {
  const result = await db.deleteFrom('client_cache').where('client_id', '=', clientId).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

// ---------------------------------------------------------------------------------------------------
// Operator policy

/**
 * The form a rule is kept in: origin + path without the query (`parseClientRule`), so
 * `https://App.example`, `https://app.example/` and `https://app.example/?v=2` name one policy row.
 * Invalid values are kept as given (they match nothing, and the CLI refuses them before they get here).
 */
export function policyKey(clientId: string): string {
  const check = parseClientRule(clientId);
  return check.ok ? check.rule.key : clientId;
}

/**
 * The settings row stamped anew by every policy change. Token verification reads it in its one
 * lookup (`store/tokens.ts`), so a cached copy of the rules is known stale on the next request, on
 * every instance (SECURITY D4).
 */
export const POLICY_VERSION_KEY = 'client_policy_version';

/** The current policy stamp; null before the first change. */
export async function readPolicyVersion(db: Kysely<Database>): Promise<string | null> {
  const row = await db
    .selectFrom('settings')
    .select('value')
    .where('key', '=', POLICY_VERSION_KEY)
    .executeTakeFirst();
  return row?.value ?? null;
}

async function bumpPolicyVersion(db: Kysely<Database>): Promise<void> {
  const value = randomBytes(12).toString('base64url');
  await db
    .insertInto('settings')
    .values({ key: POLICY_VERSION_KEY, value })
    .onConflict((oc) => oc.column('key').doUpdateSet({ value }))
    .execute();
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
  await bumpPolicyVersion(db);
  return previous?.decision;
}

/** Removes the operator's decision for a client; false when there was none. */
export async function removeClientPolicy(db: Kysely<Database>, clientId: string): Promise<boolean> {
  const result = await db
    .deleteFrom('client_policy')
    .where('client_id', '=', policyKey(clientId))
    .executeTakeFirst();
  const removed = Number(result.numDeletedRows) > 0;
  if (removed) await bumpPolicyVersion(db);
  return removed;
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

/** The decision recorded for exactly this rule (no matching), or 'default' when there is none. */
export async function clientPolicy(store: Store, clientId: string): Promise<ClientDecision | 'default'> {
  const row = await store.db
    .selectFrom('client_policy')
    .select('decision')
    .where('client_id', '=', policyKey(clientId))
    .executeTakeFirst();
  return row?.decision ?? 'default';
}
