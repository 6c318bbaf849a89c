/**
 * Opens the store named by DATABASE_URL: `sqlite:PATH` (default, embedded) or `postgres://…`.
 * Both are first-class: one Kysely schema, one set of migrations, one store test suite.
 */
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, type SqliteDatabase, SqliteDialect, sql } from 'kysely';
import type PgModule from 'pg';
import { ConfigError } from '../config.js';
import type { MaybePromise } from '../maybe-promise.js';
import { migrationProvider } from './migrations.js';
import { SqliteReadCache } from './read-cache.js';
import type { Database } from './schema.js';

export type Dialect = 'sqlite' | 'postgres';

export interface HotQueryOptions<Raw, Row> {
  cached?: boolean;
  /**
   * With `cached`: every table the rows depend on. This process's writes to other tables then
   * leave the cached rows be (store/read-cache.ts); without it, every write counts.
   */
  tables?: readonly string[];
  /**
   * With `cached`: `table.column`s the caller never decides from (`last_used_at` bookkeeping). An
   * update by this process that sets only these leaves the cached rows be, so in a cached row
   * they may be older than in the database (tokens/last-used.ts).
   */
  untracked?: readonly string[];
  map?: (raw: Raw) => Row;
}

export interface Store {
  db: Kysely<Database>;
  dialect: Dialect;
  /**
   * Runs `fn` in a write transaction. On SQLite this is `BEGIN IMMEDIATE`, so a read-then-write
   * never fails half-way with SQLITE_BUSY on lock upgrade (SECURITY R3); on PostgreSQL a normal
   * transaction (exactly-once writes use conditional UPDATEs, not isolation levels).
   */
  write<T>(fn: (tx: Kysely<Database>) => Promise<T>): Promise<T>;
  /**
   * Runs one hot, fixed read as a cached prepared statement, skipping the query builder: token
   * verification and introspection run on every resource-server request (DESIGN "Fast where it
   * matters"). Prepared once per `name`; `text` uses `?` placeholders, renumbered for PostgreSQL.
   * With `cached`, SQLite answers a repeated lookup from memory while nothing has been written
   * since (store/read-cache.ts, SECURITY D4); PostgreSQL always asks the database. `map` turns a
   * found row into what the caller keeps, once per read from the database rather than per lookup;
   * like `text`, it, `tables` and `untracked` are fixed per `name`. The result must be treated as
   * read-only.
   *
   * SQLite answers synchronously (a value, or a thrown error); PostgreSQL with a promise.
   */
  hotQuery<Row, Raw = Row>(
    name: string,
    text: string,
    params: readonly unknown[],
    options?: HotQueryOptions<Raw, Row>,
  ): MaybePromise<Row | undefined>;
  /** Resolves when the store answers a trivial query (used by `/health`). */
  ping(): Promise<void>;
  migrate(): Promise<string[]>;
  close(): Promise<void>;
}

/** Epoch seconds: the only time format in the store. */
export const now = (): number => Math.floor(Date.now() / 1000);

/**
 * Opens the store. A database that cannot be opened or reached (here, or at the first query in
 * `migrate`) is a ConfigError naming DATABASE_URL, without its password (SECURITY R9).
 */
export function openStore(databaseUrl: string): Store {
  const where = locateDatabase(databaseUrl);
  try {
    if (where.dialect === 'postgres') return openPostgres(databaseUrl);
    return openSqlite(where.file ?? ':memory:', databaseUrl);
  } catch (error) {
    throw storeOpenError(databaseUrl, error);
  }
}

function openSqlite(path: string, databaseUrl: string): Store {
  const memory = path === ':memory:';
  if (!memory) mkdirSync(dirname(path), { recursive: true });
  const raw = new SQLite(path);
  try {
    raw.pragma('journal_mode = WAL');
    raw.pragma('busy_timeout = 5000');
    raw.pragma('synchronous = NORMAL');
    raw.pragma('foreign_keys = ON');
  } catch (error) {
    raw.close();
    throw error;
  }
  const cache = new SqliteReadCache(raw, memory ? undefined : path);
  const db = new Kysely<Database>({
    dialect: new SqliteDialect({ database: reusingStatements(raw) }),
    plugins: [cache.plugin],
  });
  const prepare: Prepare = (name, text, map, options) => {
    const statement = raw.prepare(text);
    if (options?.cached) cache.reads(options.tables, options.untracked);
    const read = (params: readonly unknown[]) => {
      const row = statement.get(...params);
      return row === undefined ? undefined : map(row);
    };
    return (params, cached) => {
      if (!cached) return read(params);
      // The stamp and the row are read back to back, synchronously: no write can fall between.
      const key = params.length === 1 ? String(params[0]) : params.join('\u0000');
      const stamp = cache.current();
      const hit = cache.get(name, key, stamp);
      if (hit !== undefined) return hit;
      const row = read(params);
      cache.set(name, key, stamp, row);
      return row;
    };
  };
  const close = async () => {
    await db.destroy();
    cache.close();
  };
  return finish(databaseUrl, db, 'sqlite', prepare, close, async (fn) =>
    // The SQLite driver hands out its single connection exclusively, so BEGIN/COMMIT bracket `fn`.
    db.connection().execute(async (conn) => {
      await sql`BEGIN IMMEDIATE`.execute(conn);
      try {
        const result = await fn(conn);
        await sql`COMMIT`.execute(conn);
        return result;
      } catch (error) {
        await sql`ROLLBACK`.execute(conn);
        throw error;
      }
    }),
  );
}

/**
 * pg is required only when DATABASE_URL names PostgreSQL: a SQLite server never pays its ~50 ms and
 * ~15 MB at start (DESIGN "Performance targets"). `require` keeps `openStore` synchronous.
 */
const loadPg = (): typeof PgModule => createRequire(import.meta.url)('pg') as typeof PgModule;

function openPostgres(url: string): Store {
  const pg = loadPg();
  const pool = new pg.Pool({
    connectionString: url,
    max: 10,
    // int8 (epoch seconds) as JS numbers; they stay far below 2^53.
    types: {
      getTypeParser: (oid: number, format?: 'text' | 'binary') =>
        oid === 20 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text'),
    },
  });
  // An idle connection the server drops (restart, failover) must not crash the process: the pool
  // discards it and the next query opens a new one; /health reports if the server stays away.
  pool.on('error', () => {});
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  const prepare: Prepare = (name, text, map) => {
    let n = 0;
    const numbered = text.replace(/\?/g, () => `$${++n}`);
    return async (values) => {
      const row: unknown = (await pool.query({ name, text: numbered, values: [...values] })).rows[0];
      return row === undefined ? undefined : map(row);
    };
  };
  return finish(
    url,
    db,
    'postgres',
    prepare,
    () => db.destroy(),
    (fn) => db.transaction().execute(fn),
  );
}

/** Prepared statements kept per connection; a busy server runs a few dozen distinct ones. */
const STATEMENTS_KEPT = 256;

/**
 * Kysely's SQLite driver prepares every statement each time it runs it, so SQLite parses and plans
 * the same text again and again: for a small query, most of its cost. This keeps the most recently
 * used prepared statements by their SQL text (values are bound per run, never part of the text).
 * A statement still being iterated (a Kysely stream) is busy and cannot run twice at once, so a
 * fresh one is prepared then; SQLite re-prepares a kept one by itself after a schema change.
 */
export function reusingStatements(raw: SQLite.Database, kept = STATEMENTS_KEPT): SqliteDatabase {
  const statements = new Map<string, SQLite.Statement>();
  return {
    close: () => raw.close(),
    prepare(text) {
      const known = statements.get(text);
      if (known !== undefined && !known.busy) {
        // Maps keep insertion order: re-filing it makes the first key the least recently used.
        statements.delete(text);
        statements.set(text, known);
        return known;
      }
      const statement = raw.prepare(text);
      if (known === undefined) {
        statements.set(text, statement);
        if (statements.size > kept) statements.delete(statements.keys().next().value as string);
      }
      return statement;
    },
  };
}

/** Turns a named query into a runner; each dialect prepares (and may cache) its own way. */
type Prepare = (
  name: string,
  text: string,
  map: (raw: unknown) => unknown,
  options: HotQueryOptions<unknown, unknown> | undefined,
) => (params: readonly unknown[], cached: boolean) => MaybePromise<unknown>;

const asIs = (raw: unknown) => raw;

function finish(
  databaseUrl: string,
  db: Kysely<Database>,
  dialect: Dialect,
  prepare: Prepare,
  close: () => Promise<void>,
  write: Store['write'],
): Store {
  const prepared = new Map<string, ReturnType<Prepare>>();
  return {
    db,
    dialect,
    write,
    hotQuery<Row, Raw = Row>(
      name: string,
      text: string,
      params: readonly unknown[],
      options?: HotQueryOptions<Raw, Row>,
    ) {
      let run = prepared.get(name);
      if (!run) {
        const map = (options?.map as ((raw: unknown) => unknown) | undefined) ?? asIs;
        run = prepare(name, text, map, options as HotQueryOptions<unknown, unknown> | undefined);
        prepared.set(name, run);
      }
      return run(params, options?.cached === true) as MaybePromise<Row | undefined>;
    },
    async ping() {
      await sql`SELECT 1`.execute(db);
    },
    async migrate() {
      const migrator = new Migrator({ db, provider: migrationProvider });
      const { error, results } = await migrator.migrateToLatest();
      // The first query of every process: an unreachable or unwritable database shows up here.
      if (error) throw storeOpenError(databaseUrl, error instanceof Error ? error : new Error(String(error)));
      return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
    },
    close,
  };
}

/** Migrations recorded in the database, oldest first, and how many this build knows. */
export async function migrationState(db: Kysely<Database>): Promise<{ applied: string[]; known: number }> {
  const all = await new Migrator({ db, provider: migrationProvider }).getMigrations();
  return { applied: all.filter((m) => m.executedAt !== undefined).map((m) => m.name), known: all.length };
}

/** Where DATABASE_URL points, in words an operator can check; never with the password. */
export interface DatabaseLocation {
  dialect: Dialect;
  /** Absolute path of the SQLite file (relative paths resolve from the working directory); undefined in memory and for PostgreSQL. */
  file: string | undefined;
  /** `/srv/latchkey/data/latchkey.db`, `SQLite in memory`, `PostgreSQL db.example:5432/latchkey (user latchkey)`. */
  label: string;
}

export function locateDatabase(databaseUrl: string): DatabaseLocation {
  if (/^postgres(ql)?:\/\//i.test(databaseUrl)) {
    let url: URL | undefined;
    try {
      url = new URL(databaseUrl);
    } catch {
      url = undefined;
    }
    const user = url?.username ? ` (user ${decodeURIComponent(url.username)})` : '';
    const place = url ? `${url.host || 'localhost'}${url.pathname}` : redactDatabaseUrl(databaseUrl);
    return { dialect: 'postgres', file: undefined, label: `PostgreSQL ${place}${user}` };
  }
  if (databaseUrl.startsWith('sqlite:')) {
    const path = databaseUrl.slice('sqlite:'.length);
    if (path === ':memory:') return { dialect: 'sqlite', file: undefined, label: 'SQLite in memory' };
    if (path !== '') {
      const file = resolve(path);
      return { dialect: 'sqlite', file, label: file };
    }
  }
  throw new ConfigError(
    'DATABASE_URL',
    `${JSON.stringify(redactDatabaseUrl(databaseUrl))} must be sqlite:PATH or postgres://…`,
    'sqlite:./data/latchkey.db',
  );
}

/** `postgres://user:***@host/db`: the URL as it may be shown in errors and logs. */
export function redactDatabaseUrl(databaseUrl: string): string {
  return databaseUrl.replace(/(\/\/[^/?#@:]*:)[^/?#@]*@/, '$1***@');
}

const PG_EXAMPLE = 'postgres://latchkey:PASSWORD@db.example:5432/latchkey';
const SQLITE_EXAMPLE = 'sqlite:/var/lib/latchkey/latchkey.db';
/** Network failures: the server is not there (or not reachable from here). */
const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNRESET',
]);
/** Why a SQLite file could not be opened or written, by error code (Node's or SQLite's). */
const SQLITE_REASONS: Record<string, string> = {
  ENOTDIR: 'a part of its directory path is a file, not a directory',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'the file system is read-only',
  ENOSPC: 'the disk is full',
  SQLITE_CANTOPEN: 'the file cannot be opened or created; check that its directory exists and is writable',
  SQLITE_PERM: 'permission denied',
  SQLITE_READONLY: 'the file or its directory is read-only',
  SQLITE_NOTADB: 'the file is not an SQLite database',
  SQLITE_CORRUPT: 'the file is damaged',
  SQLITE_FULL: 'the disk is full',
};

function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { code, errors } = error as { code?: unknown; errors?: unknown };
  if (typeof code === 'string') return code;
  // Node reports every address it tried (IPv6 and IPv4 of `localhost`) as an AggregateError.
  return Array.isArray(errors) ? errorCode(errors[0]) : undefined;
}

function errorText(error: unknown): string {
  if (error instanceof AggregateError && !error.message)
    return error.errors.map((e: unknown) => errorText(e)).join('; ');
  return error instanceof Error ? error.message : String(error);
}

/**
 * Turns a failure to open or reach the database into a ConfigError naming DATABASE_URL (SECURITY R9);
 * other errors (a bug in a migration, say) pass through unchanged.
 */
export function storeOpenError(databaseUrl: string, error: unknown): unknown {
  if (error instanceof ConfigError) return error;
  const code = errorCode(error) ?? '';
  const where = locateDatabase(databaseUrl);
  if (where.dialect === 'postgres') {
    let password = '';
    try {
      password = decodeURIComponent(new URL(databaseUrl).password);
    } catch {}
    const detail = password ? errorText(error).split(password).join('***') : errorText(error);
    const at = `PostgreSQL at ${redactDatabaseUrl(databaseUrl)}`;
    if (UNREACHABLE.has(code))
      return new ConfigError('DATABASE_URL', `${at} is unreachable (${detail})`, PG_EXAMPLE);
    // Class 28: invalid authorization; 3D000: no such database.
    if (code.startsWith('28') || code === '3D000')
      return new ConfigError('DATABASE_URL', `${at} refused the connection (${detail})`, PG_EXAMPLE);
    return error;
  }
  const reason =
    SQLITE_REASONS[code] ?? (code.startsWith('SQLITE_READONLY') ? SQLITE_REASONS.SQLITE_READONLY : undefined);
  if (where.file && reason)
    return new ConfigError(
      'DATABASE_URL',
      `cannot open the SQLite database ${where.file}: ${reason}`,
      SQLITE_EXAMPLE,
    );
  return error;
}
