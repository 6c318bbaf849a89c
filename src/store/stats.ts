/**
 * Row counts for `latchkey status` (PROTOCOL §14): what the operator has configured and what is
 * live, so a wrong or empty database is obvious at a glance.
 */
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

export interface StoreCounts {
  /** Neither expired nor revoked at `now`. */
  activeAccessTokens: number;
  /** Not revoked. */
  activeGrants: number;
  trustedEndpoints: number;
  resourceServers: number;
  clientsAllowed: number;
  clientsDenied: number;
}

export async function countRows(db: Kysely<Database>, now: number): Promise<StoreCounts> {
  // PostgreSQL's count(*) is int8; the pool parses int8 as a number, SQLite gives one already.
  const n = (row: { n: number | string | bigint } | undefined) => Number(row?.n ?? 0);
  const tokens = await db
    .selectFrom('access_tokens')
    .select((eb) => eb.fn.countAll().as('n'))
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', now)
    .executeTakeFirst();
  const grants = await db
    .selectFrom('grants')
    .select((eb) => eb.fn.countAll().as('n'))
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  const trusted = await db
    .selectFrom('trusted_endpoints')
    .select((eb) => eb.fn.countAll().as('n'))
    .executeTakeFirst();
  const servers = await db
    .selectFrom('resource_servers')
    .select((eb) => eb.fn.countAll().as('n'))
    .executeTakeFirst();
  const policies = await db
    .selectFrom('client_policy')
    .select((eb) => ['decision', eb.fn.countAll().as('n')])
    .groupBy('decision')
    .execute();
  const decided = (decision: string) => n(policies.find((p) => p.decision === decision));
  return {
    activeAccessTokens: n(tokens),
    activeGrants: n(grants),
    trustedEndpoints: n(trusted),
    resourceServers: n(servers),
    clientsAllowed: decided('allow'),
    clientsDenied: decided('deny'),
  };
}
