/**
 * Provider registrations in the store: instances an operator added (`latchkey providers add`) and
 * Latchkey's own app registration per Mastodon-API host. Secrets arrive and leave sealed (the
 * callers seal with LATCHKEY_SECRET, SECURITY D7); this module holds no rules.
 */
import type { Kysely } from 'kysely';
import type { Database, MastodonAppsTable, ProviderInstancesTable } from './schema.js';

export type ProviderInstanceRow = ProviderInstancesTable;
export type MastodonAppRow = MastodonAppsTable;

export async function putProviderInstance(db: Kysely<Database>, row: ProviderInstanceRow): Promise<void> {
  await db
    .insertInto('provider_instances')
    .values(row)
    .onConflict((oc) =>
      oc.columns(['provider', 'base_url']).doUpdateSet({
        client_id: row.client_id,
        client_secret_sealed: row.client_secret_sealed,
      }),
    )
    .execute();
}

export async function listProviderInstances(
  db: Kysely<Database>,
  provider?: string,
): Promise<ProviderInstanceRow[]> {
  let query = db.selectFrom('provider_instances').selectAll().orderBy('provider').orderBy('base_url');
  if (provider) query = query.where('provider', '=', provider);
  return query.execute();
}

export async function removeProviderInstance(
  db: Kysely<Database>,
  provider: string,
  baseUrl: string,
): Promise<boolean> {
  const result = await db
    .deleteFrom('provider_instances')
    .where('provider', '=', provider)
    .where('base_url', '=', baseUrl)
    .executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

export async function findMastodonApp(
  db: Kysely<Database>,
  host: string,
): Promise<MastodonAppRow | undefined> {
  return db.selectFrom('mastodon_apps').selectAll().where('host', '=', host).executeTakeFirst();
}

/** First registration wins, also between instances racing on one host; returns the stored row. */
export async function putMastodonApp(db: Kysely<Database>, row: MastodonAppRow): Promise<MastodonAppRow> {
  await db
    .insertInto('mastodon_apps')
    .values(row)
    .onConflict((oc) => oc.column('host').doNothing())
    .execute();
  return (await findMastodonApp(db, row.host)) ?? row;
}

export async function forgetMastodonApp(db: Kysely<Database>, host: string): Promise<void> {
  await db.deleteFrom('mastodon_apps').where('host', '=', host).execute();
}
