/**
 * The one purge of rows past their end of life (SECURITY R6), for every table that has one.
 *
 * Bounded: every DELETE removes at most `batchSize` rows (or looks at most `batchSize` rows), and the
 * event loop gets a turn between two of them (better-sqlite3 is synchronous, so one 50k-row DELETE
 * would stall every request for most of a second). Safe with several instances: each DELETE carries
 * its whole condition, so two instances purging at once only find fewer rows; nothing is read and
 * then deleted on the strength of the read alone. On PostgreSQL the rows are picked `FOR UPDATE SKIP
 * LOCKED`, so two instances never wait on (or deadlock over) each other's batch.
 *
 * Order matters for R1: tokens go before grants, and a grant goes only once no token row references
 * it (the foreign keys enforce it too), so no token is ever left without its grant.
 */
import { type Kysely, PostgresAdapter, type RawBuilder, sql } from 'kysely';
import type { Database } from './schema.js';

export interface PurgeOptions {
  /** How long expired or revoked tokens and their grants stay visible (`latchkey tokens list`). */
  keepSeconds: number;
  /** Rows per DELETE; default 500. */
  batchSize?: number;
  /** Called after each DELETE with the rows it removed (tests count batches with it). */
  onBatch?: (table: PurgeTable, removed: number) => void;
  /** Checked between batches: a server shutting down stops after the batch under way. */
  signal?: AbortSignal;
}

export type PurgeTable =
  | 'signin_steps'
  | 'email_codes'
  | 'signin_attempts'
  | 'session_identities'
  | 'rate_limits'
  | 'client_cache'
  | 'redeemed_codes'
  | 'auth_codes'
  | 'access_tokens'
  | 'refresh_tokens'
  | 'grants'
  | 'account_sessions'
  | 'webauthn_challenges'
  | 'signin_log';

export interface PurgeReport {
  /** Rows removed per table. */
  removed: Record<PurgeTable, number>;
  total: number;
  /** DELETE statements run. */
  batches: number;
}

/** Our codes live a minute; they stay a day after expiry so a late replay still revokes its grant (C1). */
const CODE_KEEP_SECONDS = 86400;
/** The account page shows 90 days of sign-ins (PROTOCOL §13); older rows go. */
export const SIGNIN_LOG_KEEP_SECONDS = 90 * 86400;
const DEFAULT_BATCH = 500;

/**
 * A table purged through its `expires_at` index: each batch deletes the first `batchSize` rows
 * past `before` (`inclusive`: `<=`), found by the index, so a batch costs the same at any backlog.
 */
interface ByExpiry {
  kind: 'expiry';
  table: PurgeTable;
  key: readonly string[];
  before: number;
  inclusive?: boolean;
  /** The indexed time column; `expires_at` unless a table keeps rows for a while after `created_at`. */
  column?: 'expires_at' | 'created_at';
}

/**
 * A condition no index serves (revoked tokens, orphaned grants): the table is walked in windows of
 * `batchSize` primary keys, and each DELETE re-checks the condition within its window only.
 */
interface ByWindow {
  kind: 'window';
  table: PurgeTable;
  key: string;
  condition: RawBuilder<unknown>;
}

type Sweep = ByExpiry | ByWindow;

function sweeps(at: number, keepSeconds: number): Sweep[] {
  const cutoff = at - keepSeconds;
  const expiry = (
    table: PurgeTable,
    key: readonly string[],
    before: number,
    inclusive = false,
  ): ByExpiry => ({
    kind: 'expiry',
    table,
    key,
    before,
    inclusive,
  });
  return [
    expiry('signin_steps', ['token_hash'], at, true),
    expiry('email_codes', ['attempt_id'], at, true),
    expiry('signin_attempts', ['id'], at, true),
    expiry('session_identities', ['session_hash', 'me'], at, true),
    expiry('account_sessions', ['id_hash'], at, true),
    expiry('webauthn_challenges', ['challenge_hash'], at, true),
    { ...expiry('signin_log', ['id'], at - SIGNIN_LOG_KEEP_SECONDS), column: 'created_at' },
    expiry('rate_limits', ['key'], at, true),
    expiry('client_cache', ['client_id'], at, true),
    expiry('redeemed_codes', ['code_hash'], at),
    expiry('auth_codes', ['code_hash'], at - CODE_KEEP_SECONDS),
    expiry('access_tokens', ['id'], cutoff),
    { kind: 'window', table: 'access_tokens', key: 'id', condition: sql`revoked_at < ${cutoff}` },
    expiry('refresh_tokens', ['id'], cutoff),
    { kind: 'window', table: 'refresh_tokens', key: 'id', condition: sql`revoked_at < ${cutoff}` },
    {
      // A grant ends when no token of it is left (all purged above) and it is older than the keep.
      kind: 'window',
      table: 'grants',
      key: 'id',
      condition: sql`created_at < ${cutoff}
        AND (revoked_at IS NULL OR revoked_at < ${cutoff})
        AND NOT EXISTS (SELECT 1 FROM access_tokens t WHERE t.grant_id = grants.id)
        AND NOT EXISTS (SELECT 1 FROM refresh_tokens r WHERE r.grant_id = grants.id)`,
    },
  ];
}

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Deletes every row past its end of life, in bounded batches; returns what it removed per table. */
export async function purgeExpired(
  db: Kysely<Database>,
  at: number,
  options: PurgeOptions,
): Promise<PurgeReport> {
  const batchSize = Math.max(1, Math.floor(options.batchSize ?? DEFAULT_BATCH));
  const report: PurgeReport = { removed: emptyCounts(), total: 0, batches: 0 };
  const count = (table: PurgeTable, removed: number) => {
    report.removed[table] += removed;
    report.total += removed;
    report.batches += 1;
    options.onBatch?.(table, removed);
  };
  const stopped = () => options.signal?.aborted === true;
  // SQLite has one writer and no row locks; PostgreSQL skips rows another instance is deleting.
  const locking = db.getExecutor().adapter instanceof PostgresAdapter ? sql`FOR UPDATE SKIP LOCKED` : sql``;

  for (const sweep of sweeps(at, options.keepSeconds)) {
    const table = sql.table(sweep.table);
    if (sweep.kind === 'expiry') {
      const keys = sql.join(sweep.key.map((k) => sql.ref(k)));
      const column = sql.ref(sweep.column ?? 'expires_at');
      const past = sweep.inclusive ? sql`${column} <= ${sweep.before}` : sql`${column} < ${sweep.before}`;
      // Until a batch finds nothing: a short batch may only mean another instance took some rows.
      for (let removed = -1; removed !== 0 && !stopped(); ) {
        const result = await sql`DELETE FROM ${table} WHERE (${keys}) IN (
          SELECT ${keys} FROM ${table} WHERE ${past} LIMIT ${batchSize} ${locking})`.execute(db);
        removed = Number(result.numAffectedRows ?? 0);
        count(sweep.table, removed);
        await yieldToEventLoop();
      }
    } else {
      const key = sql.ref(sweep.key);
      let after: string | undefined;
      while (!stopped()) {
        const lower = after === undefined ? sql`1 = 1` : sql`${key} > ${after}`;
        // The window's last key; none means the window runs to the end of the table.
        const last = await sql<{ k: string }>`SELECT ${key} AS k FROM ${table} WHERE ${lower}
          ORDER BY ${key} LIMIT 1 OFFSET ${batchSize - 1}`.execute(db);
        const end = last.rows[0]?.k;
        const upper = end === undefined ? sql`1 = 1` : sql`${key} <= ${end}`;
        const result = await sql`DELETE FROM ${table} WHERE ${key} IN (
          SELECT ${key} FROM ${table} WHERE ${lower} AND ${upper} AND ${sweep.condition} ${locking})`.execute(
          db,
        );
        count(sweep.table, Number(result.numAffectedRows ?? 0));
        await yieldToEventLoop();
        if (end === undefined) break;
        after = end;
      }
    }
  }
  return report;
}

function emptyCounts(): Record<PurgeTable, number> {
  return {
    signin_steps: 0,
    email_codes: 0,
    signin_attempts: 0,
    session_identities: 0,
    rate_limits: 0,
    client_cache: 0,
    redeemed_codes: 0,
    auth_codes: 0,
    access_tokens: 0,
    refresh_tokens: 0,
    grants: 0,
    account_sessions: 0,
    webauthn_challenges: 0,
    signin_log: 0,
  };
}
